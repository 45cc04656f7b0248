"""TS-ENAS variation operators (Fig. 3): rough stage (Algorithm 2) and fine stage (Algorithm 4).

Rough stage, on :class:`~toolkit.tsenas.encoding.RoughCode` (section IV.B.3):

* :func:`crossover` (Algorithm 2 line 10, Fig. 3a): multi-point crossover that keeps every cell's
  type; the parent with fewer cells is the reference.
* :func:`cell_mutation` (line 14, Fig. 3b): replace cells by other known cells of the same type.
* :func:`connection_mutation` (line 16, Fig. 3b): give cells another free input.

Fine stage, on :class:`~toolkit.tsenas.encoding.FineCode` (section IV.C, Fig. 3c-d):

* :func:`fine_mutation` (Algorithm 4 line 5): every cell gets, with equal probability, an
  :func:`edge_mutation` (another op on one edge) or a :func:`node_input_mutation` (another input
  node for one edge).
* :func:`node_pruning` (line 6): delete one node of one cell; its inputs and ops become 0.

Every operator returns new values and leaves its arguments unchanged. Randomness comes only from
the ``rng`` argument (a ``random.Random``), so a seeded generator reproduces a run. Whether an
operator is applied at all (crossover rate γ, mutation rate β of Algorithm 2) is the caller's draw.

A crossover, rough mutation or fine mutation never changes a cell's type, the number of cells or
the number of reduction cells, so a population keeps Algorithm 3's rule (fewer reduction cells
than normal ones) and its range of N.
"""

from __future__ import annotations

import random

from ..errors import ToolkitError
from ..space import TS_ENAS_OPS
from .cellspace import CellSpace
from .encoding import NO_NODE, FineCell, FineCode, RoughCode


def _choose_points(rng: random.Random, candidates: list, points: int | None) -> list:
    """``points`` candidates (default: a random number from 1 to all of them), drawn without repeats."""
    if points is not None and (not isinstance(points, int) or points < 1):
        raise ToolkitError(f"points must be a positive integer or None, got {points!r}")
    if not candidates:
        return []
    k = rng.randint(1, len(candidates)) if points is None else min(points, len(candidates))
    return sorted(rng.sample(candidates, k))


def matched_cells(p1: RoughCode, p2: RoughCode, space: CellSpace) -> list[tuple[int, int]]:
    """The cells crossover may exchange, as ``(index in p1, index in p2)`` (0-based).

    The shorter parent is the reference: its i-th normal cell meets the other's i-th normal cell
    and its i-th reduction cell the other's i-th reduction cell; a reference cell whose type has
    run out in the other parent is skipped (TS-ENAS IV.B.3).
    """
    def of_type(code, reduction):
        return [j for j, (_, _, a3) in enumerate(code.genes) if space.cell(a3).reduction == reduction]

    flip = len(p2) < len(p1)
    ref, other = (p2, p1) if flip else (p1, p2)
    pairs = [pair for reduction in (False, True) for pair in zip(of_type(ref, reduction), of_type(other, reduction))]
    return sorted((b, a) if flip else (a, b) for a, b in pairs)


def crossover(p1: RoughCode, p2: RoughCode, space: CellSpace, rng: random.Random,
              points: int | None = None) -> tuple[RoughCode, RoughCode]:
    """Multi-point, type-preserving crossover (Algorithm 2 line 10; Fig. 3a).

    At ``points`` of the :func:`matched_cells` (default: a random number of them) the two
    children exchange cell codes ``a3``: a normal cell only ever meets a normal cell, a reduction
    cell a reduction cell. The connections ``a1, a2`` stay with their position: they name states of
    their own network, which the other parent may not have.

    Returns:
        ``(q1, q2)``: ``q1`` has ``p1``'s length and wiring, ``q2`` ``p2``'s.
    """
    genes1, genes2 = [list(g) for g in p1.genes], [list(g) for g in p2.genes]
    for i, j in _choose_points(rng, matched_cells(p1, p2, space), points):
        genes1[i][2], genes2[j][2] = genes2[j][2], genes1[i][2]
    return RoughCode(tuple(map(tuple, genes1))), RoughCode(tuple(map(tuple, genes2)))


def cell_mutation(p: RoughCode, space: CellSpace, rng: random.Random, points: int | None = None) -> RoughCode:
    """Replace the cells at random mutation points by other known cells of the same type (Fig. 3b).

    Only cells whose type has another code in the space can mutate.
    """
    def same_type(a3):
        return space.reduce_codes if space.cell(a3).reduction else space.normal_codes

    genes = [list(g) for g in p.genes]
    candidates = [j for j, (_, _, a3) in enumerate(p.genes) if len(same_type(a3)) > 1]
    for j in _choose_points(rng, candidates, points):
        genes[j][2] = rng.choice([c for c in same_type(genes[j][2]) if c != genes[j][2]])
    return RoughCode(tuple(map(tuple, genes)))


def connection_mutation(p: RoughCode, rng: random.Random, points: int | None = None) -> RoughCode:
    """Give cells at random mutation points another free input ``a2`` from ``[0, j - 1]`` (Fig. 3b).

    Cell 1 can read only the stem, so it never mutates; a one-cell network comes back unchanged.
    """
    genes = [list(g) for g in p.genes]
    for j in _choose_points(rng, list(range(1, len(genes))), points):  # 0-based j: cell j + 1 reads 0..j
        genes[j][1] = rng.choice([s for s in range(j + 1) if s != genes[j][1]])
    return RoughCode(tuple(map(tuple, genes)))


def _edges(cell: FineCell) -> list[tuple[int, int]]:
    """Existing edges as ``(slot, side)``: side 0 is ``(x_i, o_i)``, side 1 ``(x_j, o_j)``."""
    return [(s, side) for s in cell.live for side in (0, 1) if cell.nodes[s][2 + side]]


def _replace(cell: FineCell, slot: int, side: int, x: int, o: int) -> FineCell:
    node = list(cell.nodes[slot])
    node[side], node[2 + side] = x, o
    return FineCell(cell.inputs, cell.reduction, cell.nodes[:slot] + (tuple(node),) + cell.nodes[slot + 1:])


def mutation_codes(space: CellSpace) -> list[int]:
    """The op codes an edge mutation draws from: Table I's 13 ops (section IV.C searches those).

    Ops coded only because a known cell uses them (CARS-H's ``dil_conv_5x5``, a searched cell's
    ops) stay in the cells that have them but are never drawn. A space without two Table I ops (a
    custom op list) draws from all of its ops.
    """
    table_i = [space.op_code(op) for op in space.ops if op in TS_ENAS_OPS]
    return table_i if len(table_i) >= 2 else list(range(1, len(space.ops) + 1))


def edge_mutation(cell: FineCell, space: CellSpace, rng: random.Random) -> FineCell:
    """Put another Table I op on one random edge of the cell (IV.C, first mutation)."""
    slot, side = rng.choice(_edges(cell))
    op = cell.nodes[slot][2 + side]
    return _replace(cell, slot, side, cell.nodes[slot][side], rng.choice([c for c in mutation_codes(space)
                                                                         if c != op]))


def node_input_mutation(cell: FineCell, rng: random.Random) -> FineCell:
    """Let one random edge read another earlier node: a cell input or a live node (IV.C, second mutation)."""
    slot, side = rng.choice(_edges(cell))
    x = cell.nodes[slot][side]
    sources = [s for s in (0, 1, *(t + 2 for t in cell.live if t < slot)) if s != x]
    return _replace(cell, slot, side, rng.choice(sources), cell.nodes[slot][2 + side])


def fine_mutation(code: FineCode, space: CellSpace, rng: random.Random) -> FineCode:
    """Algorithm 4 line 5: every cell gets an edge or a node-input mutation, with equal probability."""
    return FineCode(tuple(edge_mutation(c, space, rng) if rng.random() < 0.5 else node_input_mutation(c, rng)
                          for c in code.cells))


def delete_node(cell: FineCell, slot: int) -> FineCell:
    """The cell with node ``slot + 2`` deleted (Fig. 3d): its 4-tuple and every edge reading it become 0.

    A node left without any input this way is deleted too (it would read only deleted nodes),
    which can cascade, as in DARTS-GAL's pruning rule.

    Raises:
        ToolkitError: the node does not exist or is already deleted, or no node would be left.
    """
    if slot not in cell.live:
        raise ToolkitError(f"node {slot + 2} is not a live node of the cell (live: {[s + 2 for s in cell.live]})")
    nodes, dead = list(cell.nodes), {slot}
    nodes[slot] = NO_NODE
    for t in range(slot + 1, len(nodes)):
        if nodes[t] == NO_NODE:
            continue
        pairs = [(x, o) if o and x - 2 not in dead else (0, 0) for x, o in ((nodes[t][0], nodes[t][2]),
                                                                          (nodes[t][1], nodes[t][3]))]
        nodes[t] = (pairs[0][0], pairs[1][0], pairs[0][1], pairs[1][1])
        if nodes[t] == NO_NODE:
            dead.add(t)
    if all(n == NO_NODE for n in nodes):
        raise ToolkitError(f"deleting node {slot + 2} would leave the cell without nodes")
    return FineCell(cell.inputs, cell.reduction, tuple(nodes))


def _prunable(cell: FineCell) -> list[int]:
    """Live slots whose deletion leaves at least one node."""
    slots = []
    for s in cell.live:
        try:
            delete_node(cell, s)
        except ToolkitError:
            continue
        slots.append(s)
    return slots


def node_pruning(code: FineCode, rng: random.Random) -> FineCode:
    """Algorithm 4 line 6: delete one random node of one random cell (:func:`delete_node`).

    Only cells that keep at least one node afterwards are chosen; when no cell can lose a node,
    ``code`` itself is returned.
    """
    cells = [j for j, c in enumerate(code.cells) if _prunable(c)]
    if not cells:
        return code
    j = rng.choice(cells)
    pruned = delete_node(code.cells[j], rng.choice(_prunable(code.cells[j])))
    return FineCode(code.cells[:j] + (pruned,) + code.cells[j + 1:])
