"""TS-ENAS variation operators: type-preserving crossover, rough mutations, fine mutations and pruning."""

import random
from collections import Counter

import pytest
import torch

from toolkit.errors import ToolkitError
from toolkit.model import EvalNetwork, NetworkSizes, count_parameters
from toolkit.space import TS_ENAS_OPS
from toolkit.tsenas import (
    NO_NODE,
    FineCell,
    FineCode,
    RoughCode,
    cell_mutation,
    connection_mutation,
    crossover,
    delete_node,
    edge_mutation,
    fine_mutation,
    matched_cells,
    node_input_mutation,
    node_pruning,
    random_code,
    table_ii,
)

SPACE = table_ii()
TINY = NetworkSizes(C=4, in_channels=1)


def types(code: RoughCode) -> list[bool]:
    return [SPACE.cell(a3).reduction for _, _, a3 in code.genes]


def runs(network) -> bool:
    model = EvalNetwork(network, TINY).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, 8, 8))
    return out.shape == (2, 10) and bool(torch.isfinite(out).all())


# Hand-made parents: N normal (code 1-4), R reduction (code 5-8).
P1 = RoughCode(((0, 0, 1), (1, 0, 5), (2, 1, 2)))  # N R N
P2 = RoughCode(((0, 0, 3), (1, 1, 4), (2, 0, 2), (3, 2, 7), (4, 3, 8)))  # N N N R R


def test_matching_walks_the_shorter_parent_type_by_type():
    # p1's first normal meets p2's first normal, its second normal p2's second, its reduction p2's first.
    assert matched_cells(P1, P2, SPACE) == [(0, 0), (1, 3), (2, 1)]
    assert matched_cells(P2, P1, SPACE) == [(0, 0), (1, 2), (3, 1)]  # the same pairs, seen from p2


def test_a_reference_cell_without_a_partner_of_its_type_is_skipped():
    two_reductions = RoughCode(((0, 0, 1), (1, 0, 5), (2, 0, 1), (3, 0, 6), (4, 0, 1)))  # N R N R N
    one_reduction = RoughCode(((0, 0, 2), (1, 0, 2), (2, 0, 2), (3, 0, 2), (4, 0, 2), (5, 0, 8)))
    assert matched_cells(two_reductions, one_reduction, SPACE) == [(0, 0), (1, 5), (2, 1), (4, 2)]


def test_crossover_at_every_matched_cell_exchanges_their_codes():
    q1, q2 = crossover(P1, P2, SPACE, random.Random(0), points=3)
    assert q1.genes == ((0, 0, 3), (1, 0, 7), (2, 1, 4))
    assert q2.genes == ((0, 0, 1), (1, 1, 2), (2, 0, 2), (3, 2, 5), (4, 3, 8))


def test_crossover_never_swaps_a_normal_with_a_reduction_cell():
    changed = 0
    for seed in range(200):
        rng = random.Random(seed)
        p1, p2 = random_code(SPACE, 2, 8, rng), random_code(SPACE, 2, 8, rng)
        q1, q2 = crossover(p1, p2, SPACE, rng)
        for p, q in ((p1, q1), (p2, q2)):
            assert types(q) == types(p)  # every position keeps its type, so N and reductions are kept
            assert [g[:2] for g in q.genes] == [g[:2] for g in p.genes]  # connections stay with their network
        # Codes are exchanged, never invented or lost.
        assert Counter(g[2] for g in p1.genes + p2.genes) == Counter(g[2] for g in q1.genes + q2.genes)
        changed += (q1, q2) != (p1, p2)
    assert changed > 100  # and the crossover does exchange cells


def test_cell_mutation_keeps_types_and_connections():
    for seed in range(100):
        rng = random.Random(seed)
        p = random_code(SPACE, 2, 8, rng)
        q = cell_mutation(p, SPACE, rng, points=2)
        assert types(q) == types(p)
        assert [g[:2] for g in q.genes] == [g[:2] for g in p.genes]
        assert sum(a != b for a, b in zip(p.genes, q.genes)) == 2  # both points got another cell


def test_connection_mutation_rewires_within_earlier_cells_only():
    for seed in range(100):
        rng = random.Random(seed)
        p = random_code(SPACE, 3, 8, rng)
        q = connection_mutation(p, rng)
        diffs = [j for j, (a, b) in enumerate(zip(p.genes, q.genes)) if a != b]
        assert diffs and 0 not in diffs  # cell 1 can only read the stem
        for j in diffs:
            assert q.genes[j][0] == p.genes[j][0] and q.genes[j][2] == p.genes[j][2]  # only a2 changes
            assert 0 <= q.genes[j][1] <= j
    single = RoughCode(((0, 0, 2),))
    assert connection_mutation(single, random.Random(0)) == single


def test_rough_operators_are_seeded_by_their_generator_only():
    def run(seed):
        rng = random.Random(seed)
        p1, p2 = random_code(SPACE, 2, 8, rng), random_code(SPACE, 2, 8, rng)
        return crossover(p1, p2, SPACE, rng), cell_mutation(p1, SPACE, rng), connection_mutation(p2, rng)

    first = run(3)
    random.seed(99)
    assert run(3) == first


@pytest.mark.parametrize("points", [0, -1, 1.5])
def test_bad_point_counts_are_rejected(points):
    with pytest.raises(ToolkitError, match="points must be a positive integer"):
        cell_mutation(P2, SPACE, random.Random(0), points=points)


def differences(a: FineCell, b: FineCell) -> int:
    return sum(x != y for n, m in zip(a.nodes, b.nodes) for x, y in zip(n, m))


def test_fine_mutation_changes_one_op_or_one_input_in_every_cell_and_still_runs():
    kinds = Counter()
    for seed in range(25):
        rng = random.Random(seed)
        fine = FineCode.from_rough(random_code(SPACE, 2, 5, rng), SPACE)
        mutated = fine_mutation(fine, SPACE, rng)
        for before, after in zip(fine.cells, mutated.cells):
            assert (after.inputs, after.reduction) == (before.inputs, before.reduction)
            assert differences(before, after) == 1
            changed = next(k for n, m in zip(before.nodes, after.nodes) for k in range(4) if n[k] != m[k])
            kinds["op" if changed >= 2 else "input"] += 1
        assert runs(mutated.decode(SPACE))
    assert kinds["op"] > 10 and kinds["input"] > 10  # both mutations happen, about equally often


def test_edge_and_node_input_mutations_stay_in_range():
    cell = FineCode.from_rough(RoughCode(((0, 0, 2),)), SPACE).cells[0]
    for seed in range(200):
        rng = random.Random(seed)
        op = edge_mutation(cell, SPACE, rng)
        assert all(1 <= o <= len(SPACE.ops) for n in op.nodes for o in n[2:])
        wired = node_input_mutation(cell, rng)
        assert all(0 <= x < s + 2 for s, n in enumerate(wired.nodes) for x in n[:2])


def test_edge_mutation_draws_only_table_i_ops():
    assert len(SPACE.ops) > len(TS_ENAS_OPS) and "dil_conv_5x5" in SPACE.ops  # CARS-H's op has a code
    table_i = {SPACE.op_code(op) for op in TS_ENAS_OPS}
    assert len(table_i) == 13
    cell = FineCode.from_rough(RoughCode(((0, 0, 2),)), SPACE).cells[0]
    drawn = Counter()
    for seed in range(300):
        mutated = edge_mutation(cell, SPACE, random.Random(seed))
        changed = [o for new, old in zip(mutated.nodes, cell.nodes) for o, p in zip(new[2:], old[2:]) if o != p]
        assert len(changed) == 1
        drawn.update(changed)
    assert set(drawn) <= table_i and len(drawn) >= 12  # every Table I op but the edge's own can be drawn


def test_delete_node_zeroes_its_code_and_cascades_to_nodes_left_without_input():
    cell = FineCell((0, 0), False, ((0, 1, 11, 11), (2, 2, 10, 1), (0, 3, 9, 5), (4, 1, 1, 12)))
    pruned = delete_node(cell, 0)  # node 3 read only node 2; node 4 loses its edge from node 3
    assert pruned.nodes == (NO_NODE, NO_NODE, (0, 0, 9, 0), (4, 1, 1, 12))
    assert pruned.genotype(SPACE).node_ids == (4, 5)
    with pytest.raises(ToolkitError, match="without nodes"):
        delete_node(FineCell((0, 0), False, ((0, 1, 11, 11), (2, 2, 10, 1))), 0)
    with pytest.raises(ToolkitError, match="not a live node"):
        delete_node(pruned, 1)


def test_node_pruning_deletes_nodes_of_one_cell_and_keeps_networks_valid():
    for seed in range(25):
        rng = random.Random(seed)
        fine = FineCode.from_rough(random_code(SPACE, 2, 5, rng), SPACE)
        pruned = node_pruning(fine, rng)
        shrunk = [j for j, (a, b) in enumerate(zip(fine.cells, pruned.cells)) if a != b]
        assert len(shrunk) == 1
        before, after = fine.cells[shrunk[0]], pruned.cells[shrunk[0]]
        assert set(after.live) < set(before.live) and after.live
        for s in set(before.live) - set(after.live):
            assert s >= len(after.nodes) or after.nodes[s] == NO_NODE  # inputs and ops set to zero
        net_before, net_after = fine.decode(SPACE), pruned.decode(SPACE)
        kept = net_after.cells[shrunk[0]].genotype.node_ids
        assert set(kept) < set(net_before.cells[shrunk[0]].genotype.node_ids)  # survivors keep their numbers
        assert count_parameters(EvalNetwork(net_after, TINY)) <= count_parameters(EvalNetwork(net_before, TINY))
        assert runs(net_after)


def test_pruning_repeatedly_never_empties_a_cell():
    rng = random.Random(5)
    code = FineCode.from_rough(random_code(SPACE, 3, 4, rng), SPACE)
    for _ in range(40):
        code = fine_mutation(node_pruning(code, rng), SPACE, rng)
    assert all(len(c.live) == 1 for c in code.cells)  # pruned down to one node per cell, never none
    assert node_pruning(code, rng) is code  # nothing left to prune
    assert runs(code.decode(SPACE))
