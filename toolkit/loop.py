"""Plumbing every training loop shares: loaders, evaluation, the run session and the w step."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from .config import RunConfig
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
        self.run = RunDir(self.run_dir, resume=self.resume) if self.run_dir is not None else None


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
