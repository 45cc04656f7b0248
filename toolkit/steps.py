"""Steps every training loop shares: loaders, evaluation, the w step, argument checks (loop: engine.py)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from .engine import Session
from .errors import ToolkitError
from .events import StopSignal
from .runtime import autocast, to_device

__all__ = ["Session", "evaluate", "logits_of", "make_loader", "require", "require_run_arguments",
           "train_batches", "weight_step", "weight_update"]


def train_batches(samples: int, batch_size: int) -> int:
    """Batches per epoch of a training loader (:func:`make_loader` with ``shuffle``): a last batch of
    one sample is dropped, so ``samples = 10, batch_size = 3`` gives 3 batches."""
    return samples // batch_size + (samples % batch_size > 1)


def make_loader(dataset, batch_size: int, shuffle: bool, seed: int = 0, drop_last: bool = False) -> DataLoader:
    """A DataLoader whose order depends only on ``seed`` (so CPU runs repeat exactly).

    A training loader (``shuffle``) drops a last batch of a single sample. Batch norm in training mode
    cannot normalise one value per channel (the auxiliary head's 1x1 maps raise), and a one-sample
    step is mostly noise. The DARTS reference loaders keep every last batch (``drop_last`` unset) but
    never meet one of one sample with CIFAR-10's 25,000 / 50,000 images and batch 64 / 96; any other
    last batch is kept here too, so runs whose size is not one more than a multiple of the batch size
    are unchanged.
    """
    generator = torch.Generator().manual_seed(seed)
    drop_last = drop_last or (shuffle and len(dataset) % batch_size == 1)
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


def require(value, kind, what: str, fix: str | None = None) -> None:
    """A ToolkitError unless ``value`` is a ``kind`` (API calls with wrong types fail early and clearly).

    Args:
        value: the argument received.
        kind: a type or a tuple of types (``type(None)`` allows None; bool never passes as int).
        what: the argument's name in the message.
        fix: what to pass instead (default: ``build one with <kind>(...)``).
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds and int in kinds):
        return
    names = " or ".join("None" if k is type(None) else k.__name__ for k in kinds)
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    fix = fix or f"build one with {kinds[0].__name__}(...)"
    article = "an" if names[0].lower() in "aeiou" else "a"
    raise ToolkitError(f"{what} must be {article} {names}, got {type(value).__name__} {shown}; {fix}")


def require_run_arguments(listeners=(), stop=None, run_dir=None, resume=False, progress=False) -> None:
    """Check the arguments every run entry point shares (``listeners``, ``stop``, ``run_dir``,
    ``resume``, ``progress``), so a wrong type is one ToolkitError naming it, not a traceback deep inside."""
    require(listeners, (tuple, list), "listeners", "pass a tuple of callables, e.g. listeners=(print,)")
    for listener in listeners:
        if not callable(listener):
            raise ToolkitError(f"listeners must be callables receiving events, got {type(listener).__name__} "
                               f"{listener!r:.40}; pass e.g. listeners=(print,)")
    require(stop, (StopSignal, type(None)), "stop", "pass a StopSignal() or None")
    require(run_dir, (str, Path, type(None)), "run_dir", "pass a folder path such as 'runs/demo', or None")
    require(resume, bool, "resume", "pass True or False")
    require(progress, bool, "progress", "pass True or False")


def weight_step(model, optimizer, x, y, session: Session, scaler=None, aux_weight: float = 0.0,
                params=None) -> tuple[float, float]:
    """One SGD step on the weights with gradient clipping; returns (loss, accuracy) of the batch."""
    loss, acc = weight_update(model, optimizer, x, y, session, scaler, aux_weight, params)
    return float(loss), float(acc)


def weight_update(model, optimizer, x, y, session: Session, scaler=None, aux_weight: float = 0.0,
                  params=None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`weight_step` with the loss and accuracy left as tensors (nothing is read back from a GPU,
    so a CUDA graph can hold the step: :mod:`toolkit.graphed`).

    Only the optimised weights get gradients (``backward(inputs=...)``): in a search, α and β are
    left alone, so autograd does not compute their gradients here.
    """
    cfg = session.config
    optimizer.zero_grad(set_to_none=True)
    with autocast(session.device, cfg.amp):
        out = model(x)
        logits = logits_of(out)
        loss = F.cross_entropy(logits, y)
        if isinstance(out, tuple) and aux_weight:
            loss = loss + aux_weight * F.cross_entropy(out[1], y)
    params = params if params is not None else [p for g in optimizer.param_groups for p in g["params"]]
    params = [p for p in params if p.requires_grad]
    if scaler is not None and scaler.is_enabled():
        scaler.scale(loss).backward(inputs=params)
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward(inputs=params)
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
    return loss.detach(), (logits.detach().argmax(1) == y).float().mean()
