"""Run folders: config, metrics, α history, genotype and checkpoint, all written atomically.

Every file is written to a temporary file in the same folder and moved into place with
``os.replace``, so a crash mid-write leaves the previous version, never a truncated file.
Checkpoints are read with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

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
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a part."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1) + "\n").encode())


def read_json(file: Path, default: Any = None) -> Any:
    """The JSON in ``file``, ``default`` when it does not exist; invalid JSON is a ToolkitError."""
    if not Path(file).is_file():
        return default
    try:
        return json.loads(Path(file).read_text())
    except json.JSONDecodeError as e:
        raise ToolkitError(f"'{file}' is not valid JSON ({e})") from None


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
        resume: the folder must exist with a checkpoint; otherwise it must not exist or be empty,
            so an earlier run is never overwritten.
    """

    def __init__(self, path: str | Path, resume: bool = False):
        self.path = Path(path)
        if resume:
            if not (self.path / CHECKPOINT).is_file():
                raise ToolkitError(f"cannot resume: '{self.path}' has no {CHECKPOINT}; start a new run instead")
        elif self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise ToolkitError(f"run folder '{self.path}' already exists; choose another --out or add --resume")
        self.path.mkdir(parents=True, exist_ok=True)

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write_json(self.path / name, obj)

    def read_json(self, name: str, default: Any = None) -> Any:
        return read_json(self.path / name, default)

    def save_checkpoint(self, state: dict) -> None:
        save_checkpoint(self.path / CHECKPOINT, state)

    def load_checkpoint(self) -> dict:
        return load_checkpoint(self.path / CHECKPOINT)
