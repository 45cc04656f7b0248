"""Plumbing every training loop shares: loaders, evaluation, the run session and the w step."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from .config import RunConfig
from .errors import ToolkitError
from .events import EventBus, Listener, ProgressBar, StopSignal
from .rundir import RunDir
from .runtime import autocast, pick_device, to_device


def make_loader(dataset, batch_size: int, shuffle: bool, seed: int = 0, drop_last: bool = False) -> DataLoader:
    """A DataLoader whose order depends only on ``seed`` (so CPU runs repeat exactly)."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last)


def logits_of(output):
    """Networks with an auxiliary head return (logits, aux) in training mode."""
    return output[0] if isinstance(output, tuple) else output


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: DataLoader, device: torch.device, amp: str = "off",
             channels_last: bool = False) -> dict[str, float]:
    """Mean cross-entropy and accuracy of ``model`` over ``loader`` (eval mode, restored after)."""
    was_training = model.training
    model.eval()
    total, loss_sum, correct = 0, 0.0, 0
    for x, y in loader:
        x, y = to_device(x, device, channels_last), y.to(device)
        with autocast(device, amp):
            logits = logits_of(model(x))
        loss_sum += float(F.cross_entropy(logits.float(), y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
        total += y.numel()
    model.train(was_training)
    return {"loss": loss_sum / max(total, 1), "acc": correct / max(total, 1)}


@dataclass
class Session:
    """What one run needs besides its model: event bus, stop signal, device and run folder.

    Args:
        config: the run's configuration.
        listeners: event callbacks (a tqdm bar is added when ``progress`` is true).
        stop: a StopSignal another thread may set.
        run_dir: folder for the run record (None keeps everything in memory).
        resume: continue the run found in ``run_dir``.
    """

    config: RunConfig
    listeners: tuple = ()
    stop: StopSignal | None = None
    run_dir: str | Path | None = None
    resume: bool = False
    progress: bool = False

    def __post_init__(self):
        listeners: list[Listener] = list(self.listeners)
        if self.progress:
            listeners.append(ProgressBar())
        self.bus = EventBus(listeners)
        self.stop = self.stop or StopSignal()
        self.device = pick_device(self.config.device)
        if self.config.amp != "off" and self.device.type != "cuda":
            raise ToolkitError(f"mixed precision (amp {self.config.amp}) needs a CUDA GPU and this run is on "
                               f"{self.device.type}; use --amp off")
        self.run = RunDir(self.run_dir, resume=self.resume) if self.run_dir is not None else None

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


def require(value, kind, what: str) -> None:
    """A ToolkitError unless ``value`` is a ``kind`` (API calls with wrong types fail early and clearly)."""
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ToolkitError(f"{what} must be a {names}, got {type(value).__name__}; build one with {names}(...)")


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


def weight_step(model, optimizer, x, y, session: Session, scaler=None, aux_weight: float = 0.0,
                params=None) -> tuple[float, float]:
    """One SGD step on the weights with gradient clipping; returns (loss, accuracy) of the batch."""
    cfg = session.config
    optimizer.zero_grad(set_to_none=True)
    with autocast(session.device, cfg.amp):
        out = model(x)
        logits = logits_of(out)
        loss = F.cross_entropy(logits, y)
        if isinstance(out, tuple) and aux_weight:
            loss = loss + aux_weight * F.cross_entropy(out[1], y)
    params = params if params is not None else [p for g in optimizer.param_groups for p in g["params"]]
    if scaler is not None and scaler.is_enabled():
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
    acc = float((logits.detach().argmax(1) == y).float().mean())
    return float(loss.detach()), acc
