import pytest
import torch

from toolkit.errors import ToolkitError
from toolkit.genotype import PUBLISHED, CellSpec, Genotype, Network
from toolkit.model import EvalNetwork, NetworkSizes, count_parameters

CIFAR = NetworkSizes(C=36, num_classes=10, in_channels=3)


def test_darts_v2_parameter_count_matches_the_darts_implementation():
    # DARTS' NetworkCIFAR(36, 10, 20, auxiliary=False, DARTS_V2) has 3,349,342 parameters.
    assert count_parameters(EvalNetwork(PUBLISHED["DARTS_V2"].stack(20), CIFAR)) == 3_349_342


def test_auxiliary_head_is_left_out_of_the_count_and_used_in_training():
    plain = count_parameters(EvalNetwork(PUBLISHED["DARTS_V2"].stack(8), NetworkSizes(C=8)))
    net = EvalNetwork(PUBLISHED["DARTS_V2"].stack(8), NetworkSizes(C=8, auxiliary=True))
    assert count_parameters(net) == plain
    assert count_parameters(net, exclude_auxiliary=False) > plain
    net.train()
    logits, aux = net(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 10)
    net.eval()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_hand_count_of_a_tiny_network():
    # One normal cell, one node: skip_connect(0) + skip_connect(1); C=4, 1 input channel, 3 classes.
    g = Genotype(((("skip_connect", 0), ("skip_connect", 1)),), (2,))
    net = EvalNetwork(Network((CellSpec(g, False, (0, 0)),)), NetworkSizes(C=4, num_classes=3, in_channels=1))
    stem = 1 * 12 * 9 + 2 * 12  # conv 3x3 (1 -> 3C) + BN
    pre = 2 * (12 * 4 + 2 * 4)  # two ReLU-conv1x1-BN (12 -> 4)
    classifier = 4 * 3 + 3
    assert count_parameters(net) == stem + pre + classifier


@pytest.mark.parametrize("size", [8, 7, 28])
def test_odd_and_even_inputs_through_two_reductions(size):
    net = EvalNetwork(PUBLISHED["DARTS_V2"].stack(5), NetworkSizes(C=4, in_channels=1))
    assert net(torch.randn(2, 1, size, size)).shape == (2, 10)


def test_cells_may_read_any_earlier_cell():
    g = PUBLISHED["DARTS_V2"].normal
    r = PUBLISHED["DARTS_V2"].reduce
    # cell 4 reads the stem (two reductions earlier: factor 4) and cell 2.
    net = Network((CellSpec(g, False, (0, 0)), CellSpec(r, True, (0, 1)), CellSpec(r, True, (1, 2)),
                   CellSpec(g, False, (0, 2))))
    model = EvalNetwork(net, NetworkSizes(C=4, in_channels=1))
    assert model(torch.randn(2, 1, 16, 16)).shape == (2, 10)


def test_node_scale_multiplies_node_outputs():
    torch.manual_seed(0)
    net = EvalNetwork(PUBLISHED["DARTS_V2"].stack(3), NetworkSizes(C=4, in_channels=1)).eval()
    x = torch.randn(2, 1, 8, 8)
    base = net(x)
    for cell in net.cells:
        cell.node_scale = torch.ones(len(cell.genotype.nodes))
    assert torch.allclose(net(x), base)
    net.cells[0].node_scale = torch.zeros(4)
    assert not torch.allclose(net(x), base)


def test_reduction_cell_without_nodes_still_reduces():
    empty = Genotype((), (1,))
    normal = PUBLISHED["DARTS_V2"].normal
    net = Network((CellSpec(normal, False, (0, 0)), CellSpec(empty, True, (0, 1)), CellSpec(normal, False, (1, 2))))
    model = EvalNetwork(net, NetworkSizes(C=4, in_channels=1))
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_odd_channel_count_is_rejected():
    with pytest.raises(ToolkitError, match="even"):
        EvalNetwork(PUBLISHED["DARTS_V2"].stack(3), NetworkSizes(C=5))
