"""Search spaces: which ops a supernet mixes, how many intermediate nodes a cell has, and the α layout.

The space owns the edge layout every part of the toolkit shares: row ``r`` of a cell type's α (and
entry ``r`` of β) belongs to the supernet edge ``space.edges[r] = (node, input)``, in the DARTS
numbering of :mod:`toolkit.genotype` (0 = c_{k-2}, 1 = c_{k-1}, intermediate nodes 2, 3, ...).
Node ``n`` reads inputs ``0 .. n-1`` and its rows are ``space.node_rows(n)``; :func:`derive_cell`
is the one discretisation of α (and β) into a cell genotype.

Example:
    >>> space = SearchSpace(nodes=2)
    >>> space.edges
    ((2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
    >>> space.edge_index(3, 1), space.node_rows(3)
    (3, range(2, 5))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import ToolkitError
from .genotype import Genotype
from .ops import OPS, PARAMETER_FREE

DARTS_OPS = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)

# TS-ENAS paper Table I, in its code order 1..13, written with the registry's (DARTS) names:
# identity -> skip_connect, 1x3-3x1, 1x7-7x1, dil3x3, avg3x3, max3x3, max5x5, max7x7, conv1,
# conv3, sep3x3, sep5x5, sep7x7.
TS_ENAS_OPS = (
    "skip_connect",
    "conv_1x3_3x1",
    "conv_7x1_1x7",
    "dil_conv_3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
    "conv_1x1",
    "conv_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
)

SPACE_PRESETS = {"darts": DARTS_OPS, "ts_enas": TS_ENAS_OPS}

MAX_NODES = 8


@dataclass(frozen=True)
class SearchSpace:
    """The ordered candidate ops of every supernet edge and the intermediate nodes per cell.

    Attributes:
        ops: op names in the order of the columns of α.
        nodes: intermediate nodes per cell (DARTS uses 4).

    Example:
        >>> SearchSpace.preset("darts").without("dil_conv_5x5").ops[-1]
        'dil_conv_3x3'
    """

    ops: tuple[str, ...] = DARTS_OPS
    nodes: int = 4

    def __post_init__(self):
        object.__setattr__(self, "ops", tuple(self.ops))
        unknown = [o for o in self.ops if o not in OPS]
        if unknown:
            raise ToolkitError(f"unknown op(s) {', '.join(unknown)}; known ops: {', '.join(OPS)}")
        if len(set(self.ops)) != len(self.ops):
            raise ToolkitError(f"search space lists an op twice: {', '.join(self.ops)}")
        if not any(o not in PARAMETER_FREE for o in self.ops):
            raise ToolkitError("a search space needs at least one op with weights (e.g. sep_conv_3x3)")
        if not 1 <= self.nodes <= MAX_NODES:
            raise ToolkitError(f"nodes per cell must be between 1 and {MAX_NODES}, got {self.nodes}")

    @classmethod
    def preset(cls, name: str, nodes: int = 4) -> SearchSpace:
        """A named space: 'darts' (8 ops) or 'ts_enas' (13 ops, TS-ENAS paper Table I)."""
        if name not in SPACE_PRESETS:
            raise ToolkitError(f"unknown search space '{name}'; choose one of: {', '.join(SPACE_PRESETS)}")
        return cls(SPACE_PRESETS[name], nodes)

    def without(self, *names: str) -> SearchSpace:
        """The same space with some ops disabled."""
        return SearchSpace(tuple(o for o in self.ops if o not in names), self.nodes)

    @property
    def node_ids(self) -> range:
        """The intermediate nodes of a search cell in DARTS numbering: ``2 .. nodes + 1``."""
        return range(2, 2 + self.nodes)

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """Every supernet edge as ``(node, input)``, in the order of the rows of α and of β."""
        return tuple((node, src) for node in self.node_ids for src in range(node))

    @property
    def edges_per_cell(self) -> int:
        """Edges of a fully connected search cell: node ``n`` reads the 2 inputs and the nodes before it."""
        return self.nodes * (self.nodes + 3) // 2

    def node_rows(self, node: int) -> range:
        """The rows of α (entries of β) of the edges into ``node`` (DARTS numbering, 2 .. nodes + 1)."""
        if node not in self.node_ids:
            raise ToolkitError(f"node {node} is not an intermediate node of a {self.nodes}-node cell "
                               f"(nodes {self.node_ids.start}..{self.node_ids.stop - 1})")
        start = (node - 2) * (node + 1) // 2  # nodes 2 .. node-1 read 2, 3, ..., node-1 inputs
        return range(start, start + node)

    def edge_index(self, node: int, src: int) -> int:
        """The row of α of the edge ``src -> node`` (DARTS numbering: ``(2, 0)`` is row 0)."""
        rows = self.node_rows(node)
        if not 0 <= src < node:
            raise ToolkitError(f"node {node} reads inputs 0..{node - 1}, not {src}")
        return rows[src]

    def to_dict(self) -> dict:
        return {"ops": list(self.ops), "nodes": self.nodes}

    @classmethod
    def from_dict(cls, d: dict) -> SearchSpace:
        return cls(tuple(d["ops"]), int(d["nodes"]))


def _matrix(values, rows: int, cols: int, what: str) -> torch.Tensor:
    """``values`` (tensor or nested lists) as a float tensor on the CPU, checked to be ``rows x cols``."""
    t = values.detach() if isinstance(values, torch.Tensor) else torch.as_tensor(values, dtype=torch.float32)
    t = t.float().cpu()
    if tuple(t.shape) != ((rows, cols) if cols else (rows,)):
        shape = "x".join(map(str, t.shape)) or "scalar"
        need = f"{rows}x{cols}" if cols else f"{rows}"
        raise ToolkitError(f"{what} has shape {shape}, but this search space needs {need}")
    return t


def edge_choices(weights, space: SearchSpace, edge_weights=None) -> list[tuple[str, float]]:
    """Per supernet edge (row of α): its strongest op other than 'none' and that edge's strength.

    The strength is the op's softmax(α) weight, times the edge's β weight with PC-DARTS edge
    normalisation (β scales every op of the edge alike, so it changes which edges win, never
    which op). Ties go to the op listed first.

    Args:
        weights: softmax(α) of one cell type, shape (edges, ops), a tensor or nested lists.
        space: the search space whose ops index the columns and whose edges index the rows.
        edge_weights: optional per-edge β weights (the per-node softmax), shape (edges,).
    """
    w = _matrix(weights, space.edges_per_cell, len(space.ops), f"α of a {space.nodes}-node cell over "
                f"{len(space.ops)} ops")
    if edge_weights is not None:
        w = w * _matrix(edge_weights, space.edges_per_cell, 0, "β")[:, None]
    candidates = [j for j, name in enumerate(space.ops) if name != "none"]
    rows = w[:, candidates].tolist()
    best = [max(range(len(candidates)), key=row.__getitem__) for row in rows]  # max keeps the first of ties
    return [(space.ops[candidates[b]], float(row[b])) for b, row in zip(best, rows, strict=True)]


def derive_cell(weights, space: SearchSpace, edge_weights=None, edges_per_node: int = 2) -> Genotype:
    """The DARTS discretisation of α (and β): the one place the toolkit turns weights into a cell.

    DARTS (Liu, Simonyan, Yang, arXiv:1806.09055) section 2.4: every intermediate node keeps the
    ``edges_per_node`` (2) strongest incoming edges from all previous nodes, strength being the
    largest non-zero ('none' excluded) op weight of the edge, and each kept edge takes that op.
    With edge normalisation (PC-DARTS, Xu et al., arXiv:1907.05737, section 3.3) an edge's strength
    is multiplied by its β weight. Equal strengths go to the lower input. All intermediate nodes are
    concatenated into the cell output.

    Args:
        weights: softmax(α) of one cell type, shape (edges, ops), a tensor or nested lists.
        space: the search space the rows and columns refer to.
        edge_weights: optional per-edge β weights, shape (edges,).
        edges_per_node: incoming edges kept per node.

    Raises:
        ToolkitError: ``weights`` or ``edge_weights`` do not have the space's shape.
    """
    choices = edge_choices(weights, space, edge_weights)
    nodes = []
    for node in space.node_ids:
        rows = space.node_rows(node)
        kept = sorted(range(node), key=lambda src: (-choices[rows[src]][1], src))[:edges_per_node]
        nodes.append(tuple((choices[rows[src]][0], src) for src in sorted(kept)))
    return Genotype(tuple(nodes), tuple(space.node_ids))


def node_softmax(beta: torch.Tensor, space: SearchSpace) -> torch.Tensor:
    """PC-DARTS edge normalisation: softmax of β over each node's incoming edges, concatenated."""
    return torch.cat([torch.softmax(beta[rows.start : rows.stop], dim=-1)
                      for rows in map(space.node_rows, space.node_ids)])
