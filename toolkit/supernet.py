"""The DARTS supernet: mixed ops on every edge, α per cell type, and discretisation.

DARTS-GAL paper eq. 2 / ME-DARTS paper eq. 1: an edge computes ``sum_o softmax(α)_o * o(x)``; a node
sums its incoming edges over all earlier nodes (eq. 1). Discretisation keeps, per node, the two
incoming edges with the strongest non-'none' op and that op (DARTS section 2.4).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ToolkitError
from .genotype import CellPair, Genotype, default_reductions
from .model import stem
from .ops import POOLING, FactorizedReduce, ReLUConvBN, Zero, build_op, flat_layers
from .space import SearchSpace

PARTIAL_MODES = ("none", "random", "attention")


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


def build_edge(C: int, stride: int, ops: tuple[str, ...], partial: str = "none", k: int = 1) -> nn.Module:
    """One supernet edge: a plain mixed op, or a partial-channel edge (PC-DARTS / ADARTS)."""
    if partial == "none":
        return MixedOp(C, stride, ops)
    if partial not in PARTIAL_MODES:
        raise ToolkitError(f"unknown partial-channel mode '{partial}'; choose one of: {', '.join(PARTIAL_MODES)}")
    from .partial import PartialChannelEdge

    return PartialChannelEdge(C, stride, ops, partial, k)


class SearchCell(nn.Module):
    """A fully connected cell: every intermediate node reads both inputs and all earlier nodes."""

    def __init__(self, space: SearchSpace, C_pp: int, C_p: int, C: int, reduction: bool, reduction_prev: bool,
                 partial: str = "none", k: int = 1):
        super().__init__()
        self.reduction, self.nodes = reduction, space.nodes
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(C_pp, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(C_pp, C, 1, 1, 0, False)
        self.preprocess1 = ReLUConvBN(C_p, C, 1, 1, 0, False)
        self.edges = nn.ModuleList(
            build_edge(C, 2 if reduction and j < 2 else 1, space.ops, partial, k)
            for i in range(space.nodes) for j in range(2 + i)
        )

    def forward(self, s0, s1, weights, edge_weights=None):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.nodes):
            h = 0
            for j, state in enumerate(states):
                e = offset + j
                h = h + self.edges[e](state, weights[e], None if edge_weights is None else edge_weights[e])
            offset += len(states)
            states.append(h)
        return torch.cat(states[2:], dim=1)


def node_softmax(beta: torch.Tensor, nodes: int) -> torch.Tensor:
    """PC-DARTS edge normalisation: softmax of β over each node's incoming edges, concatenated."""
    parts, offset = [], 0
    for i in range(nodes):
        parts.append(F.softmax(beta[offset : offset + 2 + i], dim=-1))
        offset += 2 + i
    return torch.cat(parts)


class Supernet(nn.Module):
    """The searchable network: stem, ``cells`` search cells (DARTS wiring), classifier, and α.

    Args:
        space: candidate ops and intermediate nodes per cell.
        C: initial channels. cells: number of cells L. reductions: 1-based reduction positions
        (default L//3+1, 2L//3+1). partial: 'none' (DARTS), 'random' (PC-DARTS), 'attention'
        (ADARTS); k: channel fraction 1/K for partial modes. edge_norm: PC-DARTS β.

    Example:
        >>> net = Supernet(SearchSpace(), C=4, cells=3, num_classes=10, in_channels=1)
        >>> net.genotype().normal.concat
        (2, 3, 4, 5)
    """

    def __init__(self, space: SearchSpace = SearchSpace(), C: int = 8, cells: int = 5, num_classes: int = 10,
                 in_channels: int = 1, reductions: tuple[int, ...] | None = None, partial: str = "none",
                 k: int = 1, edge_norm: bool = False, stem_multiplier: int = 3, stem_stride: int = 1):
        super().__init__()
        if not 1 <= cells <= 64:
            raise ToolkitError(f"cells must be between 1 and 64, got {cells}")
        if C < 2 or C % 2:
            raise ToolkitError(f"channels must be an even number >= 2, got {C}")
        self.space = space
        self.reductions = default_reductions(cells) if reductions is None else tuple(reductions)
        bad = [r for r in self.reductions if not 1 <= r <= cells]
        if bad:
            raise ToolkitError(f"reduction positions {bad} are outside cells 1..{cells}")
        C_curr = stem_multiplier * C
        self.stem = stem(in_channels, C_curr, stem_stride)
        C_pp, C_p, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for pos in range(1, cells + 1):
            reduction = pos in self.reductions
            if reduction:
                C_curr *= 2
            self.cells.append(SearchCell(space, C_pp, C_p, C_curr, reduction, reduction_prev, partial, k))
            reduction_prev = reduction
            C_pp, C_p = C_p, space.nodes * C_curr
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_p, num_classes)
        shape = (space.edges_per_cell, len(space.ops))
        self.alpha_normal = nn.Parameter(1e-3 * torch.randn(shape))
        self.alpha_reduce = nn.Parameter(1e-3 * torch.randn(shape))
        self.edge_norm = edge_norm
        if edge_norm:
            self.beta_normal = nn.Parameter(1e-3 * torch.randn(shape[0]))
            self.beta_reduce = nn.Parameter(1e-3 * torch.randn(shape[0]))

    def arch_parameters(self) -> list[nn.Parameter]:
        """α (and β with edge normalisation): the upper-level variables of the bilevel problem."""
        return [p for n, p in self.named_parameters() if is_arch_name(n)]

    def weight_parameters(self) -> list[nn.Parameter]:
        """The network weights w: everything that is not α or β."""
        return [p for n, p in self.named_parameters() if not is_arch_name(n)]

    def alpha_weights(self) -> dict[str, torch.Tensor]:
        """softmax(α) per cell type, shape (edges, ops)."""
        return {"normal": F.softmax(self.alpha_normal, dim=-1), "reduce": F.softmax(self.alpha_reduce, dim=-1)}

    def edge_weights(self) -> dict[str, torch.Tensor] | None:
        """Per-node softmax of β per cell type, or None without edge normalisation."""
        if not self.edge_norm:
            return None
        return {"normal": node_softmax(self.beta_normal, self.space.nodes),
                "reduce": node_softmax(self.beta_reduce, self.space.nodes)}

    def forward(self, x):
        weights = self.alpha_weights()
        edge_weights = self.edge_weights()
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            kind = "reduce" if cell.reduction else "normal"
            s0, s1 = s1, cell(s0, s1, weights[kind], edge_weights[kind] if edge_weights else None)
        return self.classifier(self.pool(s1).flatten(1))

    @torch.no_grad()
    def genotype(self) -> CellPair:
        """DARTS discretisation of the current α (and β) into a normal and a reduction cell."""
        weights = self.alpha_weights()
        edge_weights = self.edge_weights() or {}
        return CellPair(*(derive_cell(weights[t], self.space, edge_weights.get(t)) for t in ("normal", "reduce")))


def is_arch_name(name: str) -> bool:
    """True for the names of architecture parameters (α, β)."""
    return name.startswith(("alpha_", "beta_"))


def derive_cell(weights: torch.Tensor, space: SearchSpace, edge_weights: torch.Tensor | None = None,
                edges_per_node: int = 2) -> Genotype:
    """DARTS discretisation: per node keep the ``edges_per_node`` strongest incoming edges.

    An edge's strength is its largest op weight other than 'none' (times its β weight with edge
    normalisation, as PC-DARTS does); the kept edge takes that op. All nodes are concatenated.

    Args:
        weights: softmax(α), shape (edges, ops).
        space: the search space the columns refer to.
        edge_weights: optional per-edge β weights, shape (edges,).
    """
    w = weights.detach().float().cpu()
    if edge_weights is not None:
        w = w * edge_weights.detach().float().cpu()[:, None]
    candidates = [i for i, name in enumerate(space.ops) if name != "none"]
    nodes, offset = [], 0
    for i in range(space.nodes):
        n_in = 2 + i
        block = w[offset : offset + n_in][:, candidates]
        strength, best = block.max(dim=1)
        order = sorted(range(n_in), key=lambda j: (-float(strength[j]), j))[: min(edges_per_node, n_in)]
        nodes.append(tuple((space.ops[candidates[int(best[j])]], j) for j in sorted(order)))
        offset += n_in
    return Genotype(tuple(nodes), tuple(range(2, 2 + space.nodes)))
