"""Plumbing every training loop shares: loaders, evaluation and the w step (the loop itself: engine.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from .engine import Session
from .errors import ToolkitError
from .runtime import autocast, to_device

__all__ = ["Session", "evaluate", "logits_of", "make_loader", "require", "weight_step"]


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


def require(value, kind, what: str) -> None:
    """A ToolkitError unless ``value`` is a ``kind`` (API calls with wrong types fail early and clearly)."""
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ToolkitError(f"{what} must be a {names}, got {type(value).__name__}; build one with {names}(...)")


def weight_step(model, optimizer, x, y, session: Session, scaler=None, aux_weight: float = 0.0,
                params=None) -> tuple[float, float]:
    """One SGD step on the weights with gradient clipping; returns (loss, accuracy) of the batch.

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
    acc = float((logits.detach().argmax(1) == y).float().mean())
    return float(loss.detach()), acc
