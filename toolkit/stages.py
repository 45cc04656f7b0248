"""The one outer driver of every multi-stage method: run folder, resume rule, units, stop, events, report.

:func:`toolkit.engine.run_epochs` runs the epochs of one network; a multi-stage method strings
several such runs, or other units of work, together: DARTS-GAL's baseline, mask training and
retraining, ME-DARTS' three stages of searches, TS-ENAS's SuperNet training and generations. Such a
method is a :class:`Stages` object: its settings, its units and their state, and what one unit does
(:meth:`Stages.run_unit`). :func:`run_stages` does the rest, the same way for every method:

- the run folder, locked while the run lasts however it ends (:class:`toolkit.rundir.RunDir`);
- the run's description: ``config.json`` (the kind and the config) and any further settings file
  (TS-ENAS's ``space.json``), written by a new run. On resume one rule holds for every method: a
  setting given must equal the saved one, else one ToolkitError line names the differing field(s)
  (:func:`check_resume`); a setting given as None is read from its file;
- events: ``run_start`` (name, kind, config, and the method's data such as ``total_steps``), a
  ``generation`` event after each finished unit that has one, and ``run_end``;
- a stop check before each unit; inside a unit, its engine runs stop and checkpoint themselves in
  their sub-folders (:meth:`StageRun.session`), which a resumed unit continues from;
- after each finished unit the method's records of it (:meth:`Stages.save_unit`); a resumed run
  reloads them (:meth:`Stages.restore`) and continues at the first unfinished unit;
- the final report: ``run.json`` (kind, status and the method's record) and ``run_end``.

Example (three units that each add one number; a run folder would make it resumable):
    >>> class Count(Stages):
    ...     kind, name, units = "count", "count to 3", ("a", "b", "c")
    ...     def __init__(self):
    ...         self.config, self.total = RunConfig(device="cpu"), []
    ...     def run_unit(self, index, run):
    ...         self.total.append(index + 1)
    ...         return "finished"
    >>> method = Count()
    >>> run_stages(method), method.total
    ('finished', [1, 2, 3])
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import RunConfig
from .engine import Session, event_bus
from .errors import ToolkitError
from .events import EventBus, Listener, StopSignal
from .rundir import CHECKPOINT, RunDir

UNSET = object()  # a field one side of a comparison lacks


@dataclass
class StageRun:
    """What a unit runs in: the root run's bus and stop signal, the locked run folder (None: in memory)
    and whether the run is being resumed."""

    bus: EventBus
    stop: StopSignal
    run: RunDir | None
    resume: bool

    def folder(self, name: str) -> Path | None:
        """The sub-folder ``name`` of the run folder (None without one)."""
        return self.run.path / name if self.run is not None else None

    def session(self, name: str, config: RunConfig, bus: EventBus | None = None) -> Session:
        """A session for an engine run in the sub-folder ``name`` (default bus: a child run ``name``).

        The top folder's lock covers it; it is resumed when the run is and the sub-folder holds a run
        (a finished one is then read back without computing an epoch, a stopped one continues from its
        checkpoint exactly)."""
        folder = self.folder(name)
        again = self.resume and folder is not None and ((folder / "config.json").is_file() or
                                                        (folder / CHECKPOINT).is_file())
        return Session(config, stop=self.stop, run_dir=folder, resume=again,
                       bus=bus if bus is not None else self.bus.child(name), lock=False)


class Stages:
    """What a multi-stage method gives :func:`run_stages`; subclasses set the attributes and override hooks.

    Attributes:
        kind: the run's kind (``run_start``, ``config.json``, ``run.json``).
        name: the run's name in ``run_start``.
        config: the method's configuration (a dataclass with ``to_dict``); None when resuming means the
            saved one.
        described: attributes saved as ``<name>.json`` by a new run and checked on resume by the one
            rule of :func:`check_resume` (``config`` first; its file also holds the kind).
        units: the units' names, in order (stages, generations).
    """

    kind: str = "stages"
    name: str = "stages"
    config: Any = None
    described: tuple[str, ...] = ("config",)
    units: tuple[str, ...] = ()

    def parse(self, name: str, saved: dict) -> Any:
        """The value of the described attribute ``name`` read from its file (``kind`` left out)."""
        raise ToolkitError(f"a {self.kind} run cannot read its saved {name}; pass the {name} to resume with")

    def prepare(self, context: StageRun) -> None:
        """Build the method's state once its settings are known (data, networks, ...)."""

    def restore(self, run: RunDir) -> int:
        """Reload the records of a resumed run's finished units; return how many units are done."""
        return 0

    def run_start(self, done: int) -> dict:
        """``run_start`` data besides name, kind and config, with ``done`` units done: ``total_steps``, the
        steps (``step`` events) the run will emit (default: one per unit left), and e.g. ``epochs``."""
        return {"total_steps": len(self.units) - done}

    def run_unit(self, index: int, context: StageRun) -> str:
        """Run unit ``index``; return its status: 'finished' (the driver goes on) or another status
        (e.g. 'stopped', 'collapsed'), which ends the run with that status."""
        raise NotImplementedError

    def save_unit(self, index: int, run: RunDir) -> None:
        """Write the records of the finished unit ``index`` (what :meth:`restore` reads back)."""

    def generation(self, index: int) -> dict | None:
        """The ``generation`` event's data after the finished unit ``index`` (None: no event)."""
        return None

    def finish(self, status: str, done: int, run: RunDir | None) -> tuple[dict, dict]:
        """Write the method's final files; return the ``run.json`` record (without kind and status) and
        the ``run_end`` data (without status)."""
        return {"units_done": done}, {"epochs_done": done}


def run_stages(method: Stages, *, listeners: tuple[Listener, ...] = (), stop: StopSignal | None = None,
               run_dir: str | Path | None = None, resume: bool = False, progress: bool = False) -> str:
    """Run ``method``'s units (resuming the run in ``run_dir`` if asked); returns the run's status.

    The run folder's lock is released when this returns or raises."""
    run = RunDir(run_dir, resume=resume) if run_dir is not None else None
    with run if run is not None else contextlib.nullcontext():
        settle(method, run, resume)
        context = StageRun(event_bus(listeners, progress), stop or StopSignal(), run, resume)
        method.prepare(context)
        done = method.restore(run) if run is not None and resume else 0
        context.bus.emit("run_start", name=method.name, kind=method.kind, config=method.config.to_dict(),
                         **method.run_start(done))
        status, done = _run_units(method, context, done)
        record, end = method.finish(status, done, run)
        if run is not None:
            run.write_json("run.json", {"kind": method.kind, "status": status, **record})
        context.bus.emit("run_end", status=status, **end)
        return status


def _run_units(method: Stages, context: StageRun, done: int) -> tuple[str, int]:
    """The units from ``done`` on, a stop checked before each; (status, units done)."""
    for index in range(done, len(method.units)):
        if context.stop.requested:
            return "stopped", index
        status = method.run_unit(index, context)
        if status != "finished":
            return status, index
        if context.run is not None:
            method.save_unit(index, context.run)
        event = method.generation(index)
        if event is not None:
            context.bus.emit("generation", **event)
    return "finished", len(method.units)


def description(method: Stages, name: str) -> dict:
    """The JSON record of the described attribute ``name`` (the config's with the kind first)."""
    value = getattr(method, name).to_dict()
    return json.loads(json.dumps({"kind": method.kind, **value} if name == "config" else value))


def settle(method: Stages, run: RunDir | None, resume: bool) -> None:
    """A new run writes its description; a resumed one checks it (:func:`check_resume`) or reads the
    settings given as None from it."""
    for name in method.described:
        file = f"{name}.json"
        saved = run.read_json(file) if run is not None and resume else None
        if saved is None:
            if getattr(method, name) is None:
                where = f"'{run.path}' holds no {file}" if run is not None else "no run folder is resumed"
                raise ToolkitError(f"a {method.kind} run needs its {name}: {where}; pass the {name}")
            if run is not None:
                run.write_json(file, description(method, name))
            continue
        if not isinstance(saved, dict):
            raise ToolkitError(f"cannot resume: '{run.path / file}' is not a settings record; start a new run in "
                               "another --out")
        if name == "config" and saved.get("kind") != method.kind:
            raise ToolkitError(f"cannot resume: '{run.path}' holds a {saved.get('kind')} run, not a {method.kind} "
                               "run; start a new run in another --out")
        if getattr(method, name) is None:
            setattr(method, name, method.parse(name, {k: v for k, v in saved.items() if k != "kind"}))
        else:
            check_resume(run.path, saved, description(method, name), "" if name == "config" else f"{name}.")


def check_resume(folder: Path, saved: Any, given: Any, prefix: str = "") -> None:
    """The one resume rule of every multi-stage method: the saved settings must equal the given ones.

    Raises:
        ToolkitError: one line naming each differing field with both values, e.g. "the run in 'R' was
            started with epochs=3, this call says epochs=5; resume with the same settings or start a new
            --out".
    """
    diff = differences(saved, given, prefix.rstrip("."))
    if not diff:
        return
    shown, more = diff[:4], f" (and {len(diff) - 4} more)" if len(diff) > 4 else ""

    def text(value):
        return "unset" if value is UNSET else json.dumps(value)

    was = ", ".join(f"{key}={text(a)}" for key, a, _ in shown)
    now = ", ".join(f"{key}={text(b)}" for key, _, b in shown)
    raise ToolkitError(f"the run in '{folder}' was started with {was}, this call says {now}{more}; resume with "
                       "the same settings or start a new --out")


def differences(saved: Any, given: Any, name: str = "") -> list[tuple[str, Any, Any]]:
    """(field, saved value, given value) for every leaf that differs; nested fields as ``a.b`` and ``a[1]``."""
    if isinstance(saved, dict) and isinstance(given, dict):
        keys = [*given, *(k for k in saved if k not in given)]
        return [d for k in keys for d in differences(saved.get(k, UNSET), given.get(k, UNSET),
                                                     f"{name}.{k}" if name else str(k))]
    if isinstance(saved, list) and isinstance(given, list) and len(saved) == len(given):
        return [d for i, (a, b) in enumerate(zip(saved, given)) for d in differences(a, b, f"{name}[{i}]")]
    return [] if saved == given else [(name, saved, given)]
