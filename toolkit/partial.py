"""Partial channel connections on a supernet edge: PC-DARTS (random) and ADARTS (attention).

Only ``C/K`` of an edge's ``C`` input channels go through the mixed op; the others bypass it and
are concatenated with the op's output (ADARTS paper III.D). This divides the op activations an edge
keeps for backward by about K.

- ``random`` (PC-DARTS, Xu et al. 2020): the first ``C/K`` channels enter the mixed op, the rest
  bypass; the concatenation is then channel-shuffled with K groups, so the channels that enter the
  next edge's op are a different share of the features.
- ``attention`` (ADARTS, ADARTS paper III.B-D): a channel attention ``F_c`` (eq. 7) re-weights the
  input, ``F' = F_c * F`` (eq. 8); the ``C/K`` channels with the highest attention enter the mixed
  op (mask ``M``, eq. 9 / Algorithm 2) and the others bypass it; the output is put back in the
  original channel order (eq. 10 / Algorithm 3).

On stride-2 edges the bypassed channels are halved in size with a 2x2 max pooling (as PC-DARTS
does), with ``ceil_mode`` so that odd sizes round up like the ops do (7x7 -> 4x4).

Example:
    >>> edge = PartialChannelEdge(8, 1, ("skip_connect", "sep_conv_3x3"), "attention", k=4)
    >>> edge(torch.randn(2, 8, 6, 6), torch.tensor([0.5, 0.5])).shape
    torch.Size([2, 8, 6, 6])
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .edges import EdgeFactory, MixedOp
from .errors import ToolkitError

PARTIAL_CHANNEL_MODES = ("random", "attention")


def partial_edge(mode: str, k: int) -> EdgeFactory:
    """The edge factory of a partial-channel supernet: ``mode`` 'random' (PC-DARTS) or 'attention' (ADARTS).

    Example:
        >>> net = Supernet(SearchSpace(), C=8, cells=3, edge=partial_edge("random", 4))  # doctest: +SKIP
    """
    if mode not in PARTIAL_CHANNEL_MODES:
        raise ToolkitError(f"unknown partial-channel mode '{mode}'; choose one of: {', '.join(PARTIAL_CHANNEL_MODES)}")
    return functools.partial(PartialChannelEdge, mode=mode, k=k)  # a partial, not a closure: it pickles


def check_channel_fraction(C: int, k: int) -> None:
    """Raise ToolkitError unless K is a positive integer that divides the edge's C channels."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ToolkitError(f"K must be a positive integer (1, 2, 4, 8 or 16), got {k!r}")
    if C % k:
        raise ToolkitError(f"K={k} does not divide an edge's {C} channels; choose channels that are a multiple of {k}")


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet channel shuffle as PC-DARTS uses it: (g, C/g) channel grid transposed.

    Channel ``g * (C/g) + j`` moves to position ``j * g + g_index``; with ``groups=1`` it is the identity.
    """
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def downsample_bypass(x: torch.Tensor, stride: int) -> torch.Tensor:
    """Bring bypassed channels to the ops' output size: 2x2 max pooling on stride-2 edges (PC-DARTS).

    ``ceil_mode`` rounds odd sizes up (7 -> 4), matching the ops' ``ceil(H / 2)``.
    """
    if stride == 1:
        return x
    return F.max_pool2d(x, 2, 2, ceil_mode=True)


class ChannelAttention(nn.Module):
    """ADARTS channel attention, eq. 7 / Algorithm 1 lines 2-6.

    ``F_c = sigmoid(MLP(avgpool(F)) + MLP(maxpool(F)))`` with one MLP ``C -> hidden -> C`` shared by
    both pooled vectors. The paper writes the MLP as ``w2(w1(f))`` (weights only, no biases); a ReLU
    sits between the layers as in the channel attention it cites ([27], CBAM), without it the MLP
    would collapse to one linear map.

    Args:
        C: channels of the edge input. hidden: hidden units (ADARTS: C/K).
    """

    def __init__(self, C: int, hidden: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(C, hidden, bias=False), nn.ReLU(), nn.Linear(hidden, C, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights ``F_c`` in (0, 1), shape (N, C)."""
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))])  # f_ap and f_mp in one MLP pass
        f_ap, f_mp = self.mlp(pooled).chunk(2)
        return torch.sigmoid(f_ap + f_mp)


def select_channels(attention: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel selection, eq. 9 / Algorithm 2: the ``count`` channels with the highest attention.

    One mask per edge (``M^(i,j)`` in eq. 9): the attention is averaged over the batch, so every
    sample sends the same channels into the op and the op's convolutions and batch norm always see
    the same input channel at the same position. Ties go to the lower channel index.

    Args:
        attention: ``F_c``, shape (N, C) or (C,).
        count: channels to select (C/K).

    Returns:
        (selected, bypassed) channel indices, each in ascending channel order.
    """
    score = attention.detach().float()
    score = score.mean(0) if score.dim() == 2 else score
    order = torch.argsort(score, descending=True, stable=True)
    return order[:count].sort().values, order[count:].sort().values


class PartialChannelEdge(nn.Module):
    """A supernet edge where only ``C/K`` channels enter the mixed op (PC-DARTS / ADARTS).

    Which features enter and bypass in ``attention`` mode: the attention-weighted ``F'`` for both.
    Algorithm 3 takes ``F'`` as input and sends ``F'_k`` into the op space or past it, and section
    III.A says the re-weighted channels "are sent into the operation space ... while the other
    channels are directly contacted with the output". Eq. 10's ``x_i`` is read as that ``F'``. This
    is also what lets the attention MLP learn: its only gradient path is through ``F'`` (the top-k
    choice itself is not differentiable).

    Args:
        C: channels of the edge input and output.
        stride: 1, or 2 on the reduction cell's edges from the cell inputs.
        ops: candidate op names (the columns of α).
        mode: 'random' (PC-DARTS) or 'attention' (ADARTS).
        k: the channel fraction 1/K; must divide ``C``. K=1 sends every channel through the op
            (in 'random' mode this is exactly the plain DARTS edge).

    Attributes:
        mixed: the ``MixedOp`` over ``C/K`` channels.
        attention: the :class:`ChannelAttention` (None in 'random' mode); its parameters are network
            weights, trained with w.
        last_attention: ``F_c`` of the latest forward (N, C), detached; None before the first
            forward or in 'random' mode.
        last_selected: channel indices that entered the op in the latest forward (ascending).
    """

    def __init__(self, C: int, stride: int, ops: tuple[str, ...], mode: str = "random", k: int = 4):
        super().__init__()
        if mode not in PARTIAL_CHANNEL_MODES:
            raise ToolkitError(f"unknown partial-channel mode '{mode}'; choose one of: "
                               f"{', '.join(PARTIAL_CHANNEL_MODES)}")
        check_channel_fraction(C, k)
        self.C, self.stride, self.mode, self.k = C, stride, mode, k
        self.op_channels = C // k
        self.mixed = MixedOp(self.op_channels, stride, ops)
        self.attention = ChannelAttention(C, self.op_channels) if mode == "attention" else None
        self.last_attention: torch.Tensor | None = None
        self.last_selected: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, weights: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        """Edge output for input ``x`` (N, C, H, W) and the edge's softmax(α) ``weights``.

        ``scale``: PC-DARTS' edge weight β, which multiplies the whole edge output (op part and
        bypass). It is applied to the op weights and the bypassed channels, so autograd keeps no
        copy of the edge output for β's gradient.
        """
        mixed, op_input, weights, scale, finish = self.split(x, weights, scale)
        out = mixed(op_input, weights, scale)
        return out if finish is None else finish(out)

    def split(self, x, weights, scale=None):
        """(mixed op, its input, weights, scale, finish): ``finish(out)`` turns the op's output into
        the edge's. :func:`toolkit.edges.run_edges` uses it to run several edges' ops as one."""
        if self.attention is None:
            return self._random(x, weights, scale)
        return self._attention(x, weights, scale)

    def _random(self, x, weights, scale):
        """PC-DARTS: first C/K channels through the op, the rest bypass, then channel shuffle."""
        self.last_selected = torch.arange(self.op_channels, device=x.device)
        if self.k == 1:
            return self.mixed, x, weights, scale, None

        def finish(out):
            bypass = downsample_bypass(x[:, self.op_channels :], self.stride)
            bypass = bypass if scale is None else bypass * scale
            return channel_shuffle(torch.cat([out, bypass], dim=1), self.k)

        return self.mixed, x[:, : self.op_channels], weights, scale, finish

    def _attention(self, x, weights, scale):
        """ADARTS: eq. 7-8 attention, eq. 9 selection, eq. 10 / Algorithm 3 reassembly."""
        attention = self.attention(x)  # F_c, eq. 7
        weighted = x * attention[:, :, None, None]  # F' = F_c * F, eq. 8
        selected, bypassed = select_channels(attention, self.op_channels)  # M, eq. 9
        self.last_attention, self.last_selected = attention.detach(), selected
        if self.k == 1:  # every channel enters, in order: no copy needed
            return self.mixed, weighted, weights, scale, None
        bypass = weighted
        if scale is not None:  # β F' = F (β F_c): the product keeps x, which is kept anyway, not a new tensor
            bypass = x * (scale * attention)[:, :, None, None]
        bypass = downsample_bypass(bypass.index_select(1, bypassed), self.stride)  # line 7
        position = torch.cat([selected, bypassed]).argsort()  # line 11: back to the original order

        def finish(out):
            return torch.cat([out, bypass], dim=1).index_select(1, position)

        return self.mixed, weighted.index_select(1, selected), weights, scale, finish  # Algorithm 3 line 5

    def extra_repr(self) -> str:
        return f"C={self.C}, stride={self.stride}, mode={self.mode}, k={self.k}"
