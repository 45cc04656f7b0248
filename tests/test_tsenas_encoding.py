"""TS-ENAS two-stage encoding: round trips, Algorithm 3's initialisation rules, canonical fine codes."""

import json
import random

import pytest
import torch

from toolkit.errors import ToolkitError
from toolkit.genotype import PUBLISHED, CellPair, CellSpec, Network
from toolkit.model import EvalNetwork, NetworkSizes
from toolkit.tsenas import NO_NODE, FineCell, FineCode, RoughCode, initial_population, random_code, table_ii

SPACE = table_ii()
SEEDS = range(300)


def runs(network: Network) -> bool:
    """Build the evaluation network (tiny C) and run a digits-sized 8x8 batch through it."""
    model = EvalNetwork(network, NetworkSizes(C=4, in_channels=1)).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, 8, 8))
    return out.shape == (2, 10) and bool(torch.isfinite(out).all())


def test_algorithm_3_rules_hold_over_many_seeds():
    depths, reductions = set(), set()
    for seed in SEEDS:
        code = random_code(SPACE, 3, 8, random.Random(seed))
        n = len(code)
        assert 3 <= n <= 8
        for j, (a1, a2, a3) in enumerate(code.genes, start=1):
            assert a1 == j - 1  # line 8: the previous cell
            assert 0 <= a2 <= j - 1  # line 9: any earlier state
            assert 1 <= a3 <= 8
        assert 2 * code.reductions(SPACE) < n  # reduction cells stay fewer than half (fewer than normal cells)
        depths.add(n)
        reductions.add(code.reductions(SPACE))
    assert depths == set(range(3, 9))  # every N in [N_min, N_max] occurs
    assert reductions == {0, 1, 2, 3}  # and reductions are drawn up to the limit (3 of 7 or 8)


def test_initialisation_is_seeded_by_its_generator_only():
    first = initial_population(SPACE, 5, 2, 6, random.Random(7))
    random.seed(123)  # the global generator plays no part
    assert initial_population(SPACE, 5, 2, 6, random.Random(7)) == first
    assert initial_population(SPACE, 5, 2, 6, random.Random(8)) != first


@pytest.mark.parametrize("n_min, n_max", [(0, 3), (5, 4), (2.0, 4), (True, 3)])
def test_bad_depth_bounds_name_the_rule(n_min, n_max):
    with pytest.raises(ToolkitError, match="1 <= N_min <= N_max"):
        random_code(SPACE, n_min, n_max, random.Random(0))


def test_rough_code_round_trips_through_the_network_description():
    for seed in range(50):
        code = random_code(SPACE, 1, 8, random.Random(seed))
        network = code.decode(SPACE)
        assert RoughCode.encode(network, SPACE) == code
        assert RoughCode.from_list(json.loads(json.dumps(code.to_list()))) == code
        assert Network.from_dict(json.loads(json.dumps(network.to_dict()))) == network


def test_rough_code_decodes_inputs_and_cells():
    code = RoughCode(((0, 0, 3), (1, 0, 7), (2, 0, 3), (3, 2, 1)))
    net = code.decode(SPACE)
    assert [c.inputs for c in net.cells] == [(0, 0), (0, 1), (0, 2), (2, 3)]  # (c_{k-2}, c_{k-1}) = (a2, a1)
    assert net.reductions == (2,)
    assert net.cells[3].genotype == SPACE.cell(1).genotype
    assert runs(net)


def test_darts_wiring_is_the_code_previous_and_one_before():
    pair = CellPair(SPACE.cell(3).genotype, SPACE.cell(7).genotype)
    code = RoughCode.encode(pair.stack(5), SPACE)
    assert code.genes == ((0, 0, 3), (1, 0, 7), (2, 1, 3), (3, 2, 7), (4, 3, 3))


@pytest.mark.parametrize("genes, message", [
    ((), "at least one cell"),
    (((0, 1, 3),), "cell 1 reads state 1"),
    (((0, 0, 3), (1, 2, 3)), "cell 2 reads state 2"),
    (((0, 0, 0),), "codes start at 1"),
    (((0, 0),), "3 non-negative integers"),
    (((0, -1, 3),), "3 non-negative integers"),
])
def test_invalid_rough_codes_name_the_problem(genes, message):
    with pytest.raises(ToolkitError, match=message):
        RoughCode(genes)


def test_codes_outside_the_space_fail_at_decoding():
    with pytest.raises(ToolkitError, match=r"cell code 9 is not in the cell space \(codes 1..8\)"):
        RoughCode(((0, 0, 9),)).decode(SPACE)


def test_fine_code_of_a_rough_individual_is_the_same_network():
    for seed in range(50):
        rough = random_code(SPACE, 1, 8, random.Random(seed))
        fine = FineCode.from_rough(rough, SPACE)
        assert fine.decode(SPACE) == rough.decode(SPACE)
        assert FineCode.encode(fine.decode(SPACE), SPACE) == fine
        assert FineCode.from_list(json.loads(json.dumps(fine.to_list()))) == fine


def test_fine_code_writes_table_i_codes_per_node():
    darts = FineCell.encode(CellSpec(SPACE.cell(3).genotype, False, (0, 1)), SPACE)
    assert darts.inputs == (1, 0)
    # sep_conv_3x3 is Table I code 11, skip_connect 1, dil_conv_3x3 4.
    assert darts.nodes == ((0, 1, 11, 11), (0, 1, 11, 11), (1, 0, 11, 1), (0, 2, 1, 4))


def test_deleted_nodes_keep_the_other_nodes_numbers():
    cell = FineCell((0, 0), False, ((0, 1, 11, 11), NO_NODE, (2, 0, 10, 0), (4, 1, 1, 5)))
    g = cell.genotype(SPACE)
    assert g.node_ids == (2, 4, 5)
    assert str(g) == "2: sep_conv_3x3(0)+sep_conv_3x3(1) | 4: conv_3x3(2) | 5: skip_connect(4)+avg_pool_3x3(1) ; add 5"
    assert FineCell.encode(CellSpec(g, False, (0, 0)), SPACE) == cell
    assert runs(Network((CellSpec(g, False, (0, 0)),)))


def test_fine_cells_are_kept_canonical():
    # A missing edge is written second, and deleted nodes after the last live one are dropped.
    cell = FineCell((0, 0), True, ((0, 1, 0, 11), (2, 0, 6, 6), NO_NODE))
    assert cell.nodes == ((1, 0, 11, 0), (2, 0, 6, 6))
    assert cell.reduction is True


@pytest.mark.parametrize("nodes, message", [
    (((0, 1, 11, 11), NO_NODE, (3, 0, 11, 1)), "node 4 reads node 3, which is deleted"),
    (((0, 1, 11, 0),), "edge from node 1 with op code 0"),
    (((0, 2, 11, 11),), "node 2 reads node 2"),
    ((NO_NODE,), "at least one intermediate node"),
    (((0, 1, 11),), "4 non-negative integers"),
])
def test_invalid_fine_cells_name_the_problem(nodes, message):
    with pytest.raises(ToolkitError, match=message):
        FineCell((0, 0), False, nodes)


def test_fine_codes_only_describe_cells_that_add():
    with pytest.raises(ToolkitError, match="concatenates"):
        FineCode.encode(PUBLISHED["DARTS_V2"].stack(3), SPACE)
    with pytest.raises(ToolkitError, match=r"op code 15 is out of range 1..14"):
        FineCode((FineCell((0, 0), False, ((0, 1, 15, 1),)),)).decode(SPACE)
    with pytest.raises(ToolkitError, match="cell 2 reads state 2"):
        FineCode((FineCell((0, 0), False, ((0, 1, 1, 1),)), FineCell((2, 0), False, ((0, 1, 1, 1),))))


@pytest.mark.parametrize("load, message", [
    (lambda: RoughCode.from_list(5), "list of \\[a1, a2, a3\\] triples"),
    (lambda: RoughCode.from_list([[0, 0, "x"]]), "3 integers"),
    (lambda: FineCode.from_list([{"inputs": [0, 0], "type": "big", "nodes": [[0, 1, 1, 1]]}]), "'normal' or 'reduce'"),
    (lambda: FineCode.from_list([{"inputs": [0, 0], "type": "normal"}]), "missing or bad field"),
    (lambda: initial_population(SPACE, True, 2, 3, random.Random(0)), "population size"),
])
def test_bad_stored_codes_name_the_problem(load, message):
    with pytest.raises(ToolkitError, match=message):
        load()
