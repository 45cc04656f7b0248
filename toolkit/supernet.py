"""The DARTS supernet: an edge on every (node, input) pair, α per cell type, and discretisation.

DARTS-GAL paper eq. 2 / ME-DARTS paper eq. 1: an edge computes ``sum_o softmax(α)_o * o(x)``; a node
sums its incoming edges over all earlier nodes (eq. 1). What an edge is comes from the edge factory
the supernet is given (:mod:`toolkit.edges`: the plain mixed op, or the partial-channel edges of
:mod:`toolkit.partial`). The rows of α follow the search space's edge layout
(:attr:`SearchSpace.edges`); discretisation is :func:`toolkit.space.derive_cell` (DARTS section 2.4).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .edges import EdgeFactory, MixedOp, mixed_edge, run_edges
from .errors import ToolkitError
from .genotype import CellPair, default_reductions
from .model import stem
from .ops import FactorizedReduce, ReLUConvBN
from .space import SearchSpace, derive_cell, node_softmax

__all__ = ["MixedOp", "SearchCell", "Supernet", "derive_cell", "is_arch_name", "node_softmax"]

class SearchCell(nn.Module):
    """A fully connected cell: every intermediate node reads both inputs and all earlier nodes."""

    def __init__(self, space: SearchSpace, C_pp: int, C_p: int, C: int, reduction: bool, reduction_prev: bool,
                 edge: EdgeFactory = mixed_edge):
        super().__init__()
        self.reduction, self.nodes = reduction, space.nodes
        self.node_rows = [space.node_rows(node) for node in space.node_ids]  # node n reads states 0..n-1
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(C_pp, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(C_pp, C, 1, 1, 0, False)
        self.preprocess1 = ReLUConvBN(C_p, C, 1, 1, 0, False)
        self.edges = nn.ModuleList(edge(C, 2 if reduction and src < 2 else 1, space.ops) for _, src in space.edges)
        # (edge, source) pairs that become ready together: those from the inputs, then from each node
        sources = [src for _, src in space.edges]
        self._ready = [[(e, s) for e, s in enumerate(sources) if s < 2]]
        self._ready += [[(e, s) for e, s in enumerate(sources) if s == n + 2] for n in range(len(self.node_rows) - 1)]

    def forward(self, s0, s1, weights, edge_weights=None):
        """Eq. 1: node ``n`` sums its edges from states ``0..n-1``.

        Edges are run as soon as their input state exists, all ready edges together
        (:func:`toolkit.edges.run_edges` fuses their mixed ops): first the edges from the two cell
        inputs, then those from each new node.
        """
        if s0.device.type == "cpu" and isinstance(self.preprocess0, FactorizedReduce):
            s0 = s0.contiguous()  # the default layout: see toolkit.edges.run_mixed on channels-last 1x1 convs
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        outputs = {}
        for rows, ready in zip(self.node_rows, self._ready):
            results = run_edges([self.edges[e] for e, _ in ready], [states[src] for _, src in ready],
                                [weights[e] for e, _ in ready],
                                [None if edge_weights is None else edge_weights[e] for e, _ in ready])
            outputs.update(zip((e for e, _ in ready), results))
            states.append(sum((outputs.pop(e) for e in rows[1:]), outputs.pop(rows[0])))  # in input order
        return torch.cat(states[2:], dim=1)


class Supernet(nn.Module):
    """The searchable network: stem, ``cells`` search cells (DARTS wiring), classifier, and α.

    Args:
        space: candidate ops and intermediate nodes per cell.
        C: initial channels. cells: number of cells L. reductions: 1-based reduction positions
        (default L//3+1, 2L//3+1). edge: the edge factory (:func:`toolkit.edges.mixed_edge` for
        DARTS; :func:`toolkit.partial.partial_edge` for PC-DARTS and ADARTS; the method registry
        gives each method's, :meth:`toolkit.methods.Method.edge_factory`). edge_norm: PC-DARTS β.

    Example:
        >>> net = Supernet(SearchSpace(), C=4, cells=3, num_classes=10, in_channels=1)
        >>> net.genotype().normal.concat
        (2, 3, 4, 5)
    """

    def __init__(self, space: SearchSpace = SearchSpace(), C: int = 8, cells: int = 5, num_classes: int = 10,
                 in_channels: int = 1, reductions: tuple[int, ...] | None = None, edge: EdgeFactory = mixed_edge,
                 edge_norm: bool = False, stem_multiplier: int = 3, stem_stride: int = 1):
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
            self.cells.append(SearchCell(space, C_pp, C_p, C_curr, reduction, reduction_prev, edge))
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
        return {"normal": node_softmax(self.beta_normal, self.space),
                "reduce": node_softmax(self.beta_reduce, self.space)}

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
