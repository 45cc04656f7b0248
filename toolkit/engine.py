"""The one run loop of every method: stop, checkpoint, resume, divergence, progress and run events.

A method (search, training, GAL mask training) is an :class:`Epochs` object: it holds its state
(modules, optimisers, schedules, shuffled loaders) and says what happens in a step and at the end
of an epoch. :func:`run_epochs` does the rest, the same way for every method:

- events ``run_start``, ``epoch_start``, ``step`` (one per batch), ``epoch_end`` (the epoch's record),
  ``run_end``; ``run_start.total_steps`` counts the steps this call will compute;
- a stop check before every step: a stop writes a checkpoint holding the exact position inside the
  epoch (steps done, the loaders' generator states at the epoch's start, the random state, the
  method's partial sums), and ``run.json`` with status 'stopped';
- resume: the checkpoint is checked against the run (keys, position, tensor shapes) before anything is
  restored; the stopped epoch's batch order is rebuilt and its done batches are skipped without being
  computed, so a resumed run writes the records an uninterrupted one writes;
- after each epoch, with a run folder: ``metrics.json``, the method's own records and a checkpoint;
- divergence: a step or epoch end raising :class:`Diverged` marks the run diverged (``run.json``), keeps
  the last good checkpoint and raises one ToolkitError line naming the learning rate.

Example (a method that fits y = 2x; an Epochs is its state, a step and an epoch end):
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> from toolkit.config import RunConfig
    >>> from toolkit.steps import make_loader
    >>> class Fit(Epochs):
    ...     kind, name, epochs, steps = "fit", "fit y = 2x", 30, 2
    ...     def __init__(self):
    ...         self.model = torch.nn.Linear(1, 1, bias=False)
    ...         self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1)
    ...         self.loaders = (make_loader(TensorDataset(torch.ones(4, 1), 2 * torch.ones(4, 1)), 2, True),)
    ...     def state_dict(self):
    ...         return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict()}
    ...     def load_state_dict(self, state):
    ...         self.model.load_state_dict(state["model"]); self.opt.load_state_dict(state["optimizer"])
    ...     def begin_epoch(self, epoch, partial):
    ...         self.partial = dict(partial or {"loss": 0.0})
    ...         return {"lr": 0.1}
    ...     def batches(self):
    ...         return self.loaders[0]
    ...     def step(self, batch, epoch, step):
    ...         self.opt.zero_grad()
    ...         loss = (self.model(batch[0]) - batch[1]).pow(2).mean()
    ...         loss.backward(); self.opt.step()
    ...         self.partial["loss"] += loss.item()
    ...         return {"loss": loss.item()}
    ...     def end_epoch(self, epoch):
    ...         return {"epoch": epoch + 1, "train_loss": self.partial["loss"] / self.steps}, {}
    >>> status, history = run_epochs(Fit(), Session(RunConfig(device="cpu")))
    >>> status, len(history), history[-1]["train_loss"] < 1e-6
    ('finished', 30, True)

This loop follows the callback-driven training loop of fastai (Howard & Gugger, "fastai: A Layered
API for Deep Learning", arXiv:2002.04688): the loop owns the bookkeeping, a method only the maths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import RunConfig
from .errors import ToolkitError
from .events import EventBus, ProgressBar, StopSignal
from .rundir import CHECKPOINT, RunDir, load_checkpoint
from .runtime import pick_device, rng_state, set_rng_state


class Diverged(Exception):
    """Raised by a method's step or epoch end when its loss is not finite."""

    def __init__(self, loss: float):
        super().__init__(loss)
        self.loss = loss


def event_bus(listeners=(), progress: bool = False) -> EventBus:
    """A root run's bus: the given listeners, and a console bar when ``progress`` is true."""
    return EventBus([*listeners, *([ProgressBar()] if progress else [])])


@dataclass
class Session:
    """What one run needs besides its method: event bus, stop signal, device and run folder.

    Args:
        config: the run's configuration.
        listeners: event callbacks (a tqdm bar is added when ``progress`` is true).
        stop: a StopSignal another thread may set.
        run_dir: folder for the run record (None keeps everything in memory).
        resume: continue the run found in ``run_dir``.
        progress: show a tqdm bar.
        bus: publish on this bus (e.g. a parent run's child bus) instead of a new one from ``listeners``.
        lock: lock ``run_dir`` for this run (:class:`toolkit.rundir.RunLock`); a stage's sub-folder of
            a run folder its driver has locked passes False.

    The run folder's lock is taken when the session is made and released by :meth:`close`, which
    :func:`run_epochs` calls however the run ends (a session is also a context manager).
    """

    config: RunConfig
    listeners: tuple = ()
    stop: StopSignal | None = None
    run_dir: str | Path | None = None
    resume: bool = False
    progress: bool = False
    bus: EventBus | None = None
    lock: bool = True

    def __post_init__(self):
        if self.bus is None:
            self.bus = event_bus(self.listeners, self.progress)
        self.stop = self.stop or StopSignal()
        self.device = pick_device(self.config.device)
        if self.config.amp != "off" and self.device.type != "cuda":
            raise ToolkitError(f"mixed precision (amp {self.config.amp}) needs a CUDA GPU and this run is on "
                               f"{self.device.type}; use --amp off")
        self.run = RunDir(self.run_dir, resume=self.resume, lock=self.lock) if self.run_dir is not None else None

    def close(self) -> None:
        """Release the run folder's lock (idempotent); its files stay."""
        if self.run is not None:
            self.run.release()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def checkpoint_to_resume(self) -> dict | None:
        """The run folder's checkpoint when resuming; None for a new run or one that stopped before its
        first checkpoint (it then starts from the beginning)."""
        if not (self.resume and self.run and self.run.has_checkpoint):
            return None
        return self.run.load_checkpoint()

    def diverged(self, kind: str, epoch: int, step: int, loss: float, epochs_done: int) -> ToolkitError:
        """Mark the run diverged (the last checkpoint, from before the blow-up, is kept) and build the error."""
        message = (f"diverged at epoch {epoch} step {step} (loss {loss}); lower the learning rate"
                   f" (lr {self.config.lr:g}) and start a new run")
        if self.run:
            self.run.write_json("run.json", {"kind": kind, "status": "diverged", "epochs_done": epochs_done,
                                             "diverged_at": {"epoch": epoch, "step": step}})
        self.bus.emit("run_end", status="diverged", epochs_done=epochs_done, message=message)
        return ToolkitError(message)


class Epochs:
    """What a method gives :func:`run_epochs`; subclasses set the attributes and override the hooks.

    Attributes:
        kind: the run's kind (``run_start``, ``config.json``, ``run.json``).
        name: the run's name in ``run_start`` (progress bars show it).
        checkpoint_keys: keys a checkpoint of this method must hold (checked before resuming).
        model: the network the checkpoint's ``model`` weights must fit.
        loaders: the shuffled loaders; their generators' states at an epoch's start are checkpointed.
        epochs, steps: epochs of the run and steps per epoch.
        partial: the running sums of the current epoch (plain values), checkpointed at a stop.
        halt: set by ``end_epoch`` to end the run early with that status (e.g. 'collapsed').
    """

    kind: str = "run"
    name: str = "run"
    checkpoint_keys: tuple[str, ...] = ("epoch", "model", "rng", "loader_rng")
    model: torch.nn.Module
    loaders: tuple = ()
    epochs: int = 1
    steps: int = 1
    partial: dict | None = None
    halt: str = ""

    def state_dict(self) -> dict:
        """The method's state for a checkpoint: ``model`` and its optimisers', schedules' states."""
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError

    def start(self, run: RunDir) -> None:
        """Write a new run's description (``config.json`` ...)."""

    def resumed(self, run: RunDir, epochs_done: int) -> None:
        """Reload the method's own records of the ``epochs_done`` finished epochs."""

    def run_start(self) -> dict:
        """Extra ``run_start`` data."""
        return {}

    def begin_epoch(self, epoch: int, partial: dict | None) -> dict:
        """Prepare epoch ``epoch`` (0-based), set ``self.partial`` (from ``partial`` when resuming inside
        it) and return the ``epoch_start`` data (e.g. the learning rate)."""
        raise NotImplementedError

    def batches(self) -> Iterable:
        """The epoch's batches (iterating it draws the loaders' shuffles)."""
        raise NotImplementedError

    def step(self, batch, epoch: int, step: int) -> dict:
        """Compute one step and return the ``step`` event's data (``loss``, ``acc``, ...)."""
        raise NotImplementedError

    def after_step(self, bus: EventBus, epoch: int, step: int) -> None:
        """Emit any further per-step events (after ``step``)."""

    def end_epoch(self, epoch: int) -> tuple[dict, dict]:
        """The epoch's record (kept in ``metrics.json``) and further ``epoch_end`` data."""
        raise NotImplementedError

    def save_records(self, run: RunDir) -> None:
        """Write the method's own records after an epoch (``metrics.json`` is written already)."""

    def finish(self, status: str, history: list[dict], run: RunDir | None) -> tuple[dict, dict]:
        """Write the method's final files; return the ``run.json`` record (without kind and status) and
        the ``run_end`` data (without status)."""
        return {"epochs_done": len(history)}, {"epochs_done": len(history)}


def loader_states(loaders) -> list[torch.Tensor]:
    return [loader.generator.get_state() for loader in loaders]


def steps_left(folder: Path | None, epochs: int, steps: int) -> int:
    """The steps a run of ``epochs`` x ``steps`` still has to compute, resuming from ``folder`` (None or a
    folder without a checkpoint: all of them)."""
    if folder is None or not (folder / CHECKPOINT).is_file():
        return epochs * steps
    state = load_checkpoint(folder / CHECKPOINT)
    epoch, step = (state.get("epoch"), state.get("step", 0)) if isinstance(state, dict) else (None, None)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (epoch, step)):
        return epochs * steps  # the run's own check then names what is wrong with the checkpoint
    return max((epochs - epoch) * steps - step, 0)


def set_loader_states(loaders, saved) -> None:
    """Restore :func:`loader_states` (one loader's state alone, as single-loader runs once saved it)."""
    saved = saved if isinstance(saved, list) else [saved]
    if len(saved) != len(loaders):
        raise ValueError(f"{len(saved)} loader states for {len(loaders)} loaders")
    for loader, state in zip(loaders, saved):
        loader.generator.set_state(state)


def run_epochs(method: Epochs, session: Session) -> tuple[str, list[dict]]:
    """Run ``method``'s epochs in ``session`` (resuming its run folder if asked); returns (status, history).

    The session's run folder lock is released when this returns or raises (finished, stopped,
    diverged, an error, KeyboardInterrupt)."""
    with session:
        return _run_epochs(method, session)


def _run_epochs(method: Epochs, session: Session) -> tuple[str, list[dict]]:
    run, bus = session.run, session.bus
    where = run.path / CHECKPOINT if run else None
    state, history = _open(method, session, where)
    start, done = (state["epoch"], state.get("step", 0)) if state else (0, 0)
    pending_rng = state["rng"] if state else None  # restored just before the first step computed

    def checkpoint(epoch: int, step: int, loaders_rng: list, partial: dict | None) -> None:
        if run:
            run.save_checkpoint({"epoch": epoch, "step": step, **method.state_dict(), "rng": rng_state(),
                                 "loader_rng": loaders_rng, "partial": partial})

    bus.emit("run_start", name=method.name, kind=method.kind, config=session.config.to_dict(),
             epochs=method.epochs, start_epoch=start, steps_per_epoch=method.steps,
             total_steps=(method.epochs - start) * method.steps - done, **method.run_start())
    status = "finished"
    for epoch in range(start, method.epochs):
        resuming = state is not None and epoch == start
        if resuming:  # rebuild this epoch's batch order
            restore(where, lambda: set_loader_states(method.loaders, state["loader_rng"]))
        loaders_rng = loader_states(method.loaders)
        bus.emit("epoch_start", epoch=epoch + 1, **method.begin_epoch(epoch, state.get("partial")
                                                                    if resuming and done else None))
        for step, batch in enumerate(method.batches()):
            if resuming and step < done:
                continue  # done before the stop: the batch order is rebuilt, nothing is computed
            if pending_rng is not None:
                restore(where, lambda rng=pending_rng: set_rng_state(rng))
                pending_rng = None
            if session.stop.requested:
                status = "stopped"
                checkpoint(epoch, step, loaders_rng, method.partial)
                break
            try:
                data = method.step(batch, epoch, step)
            except Diverged as e:
                raise session.diverged(method.kind, epoch + 1, step + 1, e.loss, len(history)) from None
            bus.emit("step", epoch=epoch + 1, step=step + 1, steps=method.steps, **data)
            method.after_step(bus, epoch, step)
        if status == "stopped":
            break
        try:
            record, extra = method.end_epoch(epoch)
        except Diverged as e:
            raise session.diverged(method.kind, epoch + 1, method.steps, e.loss, len(history)) from None
        history.append(record)
        if run:
            run.write_json("metrics.json", history)
            method.save_records(run)
            checkpoint(epoch + 1, 0, loader_states(method.loaders), None)
        bus.emit("epoch_end", **record, **extra)
        if method.halt:
            status = method.halt
            break
    _close(method, session, status, history)
    return status, history


def _open(method: Epochs, session: Session, where: Path | None) -> tuple[dict | None, list[dict]]:
    """A resumed run's checkpoint, checked and restored, and its epochs' records; a new run's description."""
    run = session.run
    state = session.checkpoint_to_resume()
    if state is None:
        if run:
            method.start(run)
        return None, []
    validate_checkpoint(state, where, method.checkpoint_keys, method.epochs, method.steps, method.model)
    restore(where, lambda: method.load_state_dict(state))
    method.resumed(run, state["epoch"])
    return state, run.read_json("metrics.json", [])[:state["epoch"]]


def _close(method: Epochs, session: Session, status: str, history: list[dict]) -> None:
    """The method's final files, ``run.json`` and ``run_end``."""
    record, data = method.finish(status, history, session.run)
    if session.run:
        session.run.write_json("run.json", {"kind": method.kind, "status": status, **record})
    session.bus.emit("run_end", status=status, **data)


def validate_checkpoint(state, where: Path, keys: tuple[str, ...], epochs: int, steps: int,
                        model: torch.nn.Module) -> None:
    """Check a checkpoint's keys, position (epoch 0..epochs, step 0..steps-1) and tensor shapes against
    ``model`` before anything is restored or written."""
    fix = "resume with the config.json it was written with, or delete it and start a new run"
    if not isinstance(state, dict):
        raise ToolkitError(f"checkpoint '{where}' is not a toolkit checkpoint; {fix}")
    missing = [k for k in keys if k not in state]
    if missing:
        raise ToolkitError(f"checkpoint '{where}' lacks {', '.join(missing)}; {fix}")
    epoch, step = state["epoch"], state.get("step", 0)
    for name, value, high in (("epoch", epoch, epochs), ("step", step, max(steps - 1, 0))):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise ToolkitError(f"checkpoint '{where}' is at {name} {value!r}, outside 0..{high} of this run; {fix}")
    saved, own = state["model"], model.state_dict()
    if not isinstance(saved, dict):
        raise ToolkitError(f"checkpoint '{where}' has no model weights; {fix}")
    wrong = sorted(set(saved) ^ set(own)) + [k for k in own if k in saved and (
        not isinstance(saved[k], torch.Tensor) or saved[k].shape != own[k].shape)]
    if wrong:
        first = wrong[0]
        detail = (f"{first}: {tuple(saved[first].shape)} saved, {tuple(own[first].shape)} here"
                  if first in saved and first in own and isinstance(saved[first], torch.Tensor) else first)
        raise ToolkitError(f"checkpoint '{where}' does not fit this network ({len(wrong)} tensor(s) differ, "
                           f"e.g. {detail}); {fix}")


def restore(where: Path, load) -> None:
    """Run ``load()`` (load_state_dict calls); a mismatch becomes one ToolkitError line."""
    try:
        load()
    except (KeyError, ValueError, RuntimeError, TypeError, IndexError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ToolkitError(f"checkpoint '{where}' cannot be restored ({first}); delete it and start a new run") \
            from None
