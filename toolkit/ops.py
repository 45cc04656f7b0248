"""Candidate operations and the op registry.

Every op is built by a factory with one signature, ``factory(C, stride, affine) -> nn.Module``,
that maps ``C`` channels to ``C`` channels and divides the spatial size by ``stride`` (1 or 2),
rounding up, so that every op on an edge produces the same shape.  The names follow the DARTS
code base; the TS-ENAS operation space (TS-ENAS paper Table I) maps onto the same registry.

Example:
    >>> op = OPS["sep_conv_3x3"](16, 1, True)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

OpFactory = Callable[[int, int, bool], nn.Module]


def conv2d(x: torch.Tensor, weight: torch.Tensor, stride, padding, dilation, groups: int) -> torch.Tensor:
    """``F.conv2d(x, weight, None, stride, padding, dilation, groups)``, with zero padding.

    A convolution whose stride equals its dilation (DARTS' ``dil_conv`` on a reduction cell's
    stride-2 edges) reads only every s-th pixel: output ``i`` sums ``w[k] * x[s*i + s*k - p]``.
    When ``s`` divides the padding ``p`` it is the undilated stride-1 convolution of those pixels,
    ``x[:, :, ::s, ::s]``, with padding ``p / s``: the same products and the same output size,
    ``ceil(H / s)``. On a CPU that form runs 7-14x faster in the channels-last layout the supernet
    uses there, 2-5x in the default one (``bench/dilated_conv.py``; oneDNN has no fast kernel for
    strided, dilated depthwise convolutions).
    """
    stride, padding, dilation = (_pair(v) for v in (stride, padding, dilation))
    if stride == dilation != (1, 1) and all(p % s == 0 for p, s in zip(padding, stride)):
        sub = x[:, :, :: stride[0], :: stride[1]]
        if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
            sub = sub.contiguous(memory_format=torch.channels_last)
        return F.conv2d(sub, weight, None, 1, (padding[0] // stride[0], padding[1] // stride[1]), 1, groups)
    return F.conv2d(x, weight, None, stride, padding, dilation, groups)


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


class DilatedConv2d(nn.Conv2d):
    """``nn.Conv2d`` that runs a stride-equals-dilation convolution as :func:`conv2d` does (same result)."""

    def _conv_forward(self, x, weight, bias):
        if self.padding_mode != "zeros" or isinstance(self.padding, str):
            return super()._conv_forward(x, weight, bias)
        out = conv2d(x, weight, self.stride, self.padding, self.dilation, self.groups)
        return out if bias is None else out + bias.view(1, -1, 1, 1)


class ReLUConvBN(nn.Sequential):
    """ReLU, one convolution, batch norm (the DARTS building block)."""

    def __init__(self, C_in, C_out, kernel, stride, padding, affine=True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """ReLU, dilated depthwise convolution, pointwise convolution, batch norm."""

    def __init__(self, C_in, C_out, kernel, stride, padding, dilation, affine=True):
        super().__init__(
            nn.ReLU(inplace=False),
            DilatedConv2d(C_in, C_in, kernel, stride, padding, dilation=dilation, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two stacked (non-dilated) DilConv blocks, the first carrying the stride (DARTS sep_conv)."""

    def __init__(self, C_in, C_out, kernel, stride, padding, affine=True):
        super().__init__(
            DilConv(C_in, C_in, kernel, stride, padding, 1, affine),
            DilConv(C_in, C_out, kernel, 1, padding, 1, affine),
        )


class FactorizedConv(nn.Sequential):
    """ReLU, a 1xk then kx1 convolution, batch norm (DARTS conv_7x1_1x7; TS-ENAS 1x3-3x1, 1x7-7x1)."""

    def __init__(self, C, kernel, stride, affine=True):
        pad = kernel // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, (1, kernel), stride=(1, stride), padding=(0, pad), bias=False),
            nn.Conv2d(C, C, (kernel, 1), stride=(stride, 1), padding=(pad, 0), bias=False),
            nn.BatchNorm2d(C, affine=affine),
        )


class Identity(nn.Module):
    def forward(self, x):
        return x


class Zero(nn.Module):
    """The 'none' op: a zero tensor of the output shape."""

    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the spatial size with two offset stride-2 1x1 convolutions (DARTS).

    The offset path pads by one pixel first, so odd sizes (e.g. 7x7) work: both paths give
    ceil(H/2) rows, the same size as a stride-2 3x3 convolution with padding 1.
    """

    def __init__(self, C_in, C_out, affine=True):
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even channel count, got {C_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x):
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def _skip(C, stride, affine):
    return Identity() if stride == 1 else FactorizedReduce(C, C, affine)


def _max_pool(k):
    return lambda C, stride, affine: nn.MaxPool2d(k, stride=stride, padding=k // 2)


OPS: dict[str, OpFactory] = {
    "none": lambda C, stride, affine: Zero(stride),
    "avg_pool_3x3": lambda C, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
    "max_pool_3x3": _max_pool(3),
    "max_pool_5x5": _max_pool(5),
    "max_pool_7x7": _max_pool(7),
    "skip_connect": _skip,
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine),
    "sep_conv_5x5": lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine),
    "sep_conv_7x7": lambda C, stride, affine: SepConv(C, C, 7, stride, 3, affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine),
    "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine),
    "conv_1x1": lambda C, stride, affine: ReLUConvBN(C, C, 1, stride, 0, affine),
    "conv_3x3": lambda C, stride, affine: ReLUConvBN(C, C, 3, stride, 1, affine),
    "conv_1x3_3x1": lambda C, stride, affine: FactorizedConv(C, 3, stride, affine),
    "conv_7x1_1x7": lambda C, stride, affine: FactorizedConv(C, 7, stride, affine),
}

# Ops with no learnable weights (pooling, identity, zero).  DARTS adds a non-affine BN after
# pooling inside the mixed op; a search space needs at least one op outside this set.
PARAMETER_FREE: set[str] = {"none", "avg_pool_3x3", "max_pool_3x3", "max_pool_5x5", "max_pool_7x7", "skip_connect"}
POOLING = frozenset({"avg_pool_3x3", "max_pool_3x3", "max_pool_5x5", "max_pool_7x7"})


def flat_layers(op: nn.Module) -> list[nn.Module]:
    """The layers an op runs in order, nested ``nn.Sequential`` blocks flattened (SepConv -> 8 layers)."""
    if not isinstance(op, nn.Sequential) or type(op).forward is not nn.Sequential.forward:
        return [op]
    return [layer for child in op for layer in flat_layers(child)]


def register_op(name: str, factory: OpFactory, *, parameter_free: bool = False) -> None:
    """Add an op to the registry so search spaces and genotypes may name it.

    Args:
        name: the op name used in genotypes.
        factory: ``factory(C, stride, affine)`` returning a module mapping C to C channels.
        parameter_free: True for ops without weights (they do not count as a weighted op).
    """
    OPS[name] = factory
    if parameter_free:
        PARAMETER_FREE.add(name)


def build_op(name: str, C: int, stride: int, affine: bool = True) -> nn.Module:
    """Build the named op; unknown names raise ValueError listing the known ones."""
    if name not in OPS:
        raise ValueError(f"unknown op '{name}'; known ops: {', '.join(OPS)}")
    return OPS[name](C, stride, affine)
