"""Run folders: config, metrics, α history, genotype and checkpoint, all written atomically.

Every file is written to a temporary file in the same folder and moved into place with
``os.replace``, so a crash mid-write leaves the previous version, never a truncated file.
Checkpoints are read with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from .errors import ToolkitError

CHECKPOINT = "checkpoint.pt"
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a part.

    Raises:
        ToolkitError: the disk (or the user's quota) is full; the message names the folder, and the
            ``folder`` attribute holds it (the command line adds the ``--resume`` command). Every file
            written before is intact, as the old version stays in place.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            full = ToolkitError(f"no space left to write '{path.name}' in '{path.parent}' ({e.strerror}); the files "
                                "written before are intact: free space, then continue the run with --resume")
            full.folder = path.parent
            raise full from None
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1) + "\n").encode())


def read_json(file: Path, default: Any = None, fix: str = "restore it from a copy, or start a new run "
              "in another folder") -> Any:
    """The JSON in ``file``, ``default`` when it does not exist.

    Every way a file can fail to parse is one ToolkitError naming ``file`` and ``fix``: invalid or
    truncated JSON, nesting deeper than Python's recursion limit, an integer longer than Python's
    int-string limit (4,300 digits), text that is not UTF-8, or a read error. ``NaN`` and ``Infinity``
    parse as floats (metrics of a diverged run hold them); the callers check their values' types.
    """
    path = Path(file)
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_bytes())
    except json.JSONDecodeError as e:
        why = f"is not valid JSON ({e}{', cut short' if e.pos >= len(e.doc) else ''})"
    except RecursionError:
        why = "nests lists or objects too deeply to read"
    except UnicodeDecodeError:
        why = "is not UTF-8 text"
    except ValueError as e:  # Python's limit on the digits of an integer
        why = f"holds a number too long to read ({str(e).split(';')[0]})"
    except OSError as e:
        why = f"cannot be read ({e.strerror or e})"
    raise ToolkitError(f"'{path}' {why}; {fix}")


def save_checkpoint(path: Path, state: dict) -> None:
    """``torch.save`` through a temporary file and an atomic rename."""
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict:
    """Load a checkpoint safely; a missing or corrupt file raises ToolkitError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ToolkitError(f"no checkpoint at '{path}'; start a new run without --resume")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ToolkitError(f"checkpoint '{path}' is corrupt or not a toolkit checkpoint ({first}); "
                           "delete it and start a new run") from None


class RunDir:
    """A run's folder.

    Args:
        path: the folder.
        resume: continue the run in the folder: from its checkpoint, or from the start when only
            config.json was written before the run stopped. Otherwise the folder must not hold a
            run yet (it may be missing, empty, or hold only config.json), so an earlier run is
            never overwritten. Temporary files left by a killed write are removed.
    """

    def __init__(self, path: str | Path, resume: bool = False):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ToolkitError(f"run folder '{self.path}' is a file; choose another --out")
        if self.path.is_dir():
            for stray in self.path.glob(".*.tmp"):
                stray.unlink(missing_ok=True)
        if resume:
            if not (self.has_checkpoint or (self.path / "config.json").is_file()):
                raise ToolkitError(f"cannot resume: '{self.path}' holds no run (no {CHECKPOINT} or config.json); "
                                   "start a new run instead")
        elif self.holds_run():
            raise ToolkitError(f"run folder '{self.path}' already exists; choose another --out or add --resume")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ToolkitError(f"cannot create run folder '{self.path}' ({e.strerror or e}); "
                               "choose another --out") from None
        if not os.access(self.path, os.W_OK | os.X_OK):
            fix = (f"give this user write permission (chmod u+w '{self.path}', or ask its owner), then resume again"
                   if resume else "choose another --out")
            raise ToolkitError(f"run folder '{self.path}' is not writable; {fix}")

    @property
    def has_checkpoint(self) -> bool:
        return (self.path / CHECKPOINT).is_file()

    def holds_run(self) -> bool:
        """True when the folder holds run files beyond a config.json written before any epoch."""
        return self.path.is_dir() and any(p.name != "config.json" for p in self.path.iterdir())

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write_json(self.path / name, obj)

    def read_json(self, name: str, default: Any = None) -> Any:
        return read_json(self.path / name, default)

    def save_checkpoint(self, state: dict) -> None:
        save_checkpoint(self.path / CHECKPOINT, state)

    def load_checkpoint(self) -> dict:
        return load_checkpoint(self.path / CHECKPOINT)
