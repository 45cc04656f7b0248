"""Search spaces: which ops a supernet mixes and how many intermediate nodes a cell has."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ToolkitError
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

PRESETS = {"darts": DARTS_OPS, "ts_enas": TS_ENAS_OPS}

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
        if name not in PRESETS:
            raise ToolkitError(f"unknown search space '{name}'; choose one of: {', '.join(PRESETS)}")
        return cls(PRESETS[name], nodes)

    def without(self, *names: str) -> SearchSpace:
        """The same space with some ops disabled."""
        return SearchSpace(tuple(o for o in self.ops if o not in names), self.nodes)

    @property
    def edges_per_cell(self) -> int:
        """Edges of a fully connected search cell: node i reads the 2 inputs and i earlier nodes."""
        return sum(2 + i for i in range(self.nodes))

    def to_dict(self) -> dict:
        return {"ops": list(self.ops), "nodes": self.nodes}

    @classmethod
    def from_dict(cls, d: dict) -> SearchSpace:
        return cls(tuple(d["ops"]), int(d["nodes"]))
