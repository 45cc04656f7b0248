"""A whole search step captured as one CUDA graph and replayed (``SearchConfig.compile='cudagraphs'``).

A DARTS search step at CIFAR-10 size launches thousands of small kernels (every op of every edge,
forward and backward, twice), so on a GPU it is bound by the launches and the Python that issues
them, not by arithmetic. :class:`GraphedStep` records the step once with ``torch.cuda.graph`` (the
α step's forward, backward and Adam update, then the w step's forward, backward, gradient clipping
and SGD update) and from then on replays it: one launch per step, the batch copied into the graph's
static input tensors first.

What keeps the replayed step the step the eager code computes:

- Nothing inside the step reads a value back to the CPU: the step returns its loss and accuracy as
  tensors, which the caller reads after the replay. (fp16's GradScaler does read back its overflow
  check, so CUDA graphs run with fp32 or bf16 only; :func:`toolkit.runtime.compile_plan`.)
- State that an optimiser creates on its first use (SGD's momentum buffers, Adam's moments and step
  count) must exist before the capture, or the replay would create it afresh every step: the first
  :data:`WARMUP` calls, and the first call after the step's structure changes, run eagerly (on a
  side stream, as capture requires). They are real steps of the run on its real batches.
- Values the graph takes as plain numbers (the SGD learning rate, which the cosine schedule changes
  each epoch; whether the α step runs at all) form the ``key``: a new key drops the graph and
  captures a new one.
- Static shapes: the loaders drop the last short batch.
- Adam is built with ``capturable=True`` (its step count lives on the GPU).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import torch

WARMUP = 3  # eager steps before the first capture (the PyTorch CUDA-graph guide's whole-network example)


class GraphedStep:
    """Run ``step(*inputs) -> tuple of tensors`` eagerly at first, then as a replayed CUDA graph.

    Args:
        step: the whole step; it must not read GPU values on the CPU, and its outputs are tensors.
        warmup: eager calls before the first capture.
        graph: the graph factory (``torch.cuda.CUDAGraph``), with ``capture`` the context manager that
            records into it (``torch.cuda.graph``); replaced in tests.

    Calling it with ``(key, *inputs)`` returns the step's outputs. After a replay they are the graph's
    static output tensors, overwritten by the next replay: read them before the next call.
    """

    def __init__(self, step: Callable[..., tuple[torch.Tensor, ...]], warmup: int = WARMUP,
                 graph: Callable | None = None, capture: Callable | None = None):
        if warmup < 1:
            raise ValueError(f"warmup must be at least 1 (optimiser state must exist before a capture), got {warmup}")
        self.step, self.warmup = step, warmup
        self._new_graph = graph or torch.cuda.CUDAGraph
        self._capture = capture or torch.cuda.graph
        self.graph = None
        self.key: Hashable = None
        self.inputs: list[torch.Tensor] = []
        self.outputs: tuple[torch.Tensor, ...] = ()
        self.eager_calls = self.captures = 0

    def __call__(self, key: Hashable, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if key != self.key:  # a new learning rate or step structure: one eager step, then a new graph
            self.graph, self.key, self.inputs, self.outputs = None, key, [], ()
            self.eager_calls = min(self.eager_calls, self.warmup - 1)
        if self.eager_calls < self.warmup:
            self.eager_calls += 1
            return self._eager(inputs)
        if self.graph is None:
            self._record(inputs)
        for static, x in zip(self.inputs, inputs):
            static.copy_(x, non_blocking=True)
        self.graph.replay()
        return self.outputs

    def _eager(self, inputs):
        if not (inputs and inputs[0].is_cuda):
            return self.step(*inputs)
        side = torch.cuda.Stream(device=inputs[0].device)
        side.wait_stream(torch.cuda.current_stream(inputs[0].device))
        with torch.cuda.stream(side):
            outputs = self.step(*inputs)
        torch.cuda.current_stream(inputs[0].device).wait_stream(side)
        return outputs

    def _record(self, inputs):
        """Capture one step on static copies of ``inputs`` (the capture runs nothing; the replay does)."""
        self.inputs = [x.clone() for x in inputs]  # clone keeps the memory layout (channels-last)
        graph = self._new_graph()
        with self._capture(graph):
            self.outputs = tuple(self.step(*self.inputs))
        self.graph = graph
        self.captures += 1
