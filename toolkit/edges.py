"""Supernet edges: the DARTS mixed op and the factory type a supernet builds its edges with.

An edge factory is any callable ``factory(C, stride, ops) -> nn.Module`` whose module computes
``edge(x, weights, scale=None)``: the mixed output of the candidate ops ``ops`` for softmax(α)
``weights``, times PC-DARTS' edge weight β ``scale`` when given. :func:`mixed_edge` builds the
plain DARTS edge (DARTS: Differentiable Architecture Search, H. Liu, K. Simonyan, Y. Yang,
arXiv:1806.09055, eq. 2); :func:`toolkit.partial.partial_edge` builds the partial-channel edges of
PC-DARTS and ADARTS. The method registry (:mod:`toolkit.methods`) says which factory a method
uses, so the supernet never needs to know every edge type.

Example:
    >>> edge = mixed_edge(4, 1, ("skip_connect", "sep_conv_3x3"))
    >>> edge(torch.randn(2, 4, 6, 6), torch.tensor([0.5, 0.5])).shape
    torch.Size([2, 4, 6, 6])
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .ops import POOLING, Zero, build_op, flat_layers

EdgeFactory = Callable[[int, int, tuple[str, ...]], nn.Module]


class MixedOp(nn.Module):
    """All candidate ops of an edge, weighted by softmax(α) of that edge (the continuous relaxation).

    The result is ``sum_o w_o * o(x)`` (DARTS eq. 2), computed with less work and memory than
    running every op and then multiplying (the results agree to float tolerance):

    - ops that start with a ReLU (sep/dil convs) share one ``relu(x)``;
    - an op that ends in a non-affine batch norm gets ``w_o`` as that norm's scale,
      ``w_o * (y - μ)/σ``, so the op's output is never stored for the gradient of ``w_o``;
    - the 'none' op adds ``w_o * 0``: it is left out (its α still enters through the softmax);
    - on CPU the edge runs in channels-last layout.
    """

    def __init__(self, C: int, stride: int, ops: tuple[str, ...]):
        super().__init__()
        self.ops = nn.ModuleList()
        for name in ops:
            op = build_op(name, C, stride, affine=False)
            if name in POOLING:  # DARTS: pooling is followed by a non-affine BN in the supernet
                op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
            self.ops.append(op)
        only_zero = all(isinstance(op, Zero) for op in self.ops)
        self._plans = [(False, op, None) if only_zero else mixed_op_plan(op) for op in self.ops]

    def forward(self, x, weights, scale=None):
        """``sum_o w_o * o(x)``; ``scale`` (PC-DARTS' edge weight β) multiplies it, folded into the w_o."""
        if scale is not None:
            weights = weights * scale
        if x.device.type == "cpu":  # oneDNN's depthwise convs and pooling are several times faster so
            x = x.contiguous(memory_format=torch.channels_last)
        relu_x = F.relu(x) if any(plan[0] for plan in self._plans) else None
        out = None
        for i, (relu_first, body, norm) in enumerate(self._plans):
            if body is None:  # 'none'
                continue
            if norm is None:
                y = weights[i] * body(x)
            else:
                h = relu_x if relu_first else x
                for layer in body:
                    h = layer(h)
                y = scaled_batch_norm(h, norm, weights[i])
            out = y if out is None else out + y
        return out


def mixed_op_plan(op: nn.Module) -> tuple[bool, object, nn.BatchNorm2d | None]:
    """How :class:`MixedOp` runs one op: (starts with the shared ReLU, body, final non-affine BN).

    ``body`` is None for 'none'; the op itself when it does not end in a non-affine BN (it is then
    run whole and multiplied by its weight); else its layers between the ReLU and the BN.
    """
    if isinstance(op, Zero):
        return False, None, None
    layers = flat_layers(op)
    norm = layers[-1]
    if not (isinstance(norm, nn.BatchNorm2d) and not norm.affine and len(layers) > 1):
        return False, op, None
    relu_first = isinstance(layers[0], nn.ReLU)
    return relu_first, layers[int(relu_first) : -1], norm


def scaled_batch_norm(x: torch.Tensor, bn: nn.BatchNorm2d, scale: torch.Tensor) -> torch.Tensor:
    """``scale * bn(x)`` for a non-affine BN, as one batch norm whose weight is ``scale``.

    Follows ``nn.BatchNorm2d.forward`` (running statistics, momentum, batch count) exactly; only the
    scale is new. Autograd then keeps the BN input, not its output, for the gradient of ``scale``.
    """
    momentum = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:
            momentum = 1.0 / float(bn.num_batches_tracked)
    use_batch = bn.training or (bn.running_mean is None and bn.running_var is None)
    track = not bn.training or bn.track_running_stats
    # A dense weight: torch's CPU channels-last batch norm misreads an expanded (stride-0) one.
    return F.batch_norm(x, bn.running_mean if track else None, bn.running_var if track else None,
                        scale.expand(x.shape[1]).contiguous(), None, use_batch, momentum, bn.eps)


def mixed_edge(C: int, stride: int, ops: tuple[str, ...]) -> MixedOp:
    """The plain DARTS edge: every channel goes through every candidate op (an :data:`EdgeFactory`)."""
    return MixedOp(C, stride, ops)
