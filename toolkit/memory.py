"""Peak memory of a training or search step, on CPU and on GPU (ADARTS paper Fig. 10's quantity).

Two measurements:

- **Saved-tensor bytes** (any device): the tensors autograd keeps for the backward pass are
  what grows with the supernet's width and what partial channels cut (ADARTS paper III.D: "each
  operation and its corresponding output need to be stored"). :class:`SavedTensorMeter` hooks
  ``torch.autograd.graph.saved_tensors_hooks``, counts every storage once however many saved
  views point into it, leaves out the model's own parameters and buffers (they exist whatever
  the step does), and follows the live total as graphs are freed, so its ``peak_bytes`` is the
  largest amount of activation memory held at one time during the step. It is exact for what it
  counts and deterministic, so it is comparable between machines; it leaves out short-lived
  temporaries, gradients and optimiser state.
- **CUDA allocator peak** (GPU): ``torch.cuda.max_memory_allocated`` over the step; everything
  the step allocated, parameters and optimiser state included (what papers call "GPU memory").

Example:
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())
    >>> with SavedTensorMeter(net) as meter:
    ...     net(torch.ones(2, 4)).sum().backward()
    >>> meter.peak_bytes  # the input (2x4 floats) and the ReLU output (2x4 floats)
    64
"""

from __future__ import annotations

import torch

MB = 1024 * 1024


class _Saved:
    """What the pack hook stores instead of the tensor: the tensor plus a release callback."""

    __slots__ = ("tensor", "release")

    def __init__(self, tensor, release):
        self.tensor, self.release = tensor, release

    def __del__(self):
        if self.release is not None:
            self.release()


def _storage_key(t: torch.Tensor) -> tuple[str, int]:
    return (str(t.device), t.untyped_storage().data_ptr())


class SavedTensorMeter:
    """Live and peak bytes of tensors saved for backward while the context is open.

    Args:
        model: optional module whose parameters and buffers are not counted.

    Attributes:
        peak_bytes: the largest live total seen. live_bytes: the total still held.
    """

    def __init__(self, model: torch.nn.Module | None = None):
        self._excluded: set[tuple[str, int]] = set()
        if model is not None:
            tensors = list(model.parameters()) + list(model.buffers())
            self._excluded = {_storage_key(t) for t in tensors if t.numel()}
        self._refs: dict[tuple[str, int], int] = {}
        self.live_bytes = 0
        self.peak_bytes = 0
        self._hooks = None

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB

    def __enter__(self) -> SavedTensorMeter:
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)

    def _pack(self, t: torch.Tensor) -> _Saved:
        if not isinstance(t, torch.Tensor) or t.numel() == 0:
            return _Saved(t, None)
        key = _storage_key(t)
        if key in self._excluded:
            return _Saved(t, None)
        if key not in self._refs:
            self._refs[key] = 0
            self.live_bytes += t.untyped_storage().nbytes()
            self.peak_bytes = max(self.peak_bytes, self.live_bytes)
        self._refs[key] += 1
        nbytes = t.untyped_storage().nbytes()
        return _Saved(t, lambda: self._release(key, nbytes))

    @staticmethod
    def _unpack(saved: _Saved) -> torch.Tensor:
        return saved.tensor

    def _release(self, key, nbytes: int) -> None:
        self._refs[key] -= 1
        if not self._refs[key]:
            del self._refs[key]
            self.live_bytes -= nbytes


class StepMemory:
    """Measures one step: saved-tensor peak (when asked) and, on CUDA, the allocator peak.

    Args:
        device: the step's device.
        model: the model (its parameters/buffers are not counted as saved activations).
        activations: hook saved tensors in this step (a small Python cost per saved tensor, so the
            search loop does it on the first step of each epoch only).

    Attributes:
        activation_mb: saved-tensor peak in MiB, or None when not measured.
        cuda_peak_mb: ``torch.cuda.max_memory_allocated`` during the step in MiB, or None off CUDA.
    """

    def __init__(self, device: torch.device, model: torch.nn.Module | None = None, activations: bool = True):
        self.device = torch.device(device)
        self._meter = SavedTensorMeter(model) if activations else None
        self.activation_mb: float | None = None
        self.cuda_peak_mb: float | None = None

    @property
    def peak_mb(self) -> float | None:
        """The step's peak memory: the CUDA allocator peak on GPU, else the saved-tensor peak."""
        return self.cuda_peak_mb if self.cuda_peak_mb is not None else self.activation_mb

    def __enter__(self) -> StepMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        if self._meter is not None:
            self._meter.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._meter is not None:
            self._meter.__exit__(*exc)
            self.activation_mb = self._meter.peak_mb
        if self.device.type == "cuda":
            self.cuda_peak_mb = torch.cuda.max_memory_allocated(self.device) / MB
