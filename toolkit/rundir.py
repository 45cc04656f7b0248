"""Run folders: config, metrics, α history, genotype and checkpoint, all written atomically.

Every file is written to a temporary file in the same folder and moved into place with
``os.replace``, so a crash mid-write leaves the previous version, never a truncated file.
Checkpoints are read with ``torch.load(..., weights_only=True)``. One run writes a folder at a time:
:class:`RunDir` takes the folder's :class:`RunLock` (a ``.lock`` file created atomically) before it
looks at or writes anything, and the run releases it when it ends.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import shlex
import socket
import tempfile
import weakref
import zipfile
from datetime import datetime, timezone
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


LOCK = ".lock"


def _holder_line(path: Path) -> str:
    """Who holds the lock file at ``path``, and what to do, for the error of a second run."""
    try:
        holder = json.loads(path.read_text())
        pid, host, started = int(holder["pid"]), str(holder["host"]), str(holder["started"])
    except (OSError, ValueError, KeyError, TypeError):  # being written this instant, or damaged
        return (f"'{path}' is held by a run whose holder cannot be read (just starting, or a damaged lock); "
                f"wait for it, or if no run uses the folder remove the lock with: rm {shlex.quote(str(path))}")
    who = f"pid {pid} on {host}, started {started}"
    clear = f"rm {shlex.quote(str(path))}"
    if host != socket.gethostname():
        return (f"'{path.parent}' is in use by another run ({who}); that host's processes cannot be checked "
                f"from here: wait for it to end, or if it is no longer running remove the lock with: {clear}")
    if not _alive(pid):
        return (f"'{path.parent}' has a stale lock: its run ({who}) is no longer running (killed, or the "
                f"machine restarted); check that nothing uses the folder and remove the lock with: {clear}")
    return (f"'{path.parent}' is in use by another run ({who}); wait for it to end or stop it (Ctrl-C), or "
            f"choose another --out")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True  # cannot tell: treat as running, so a lock is never reported stale wrongly
    return True


class RunLock:
    """One writer per run folder: a ``.lock`` file created atomically, holding pid, host and start time.

    The file is created with ``os.open(O_CREAT | O_EXCL)``, which fails when the file exists. That is
    atomic on local file systems and on NFS version 3 and later (the server checks existence and creates
    in one operation), so of two processes taking the lock at once, on one host or on several hosts
    sharing the folder, exactly one succeeds. The lock is released (the file removed) when the run ends
    however it ends; a process killed outright (SIGKILL, power loss) leaves it behind, and the next run
    on the folder names it as stale (a dead pid on this host) with the command that removes it. A lock
    left by another host is named with that host, since its processes cannot be checked from here.
    Nothing removes a lock silently.
    """

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK
        self.held = False

    def acquire(self) -> None:
        """Take the lock or raise ToolkitError naming the holder (see :func:`_holder_line`)."""
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666 & ~_UMASK)
        except FileExistsError:
            raise ToolkitError(_holder_line(self.path)) from None
        except OSError as e:
            raise ToolkitError(f"cannot lock run folder '{self.path.parent}' ({e.strerror or e}); "
                               "choose a folder you can write") from None
        try:
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise
        self.held, self.record = True, record
        # a safety net only: the run loop and the drivers release it explicitly on every exit path
        self._finalizer = weakref.finalize(self, _remove_lock, self.path, record)

    def release(self) -> None:
        """Remove the lock if this object holds it (idempotent)."""
        if self.held:
            self.held = False
            self._finalizer.detach()
            _remove_lock(self.path, self.record)


def _remove_lock(path: Path, record: dict) -> None:
    """Remove the lock at ``path`` if it still holds ``record``, and only from the process that wrote it
    (a forked child never removes its parent's lock, nor a run its successor's after a manual ``rm``)."""
    if os.getpid() != record["pid"]:
        return
    try:
        if json.loads(path.read_text()) == record:
            path.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


class RunDir:
    """A run's folder, locked for this run (see :class:`RunLock`) until :meth:`release`.

    Args:
        path: the folder.
        resume: continue the run in the folder: from its checkpoint, or from the start when only
            config.json was written before the run stopped. Otherwise the folder must not hold a
            run yet (it may be missing, empty, or hold only config.json), so an earlier run is
            never overwritten. Temporary files left by a killed write are removed.
        lock: take the folder's lock (a second run on it then fails with a line naming this one).
            A stage's sub-folder inside a locked run folder passes False: the top folder's lock covers it.

    The checks above run under the lock, so of two runs started at once on one folder one runs and
    the other is refused; the loser never sees, removes or overwrites the winner's files. Use it as a
    context manager, or call :meth:`release` on every exit path.
    """

    def __init__(self, path: str | Path, resume: bool = False, lock: bool = True):
        self.path = Path(path)
        self.lock = RunLock(self.path) if lock else None
        if self.path.exists() and not self.path.is_dir():
            raise ToolkitError(f"run folder '{self.path}' is a file; choose another --out")
        created = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ToolkitError(f"cannot create run folder '{self.path}' ({e.strerror or e}); "
                               "choose another --out") from None
        if not os.access(self.path, os.W_OK | os.X_OK):
            fix = (f"give this user write permission (chmod u+w '{self.path}', or ask its owner), then resume again"
                   if resume else "choose another --out")
            raise ToolkitError(f"run folder '{self.path}' is not writable; {fix}")
        if self.lock is not None:
            self.lock.acquire()
        try:
            self._check(resume)
        except BaseException:
            self.release()
            if created:
                with contextlib.suppress(OSError):
                    self.path.rmdir()  # the folder this refused run created, still empty
            raise

    def _check(self, resume: bool) -> None:
        """Remove a killed write's temporary files; refuse a resume without a run, or a new run over one."""
        for stray in self.path.glob(".*.tmp"):
            stray.unlink(missing_ok=True)
        if resume:
            if not (self.has_checkpoint or (self.path / "config.json").is_file()):
                raise ToolkitError(f"cannot resume: '{self.path}' holds no run (no {CHECKPOINT} or config.json); "
                                   "start a new run instead")
        elif self.holds_run():
            raise ToolkitError(f"run folder '{self.path}' already exists; choose another --out or add --resume")

    def release(self) -> None:
        """Release the folder's lock (idempotent); the run's files stay."""
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    @property
    def has_checkpoint(self) -> bool:
        return (self.path / CHECKPOINT).is_file()

    def holds_run(self) -> bool:
        """True when the folder holds run files beyond a config.json written before any epoch."""
        return self.path.is_dir() and any(p.name not in ("config.json", LOCK) for p in self.path.iterdir())

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write_json(self.path / name, obj)

    def read_json(self, name: str, default: Any = None) -> Any:
        return read_json(self.path / name, default)

    def save_checkpoint(self, state: dict) -> None:
        save_checkpoint(self.path / CHECKPOINT, state)

    def load_checkpoint(self) -> dict:
        return load_checkpoint(self.path / CHECKPOINT)
