"""TS-ENAS two-stage encoding (section III.B, Fig. 2) and random initialisation (Algorithm 3).

Stage one (rough search) writes a network of N cells as N triples ``(a1, a2, a3)``: cell ``j``
(counted from 1) reads state ``a1`` and state ``a2`` (state 0 is the stem, state ``i`` the output
of cell ``i``) and is the known cell with code ``a3`` (:mod:`toolkit.tsenas.cellspace`).
Algorithm 3 fixes ``a1 = j - 1`` (the previous cell) and draws ``a2`` from ``[0, j - 1]``, so the
second input may be any earlier cell. (Section IV.B.1's prose swaps the two names; the structure
is the same: one input is the previous cell, the other is free. Section III.A excludes the
previous cell from the free input; Algorithm 3 line 9 does not, and neither does this code.) In
the toolkit's network description ``a1`` is the cell's ``c_{k-1}`` and ``a2`` its ``c_{k-2}``, so
a DARTS network is the code ``(k-1, k-2, code)`` per cell.

Stage two (fine search) adds each cell's inside: per intermediate node a 4-tuple
``(x_i, x_j, o_i, o_j)``, its two input nodes (0 and 1 the cell inputs, ``n >= 2`` intermediate
node ``n``) and the codes of the ops applied to them (Table I's codes; 0 is no op). The output
node is not written: it adds the nodes no other node reads. Node pruning (Algorithm 4) writes a
deleted node as ``(0, 0, 0, 0)``; an input pair ``(0, 0)`` is an edge that no longer exists (its
source was deleted), written second.

Both codes decode to a :class:`toolkit.genotype.Network`, so the evaluation network, parameter
counts and drawings apply unchanged, and encode back exactly.

Example:
    >>> import random
    >>> from toolkit.tsenas.cellspace import table_ii
    >>> space = table_ii()
    >>> code = random_code(space, 3, 6, random.Random(0))
    >>> RoughCode.encode(code.decode(space), space) == code
    True
    >>> fine = FineCode.from_rough(code, space)
    >>> FineCode.encode(fine.decode(space), space) == fine
    True
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..errors import ToolkitError
from ..genotype import CellSpec, Genotype, Network
from .cellspace import CellSpace

Gene = tuple[int, int, int]
Node = tuple[int, int, int, int]
NO_NODE: Node = (0, 0, 0, 0)


def _ints(values, length: int, what: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise ToolkitError(f"{what} must be {length} integers, got {values!r}") from None
    if len(out) != length or any(v < 0 for v in out):
        raise ToolkitError(f"{what} must be {length} non-negative integers, got {list(out)}")
    return out


@dataclass(frozen=True)
class RoughCode:
    """Stage one: one ``(a1, a2, a3)`` triple per cell (TS-ENAS III.B, Fig. 2 second row).

    Attributes:
        genes: ``genes[j - 1] = (a1, a2, a3)`` for cell ``j``: its two input states (each
            ``0 .. j - 1``) and its cell code.
    """

    genes: tuple[Gene, ...]

    def __post_init__(self):
        genes = tuple(_ints(g, 3, f"cell {j} of the rough code") for j, g in enumerate(self.genes, start=1))
        object.__setattr__(self, "genes", genes)
        if not genes:
            raise ToolkitError("a rough code needs at least one cell")
        for j, (a1, a2, a3) in enumerate(genes, start=1):
            if a1 >= j or a2 >= j:
                raise ToolkitError(f"cell {j} reads state {max(a1, a2)}; it may read 0 (stem) .. {j - 1}")
            if a3 < 1:
                raise ToolkitError(f"cell {j} has cell code {a3}; codes start at 1")

    def __len__(self) -> int:
        """N, the number of cells."""
        return len(self.genes)

    def reductions(self, space: CellSpace) -> int:
        """How many cells are reduction cells."""
        return sum(space.cell(a3).reduction for _, _, a3 in self.genes)

    def decode(self, space: CellSpace) -> Network:
        """The network description: cell ``j`` is known cell ``a3`` reading ``c_{k-2} = a2``, ``c_{k-1} = a1``."""
        cells = []
        for a1, a2, a3 in self.genes:
            known = space.cell(a3)
            cells.append(CellSpec(known.genotype, known.reduction, (a2, a1)))
        return Network(tuple(cells))

    @classmethod
    def encode(cls, network: Network, space: CellSpace) -> RoughCode:
        """The stage-one code of a network whose every cell is a known cell of ``space``."""
        return cls(tuple((c.inputs[1], c.inputs[0], space.code_of(c.genotype, c.reduction)) for c in network.cells))

    def to_list(self) -> list[list[int]]:
        return [list(g) for g in self.genes]

    @classmethod
    def from_list(cls, genes) -> RoughCode:
        try:
            return cls(tuple(genes))
        except TypeError:
            raise ToolkitError(f"a rough code is a list of [a1, a2, a3] triples, got {genes!r}") from None


def random_code(space: CellSpace, n_min: int, n_max: int, rng: random.Random) -> RoughCode:
    """One individual of Algorithm 3.

    Line 3 draws N from ``[n_min, n_max]``; for cell ``j`` line 8 sets ``a1 = j - 1`` and line 9
    draws ``a2`` from ``[0, j - 1]``; lines 10-17 draw ``a3`` from the whole space while reduction
    cells stay fewer than half of N (the counter ``k``), and from the normal cells otherwise.
    Algorithm 3 tests ``k < N/2`` *before* drawing, which can still reach ``ceil(N/2)`` reductions;
    the text's rule ("the number of Reduction cells ... is smaller than the number of Normal cells")
    is kept exactly here: a reduction cell is drawn only while one more keeps ``2 * (k + 1) < N``.

    Args:
        space: the cell space (codes drawn uniformly from it).
        n_min, n_max: bounds on N, the number of cells (both included).
        rng: the only source of randomness.
    """
    check_depth(n_min, n_max)
    n = rng.randint(n_min, n_max)
    every, normal = range(1, len(space.cells) + 1), space.normal_codes
    genes, k = [], 0
    for j in range(1, n + 1):
        a1, a2 = j - 1, rng.randint(0, j - 1)
        a3 = rng.choice(every if 2 * (k + 1) < n else normal)
        k += space.cell(a3).reduction
        genes.append((a1, a2, a3))
    return RoughCode(tuple(genes))


def initial_population(space: CellSpace, size: int, n_min: int, n_max: int, rng: random.Random) -> list[RoughCode]:
    """Algorithm 3: ``size`` random individuals (:func:`random_code`)."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ToolkitError(f"population size must be a positive integer, got {size!r}")
    return [random_code(space, n_min, n_max, rng) for _ in range(size)]


def check_depth(n_min: int, n_max: int) -> None:
    """N_min and N_max must be integers with ``1 <= n_min <= n_max``."""
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (n_min, n_max)) or not 1 <= n_min <= n_max:
        raise ToolkitError(f"cell counts need 1 <= N_min <= N_max (integers), got N_min={n_min!r}, N_max={n_max!r}")


@dataclass(frozen=True)
class FineCell:
    """Stage two, one cell: its inputs ``(a1, a2)``, its type and one 4-tuple per intermediate node.

    ``nodes[s]`` is ``(x_i, x_j, o_i, o_j)`` for node ``s + 2``. The value is kept canonical: a
    node's missing edge ``(0, 0)`` is written second, deleted nodes after the last live one are
    dropped, and no live node reads a deleted one.
    """

    inputs: tuple[int, int]
    reduction: bool
    nodes: tuple[Node, ...]

    def __post_init__(self):
        object.__setattr__(self, "inputs", _ints(self.inputs, 2, "cell inputs (a1, a2)"))
        object.__setattr__(self, "reduction", bool(self.reduction))
        nodes = [_canonical(_ints(n, 4, f"node {s + 2}"), s) for s, n in enumerate(self.nodes)]
        while nodes and nodes[-1] == NO_NODE:
            nodes.pop()
        if not nodes:
            raise ToolkitError("a cell needs at least one intermediate node that is not deleted")
        for s, (xi, xj, oi, oj) in enumerate(nodes):
            for x, o in ((xi, oi), (xj, oj)):
                if o and x >= 2 and nodes[x - 2] == NO_NODE:
                    raise ToolkitError(f"node {s + 2} reads node {x}, which is deleted")
        object.__setattr__(self, "nodes", tuple(nodes))

    @property
    def live(self) -> tuple[int, ...]:
        """Slots (node number - 2) of the nodes that are not deleted."""
        return tuple(s for s, n in enumerate(self.nodes) if n != NO_NODE)

    def genotype(self, space: CellSpace) -> Genotype:
        """The cell as a genotype: live nodes keep their numbers; the output adds the loose ends."""
        live = self.live
        position = {0: 0, 1: 1, **{s + 2: p + 2 for p, s in enumerate(live)}}
        nodes = tuple(tuple((space.op_name(o), position[x]) for x, o in ((n[0], n[2]), (n[1], n[3])) if o)
                      for n in (self.nodes[s] for s in live))
        read = {src for node in nodes for _, src in node}
        loose = tuple(p for p in range(2, len(nodes) + 2) if p not in read)
        return Genotype(nodes, loose, tuple(s + 2 for s in live), "add")

    @classmethod
    def encode(cls, spec: CellSpec, space: CellSpace) -> FineCell:
        """The stage-two code of one cell of a network description."""
        g = spec.genotype
        if g.output != "add":
            raise ToolkitError(f"stage-two codes describe cells that add their loose ends; '{g}' concatenates "
                               "(convert it with Genotype.with_add_output())")
        nodes = [NO_NODE] * (max(g.node_ids) - 1)
        for number, node in zip(g.node_ids, g.nodes):
            if len(node) > 2:
                raise ToolkitError(f"node {number} of '{g}' has {len(node)} inputs; a 4-tuple holds two")
            pairs = [(g.label(src), space.op_code(op)) for op, src in node] + [(0, 0)] * (2 - len(node))
            nodes[number - 2] = (pairs[0][0], pairs[1][0], pairs[0][1], pairs[1][1])
        return cls((spec.inputs[1], spec.inputs[0]), spec.reduction, tuple(nodes))


def _canonical(node: Node, s: int) -> Node:
    """Check node ``s + 2``'s 4-tuple and write a missing edge second."""
    xi, xj, oi, oj = node
    for x, o in ((xi, oi), (xj, oj)):
        if not o and x:
            raise ToolkitError(f"node {s + 2} has an edge from node {x} with op code 0; a missing edge is (0, 0)")
        if x >= s + 2:
            raise ToolkitError(f"node {s + 2} reads node {x}; it may read 0 .. {s + 1}")
    if oi or not oj:
        return node
    return (xj, xi, oj, oi)


@dataclass(frozen=True)
class FineCode:
    """Stage two: the rough code's connections plus every cell's inside (TS-ENAS III.B, Fig. 2 bottom)."""

    cells: tuple[FineCell, ...]

    def __post_init__(self):
        object.__setattr__(self, "cells", tuple(self.cells))
        if not self.cells:
            raise ToolkitError("a fine code needs at least one cell")
        for j, cell in enumerate(self.cells, start=1):
            if max(cell.inputs) >= j:
                raise ToolkitError(f"cell {j} reads state {max(cell.inputs)}; it may read 0 (stem) .. {j - 1}")

    def __len__(self) -> int:
        return len(self.cells)

    def decode(self, space: CellSpace) -> Network:
        return Network(tuple(CellSpec(c.genotype(space), c.reduction, (c.inputs[1], c.inputs[0])) for c in self.cells))

    @classmethod
    def encode(cls, network: Network, space: CellSpace) -> FineCode:
        return cls(tuple(FineCell.encode(c, space) for c in network.cells))

    @classmethod
    def from_rough(cls, code: RoughCode, space: CellSpace) -> FineCode:
        """Algorithm 4 line 1: the second layer of encoding of a rough-stage individual."""
        return cls.encode(code.decode(space), space)

    def to_list(self) -> list[dict]:
        return [{"inputs": list(c.inputs), "type": "reduce" if c.reduction else "normal",
                 "nodes": [list(n) for n in c.nodes]} for c in self.cells]

    @classmethod
    def from_list(cls, cells) -> FineCode:
        try:
            bad = [c["type"] for c in cells if c["type"] not in ("normal", "reduce")]
            if bad:
                raise ToolkitError(f"cell type must be 'normal' or 'reduce', got {bad[0]!r}")
            return cls(tuple(FineCell(c["inputs"], c["type"] == "reduce", tuple(c["nodes"])) for c in cells))
        except (KeyError, TypeError) as e:
            raise ToolkitError(f"not a fine code: missing or bad field {e}") from None
