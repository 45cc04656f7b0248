"""Devices, mixed precision, channels-last and seeded randomness."""

from __future__ import annotations

import contextlib
import random

import numpy as np
import torch

from .errors import ToolkitError

AMP_MODES = ("off", "bf16", "fp16")


def pick_device(preference: str = "auto") -> torch.device:
    """CUDA when present, else Apple MPS, else CPU; or the device the user names."""
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preference)
    except RuntimeError:
        raise ToolkitError(f"unknown device '{preference}'; use auto, cpu, cuda or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ToolkitError("device 'cuda' asked for but no CUDA GPU is visible; use --device auto or cpu")
    return device


def autocast(device: torch.device, amp: str = "off"):
    """An autocast context for ``amp`` in {'off', 'bf16', 'fp16'} (a no-op when off)."""
    if amp not in AMP_MODES:
        raise ToolkitError(f"unknown amp mode '{amp}'; choose one of: {', '.join(AMP_MODES)}")
    if amp == "off":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, amp: str):
    """A gradient scaler for fp16 on CUDA; disabled otherwise (bf16 needs none)."""
    return torch.amp.GradScaler(device.type, enabled=(amp == "fp16" and device.type == "cuda"))


def prepare_model(model: torch.nn.Module, device: torch.device, channels_last: bool = False) -> torch.nn.Module:
    """Move a model to ``device``, optionally in channels-last memory format."""
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def to_device(x: torch.Tensor, device: torch.device, channels_last: bool = False) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.dim() == 4 else x


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """All RNG states as tensors and plain values (loadable with ``weights_only=True``)."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(float, np_state[2:])],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(gauss)))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
