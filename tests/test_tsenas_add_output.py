"""Cells whose output adds their loose ends (TS-ENAS III.A) next to DARTS cells that concatenate."""

import json

import pytest
import torch

from toolkit.errors import ToolkitError
from toolkit.genotype import PUBLISHED, CellSpec, Genotype, Network
from toolkit.model import EvalNetwork, NetworkSizes, count_parameters

TWO_SKIPS = ((("skip_connect", 0), ("skip_connect", 1)), (("skip_connect", 0), ("skip_connect", 1)))
TINY = NetworkSizes(C=4, num_classes=3, in_channels=1)


def test_loose_ends_are_the_nodes_no_other_node_reads():
    amoeba = PUBLISHED["AmoebaNet_A"]
    assert amoeba.normal.loose_ends == (4, 5, 6) == amoeba.normal.concat  # NASNet-style cells output them
    assert PUBLISHED["DARTS_V2"].normal.loose_ends == (3, 4, 5)  # node 2 feeds node 5
    added = PUBLISHED["DARTS_V2"].normal.with_add_output()
    assert added.output == "add" and added.concat == (3, 4, 5) and added.nodes == PUBLISHED["DARTS_V2"].normal.nodes


def test_add_cells_round_trip_through_text_and_json():
    added = PUBLISHED["NASNet_A"].reduce.with_add_output()
    assert str(added).endswith("; add 4,5,6")
    assert Genotype.from_text(str(added)) == added
    assert Genotype.from_dict(json.loads(json.dumps(added.to_dict()))) == added
    pruned = Genotype(((("sep_conv_3x3", 0),), (("skip_connect", 2),)), (3,), (2, 5), "add")
    assert str(pruned) == "2: sep_conv_3x3(0) | 5: skip_connect(2) ; add 5"
    assert Genotype.from_text(str(pruned)) == pruned


def test_files_without_the_field_still_load_as_concat_cells():
    old = {"nodes": [[["sep_conv_3x3", 0], ["skip_connect", 1]]], "concat": [2]}
    g = Genotype.from_dict(old)
    assert g.output == "concat"
    assert g.to_dict() == old  # and a concat cell is written exactly as before


@pytest.mark.parametrize("make, message", [
    (lambda: Genotype(TWO_SKIPS, (2,), None, "add"), r"this cell's are \[2, 3\], but it lists \[2\]"),
    (lambda: Genotype(TWO_SKIPS, (2, 3), None, "sum"), "cell output must be one of concat, add"),
    (lambda: Genotype((), (1,), None, "add"), "at least one intermediate node"),
    (lambda: Genotype((), (1,)).with_add_output(), "nothing to add"),
    (lambda: Genotype.from_text("skip_connect(0) | skip_connect(2) ; add 2,3"), r"are \[3\]"),
])
def test_invalid_add_cells_name_the_problem(make, message):
    with pytest.raises(ToolkitError, match=message):
        make()


def test_hand_count_of_tiny_add_and_concat_networks():
    # Two cells of two skip nodes each, C=4, 1 input channel, 3 classes; cell 2 reads the stem and cell 1.
    def network(output):
        g = Genotype(TWO_SKIPS, (2, 3), None, output)
        return EvalNetwork(Network((CellSpec(g, False, (0, 0)), CellSpec(g, False, (0, 1)))), TINY)

    stem = 1 * 12 * 9 + 2 * 12  # conv 3x3 (1 -> 3C) + BN
    cell1 = 2 * (12 * 4 + 2 * 4)  # two ReLU-conv1x1-BN (12 -> 4)
    # "add": cell 1 outputs C = 4 channels, so cell 2's c_{k-1} preprocessing is 4 -> 4 and the classifier 4 -> 3.
    assert count_parameters(network("add")) == stem + cell1 + (12 * 4 + 8) + (4 * 4 + 8) + (4 * 3 + 3)
    # "concat": cell 1 outputs 2C = 8 channels.
    assert count_parameters(network("concat")) == stem + cell1 + (12 * 4 + 8) + (8 * 4 + 8) + (8 * 3 + 3)


def test_add_cell_outputs_the_sum_of_its_loose_ends():
    torch.manual_seed(0)
    g = Genotype.from_text("sep_conv_3x3(0)+skip_connect(1) | max_pool_3x3(2)+skip_connect(0) | "
                           "conv_1x1(1)+avg_pool_3x3(0) ; 2,3,4").with_add_output()  # loose ends 3, 4
    net = EvalNetwork(Network((CellSpec(g, False, (0, 0)),)), TINY).eval()
    cell = net.cells[0]
    x = net.stem(torch.randn(2, 1, 8, 8))
    s0, s1 = cell.preprocess0(x), cell.preprocess1(x)
    n2 = cell.ops[0][0](s0) + s1
    n3 = cell.ops[1][0](n2) + s0
    n4 = cell.ops[2][0](s1) + cell.ops[2][1](s0)
    assert torch.allclose(cell(x, x), n3 + n4, atol=1e-6)
    assert cell.C_out == 4


def test_add_reduction_cells_halve_and_keep_c_channels():
    normal = PUBLISHED["DARTS_V2"].normal.with_add_output()
    reduce = PUBLISHED["NASNet_A"].reduce.with_add_output()
    net = Network((CellSpec(normal, False, (0, 0)), CellSpec(reduce, True, (0, 1)), CellSpec(normal, False, (0, 2))))
    model = EvalNetwork(net, TINY)
    assert [c.C_out for c in model.cells] == [4, 8, 8]
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 3)


def test_darts_counts_unchanged():
    # DARTS' NetworkCIFAR(36, 10, 20, auxiliary=False, DARTS_V2) has 3,349,342 parameters.
    cifar = NetworkSizes(C=36, num_classes=10, in_channels=3)
    assert count_parameters(EvalNetwork(PUBLISHED["DARTS_V2"].stack(20), cifar)) == 3_349_342
    assert all(g.output == "concat" for pair in PUBLISHED.values() for g in (pair.normal, pair.reduce))


def test_drawing_labels_an_adding_output():
    pytest.importorskip("graphviz")
    from toolkit.draw import draw_cell

    added = draw_cell(PUBLISHED["DARTS_V2"].normal.with_add_output()).source
    plain = draw_cell(PUBLISHED["DARTS_V2"].normal).source
    assert "= sum" in added and "= sum" not in plain
    assert added.count("-> out") == 3 and plain.count("-> out") == 4  # one arrow per loose end / concat node
