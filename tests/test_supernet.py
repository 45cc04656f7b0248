import pytest
import torch

from toolkit.edges import MixedOp
from toolkit.errors import ToolkitError
from toolkit.space import SearchSpace, derive_cell
from toolkit.supernet import Supernet


def test_forward_shapes_and_parameter_split():
    net = Supernet(SearchSpace(), C=4, cells=3, num_classes=5, in_channels=1)
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 5)
    assert net.alpha_normal.shape == (14, 8)
    names = {id(p) for p in net.arch_parameters()}
    assert len(names) == 2 and all(id(p) not in names for p in net.weight_parameters())
    assert len(net.arch_parameters()) + len(net.weight_parameters()) == len(list(net.parameters()))


def test_reductions_default_and_custom():
    assert Supernet(cells=8, C=4).reductions == (3, 6)
    net = Supernet(cells=5, C=4, reductions=(2, 3))
    assert [c.reduction for c in net.cells] == [False, True, True, False, False]
    with pytest.raises(ToolkitError):
        Supernet(cells=5, C=4, reductions=(9,))
    with pytest.raises(ToolkitError):
        Supernet(cells=0, C=4)


def test_mixed_op_is_the_weighted_sum_of_its_ops():
    torch.manual_seed(0)
    op = MixedOp(4, 1, ("skip_connect", "avg_pool_3x3", "sep_conv_3x3"))
    x = torch.randn(2, 4, 6, 6)
    w = torch.tensor([0.2, 0.3, 0.5])
    expected = sum(wi * o(x) for wi, o in zip(w, op.ops))
    torch.testing.assert_close(op(x, w), expected, rtol=1e-5, atol=1e-5)  # float32, other summation order
    assert torch.allclose(op(x, torch.tensor([1.0, 0.0, 0.0])), x)


def test_derive_cell_oracle():
    space = SearchSpace(("none", "skip_connect", "sep_conv_3x3"), nodes=2)
    # 5 edges: node 0 reads (0, 1); node 1 reads (0, 1, 2).
    w = torch.tensor([
        [0.9, 0.05, 0.05],  # 'none' is strongest but excluded: strength 0.05
        [0.1, 0.2, 0.7],    # sep_conv_3x3 0.7
        [0.0, 0.6, 0.4],    # skip 0.6
        [0.1, 0.1, 0.8],    # sep 0.8
        [0.0, 0.7, 0.3],    # skip 0.7
    ])
    g = derive_cell(w, space)
    assert g.nodes == ((("skip_connect", 0), ("sep_conv_3x3", 1)), (("sep_conv_3x3", 1), ("skip_connect", 2)))
    assert g.concat == (2, 3)
    # Edge normalisation multiplies the strengths: make edge 0 of node 1 win.
    beta = torch.tensor([1.0, 1.0, 1.0, 0.1, 1.0])
    g2 = derive_cell(w, space, beta)
    assert g2.nodes[1] == (("skip_connect", 0), ("skip_connect", 2))


def test_genotype_of_a_fresh_supernet_is_valid_and_seeded():
    torch.manual_seed(3)
    a = Supernet(SearchSpace(), C=4, cells=3).genotype()
    torch.manual_seed(3)
    b = Supernet(SearchSpace(), C=4, cells=3).genotype()
    assert a == b
    assert all(op != "none" for _, op, _ in a.normal.edges)


def test_edge_norm_adds_beta_and_changes_output():
    torch.manual_seed(0)
    net = Supernet(SearchSpace(), C=4, cells=2, edge_norm=True)
    assert len(net.arch_parameters()) == 4
    w = net.edge_weights()["normal"]
    assert torch.allclose(w[:2].sum(), torch.tensor(1.0)) and torch.allclose(w[2:5].sum(), torch.tensor(1.0))
    x = torch.randn(2, 1, 8, 8)
    net.eval()
    before = net(x)
    with torch.no_grad():
        net.beta_normal[0] += 5.0
    assert not torch.allclose(net(x), before)
