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

from .ops import POOLING, Identity, Zero, build_op, conv2d, flat_layers

_CHANNELWISE = (nn.MaxPool2d, nn.AvgPool2d, Identity, nn.Identity)

EdgeFactory = Callable[[int, int, tuple[str, ...]], nn.Module]


class MixedOp(nn.Module):
    """All candidate ops of an edge, weighted by softmax(α) of that edge (the continuous relaxation).

    The result is ``sum_o w_o * o(x)`` (DARTS eq. 2), computed with less work and memory than
    running every op and then multiplying (the results agree to float tolerance):

    - ops that start with a ReLU (sep/dil convs) share one ``relu(x)``;
    - an op that ends in a non-affine batch norm gets ``w_o`` as that norm's scale,
      ``w_o * (y - μ)/σ``, so the op's output is never stored for the gradient of ``w_o``;
    - the 'none' op adds ``w_o * 0``: it is left out (its α still enters through the softmax);
    - on CPU the edge runs in channels-last layout;
    - the mixed ops of several edges whose inputs are ready together (a cell's edges from its two
      inputs, then from each new node) run as one, on their concatenated channels
      (:func:`run_edges`, :func:`run_mixed`): one call per layer instead of one per edge.
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
        # per op: the layers run_mixed runs (between the shared ReLU and the final BN, or the whole
        # op), and whether several edges can run them as one
        self._layers = [None if body is None else body if norm is not None else flat_layers(body)
                        for _, body, norm in self._plans]
        self._fusable = [layers is not None and all(map(_fusable, layers)) for layers in self._layers]
        self._signature = (tuple(ops), C, stride)

    def forward(self, x, weights, scale=None):
        """``sum_o w_o * o(x)``; ``scale`` (PC-DARTS' edge weight β) multiplies it, folded into the w_o."""
        return run_mixed([self], [x], [weights], [scale])[0]

    def split(self, x, weights, scale=None):
        """The edge as (mixed op, its input, weights, scale, finish): the whole edge is the mixed op."""
        return self, x, weights, scale, None

    def fusable_with(self, other: MixedOp) -> bool:
        """True when one fused pass can run both mixed ops (same ops, channels and stride)."""
        return self._signature == other._signature


def run_edges(edges: list[nn.Module], xs: list[torch.Tensor], weights: list[torch.Tensor],
              scales: list[torch.Tensor | None]) -> list[torch.Tensor]:
    """The outputs of several edges whose inputs are all ready, their mixed ops fused where possible.

    An edge that has a ``split(x, weights, scale)`` method (:class:`MixedOp`, the partial-channel
    edges) hands back its mixed op, the op's input and a ``finish(out)`` that turns the op's output
    into the edge's (None: the output is the edge's); mixed ops that :meth:`MixedOp.fusable_with`
    each other run as one (:func:`run_mixed`). Other edges are called as they are.
    """
    outputs: list[torch.Tensor | None] = [None] * len(edges)
    groups: list[list] = []  # [mixed op, [(index, input, weights, scale, finish), ...]]
    for i, (edge, x, w, s) in enumerate(zip(edges, xs, weights, scales)):
        if not hasattr(edge, "split"):
            outputs[i] = edge(x, w, s)
            continue
        mixed, *rest = edge.split(x, w, s)
        group = next((g for g in groups if g[0].fusable_with(mixed)), None)
        if group is None:
            groups.append(group := [mixed, []])
        group[1].append((i, mixed, *rest))
    for _, members in groups:
        _, ops, ins, ws, ss, finishes = zip(*members)
        for (i, *_), out, finish in zip(members, run_mixed(list(ops), list(ins), list(ws), list(ss)), finishes):
            outputs[i] = out if finish is None else finish(out)
    return outputs


def _laid_out(x: torch.Tensor, layout: torch.memory_format | None) -> torch.Tensor:
    """``x`` in memory ``layout``; None leaves it as it is (a GPU keeps the layout its input has)."""
    return x if layout is None else x.contiguous(memory_format=layout)


def run_mixed(ops: list[MixedOp], xs: list[torch.Tensor], weights: list[torch.Tensor],
              scales: list[torch.Tensor | None]) -> list[torch.Tensor]:
    """``sum_o w_o * o(x)`` (DARTS eq. 2) of several fusable mixed ops in one pass.

    The inputs are concatenated along the channels and every layer runs once for all edges: a
    convolution with ``groups`` becomes one with ``groups * E`` and the E edges' kernels stacked, a
    batch norm runs over the E edges' channels with their running statistics (written back to each
    edge's), ReLU and pooling work per channel anyway. Each edge's op weight ``w_o`` (times β)
    becomes the scale of the op's final batch norm (see :class:`MixedOp`). Ops that do not consist
    of such layers (e.g. the stride-2 skip, a factorized reduce) run edge by edge. The result is the
    same as running the edges one by one; on a CPU at small channel counts it takes a fraction of
    the time, since every layer is one call instead of E.
    """
    E, C = len(ops), xs[0].shape[1]
    weights = [w if s is None else w * s for w, s in zip(weights, scales)]
    # On CPU the fusable layers run channels-last: oneDNN's depthwise convs and pooling are several
    # times faster so. Ops that are run whole get the default layout: the backward pass of a stride-2
    # 1x1 convolution (the factorized reduce) on a channels-last input corrupts the heap in torch 2.14's
    # CPU build at some small channel counts (4 -> 2 channels on 8x8 or 16x16 crashes the process).
    cpu = xs[0].device.type == "cpu"
    layout, whole_layout = (torch.channels_last, torch.contiguous_format) if cpu else (None, None)
    x = _laid_out(xs[0] if E == 1 else torch.cat(xs, dim=1), layout)
    relu_x = F.relu(x) if any(plan[0] for plan in ops[0]._plans) else None
    out = None
    for i, (relu_first, body, norm) in enumerate(ops[0]._plans):
        if body is None:  # 'none'
            continue
        if E > 1 and not ops[0]._fusable[i]:  # edge by edge
            y = torch.cat([w[i] * op.ops[i](_laid_out(xe, whole_layout))
                           for w, op, xe in zip(weights, ops, xs)], dim=1)
        elif norm is None and E == 1:
            y = weights[0][i] * body(_laid_out(x, whole_layout))
        else:
            h = relu_x if relu_first else x
            for same in zip(*(op._layers[i] for op in ops)):
                h = _fused_layer(list(same), h)
            scale = weights[0][i].expand(C) if E == 1 else torch.stack([w[i] for w in weights]).repeat_interleave(C)
            if norm is None:  # in h's dtype: under autocast an fp32 scale would turn the sum to fp32
                y = h * scale.to(h.dtype).view(1, -1, 1, 1)
            else:
                y = fused_batch_norm(h, [op._plans[i][2] for op in ops], scale)
        out = y if out is None else out + y
    return [out] if E == 1 else list(out.split(C, dim=1))


def _fusable(layer: nn.Module) -> bool:
    """A layer :func:`run_mixed` can run for several edges at once."""
    if isinstance(layer, nn.Conv2d):
        return layer.bias is None and layer.padding_mode == "zeros"
    return isinstance(layer, (nn.ReLU, nn.BatchNorm2d, *_CHANNELWISE))


def _fused_layer(layers: list[nn.Module], h: torch.Tensor) -> torch.Tensor:
    """One layer of E edges on their concatenated channels (E = ``len(layers)``)."""
    first = layers[0]
    if len(layers) == 1:
        return first(h)
    if isinstance(first, nn.Conv2d):
        kernel = torch.cat([layer.weight for layer in layers])
        return conv2d(h, kernel, first.stride, first.padding, first.dilation, first.groups * len(layers))
    if isinstance(first, nn.BatchNorm2d):
        weight = None if first.weight is None else torch.cat([layer.weight for layer in layers])
        bias = None if first.bias is None else torch.cat([layer.bias for layer in layers])
        return fused_batch_norm(h, layers, weight, bias)
    return first(h)  # ReLU, pooling, identity: per channel


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


def fused_batch_norm(x: torch.Tensor, norms: list[nn.BatchNorm2d], weight: torch.Tensor | None,
                     bias: torch.Tensor | None = None) -> torch.Tensor:
    """The batch norms ``norms`` (same settings) of E edges on their concatenated channels ``x``.

    Follows ``nn.BatchNorm2d.forward`` (running statistics, momentum, batch count) exactly for each
    norm; ``weight`` and ``bias`` replace the norms' own (a non-affine norm times an op weight).
    """
    bn = norms[0]
    momentum = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        for norm in norms:
            norm.num_batches_tracked.add_(1)
        if bn.momentum is None:
            momentum = 1.0 / float(bn.num_batches_tracked)
    use_batch = bn.training or (bn.running_mean is None and bn.running_var is None)
    track = (not bn.training or bn.track_running_stats) and bn.running_mean is not None
    mean = var = None
    if track:
        mean, var = ((bn.running_mean, bn.running_var) if len(norms) == 1 else
                     (torch.cat([n.running_mean for n in norms]), torch.cat([n.running_var for n in norms])))
    # A dense weight: torch's CPU channels-last batch norm misreads an expanded (stride-0) one.
    weight = None if weight is None else weight.contiguous()
    out = F.batch_norm(x, mean, var, weight, bias, use_batch, momentum, bn.eps)
    if track and use_batch and len(norms) > 1:  # hand each norm its updated statistics
        with torch.no_grad():
            for norm, m, v in zip(norms, mean.chunk(len(norms)), var.chunk(len(norms))):
                norm.running_mean.copy_(m)
                norm.running_var.copy_(v)
    return out


def mixed_edge(C: int, stride: int, ops: tuple[str, ...]) -> MixedOp:
    """The plain DARTS edge: every channel goes through every candidate op (an :data:`EdgeFactory`)."""
    return MixedOp(C, stride, ops)
