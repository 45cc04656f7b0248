import pytest
import torch

from toolkit.errors import ToolkitError
from toolkit.ops import OPS, build_op, register_op
from toolkit.space import DARTS_OPS, TS_ENAS_OPS, SearchSpace


def test_presets():
    assert SearchSpace.preset("darts").ops == DARTS_OPS and len(DARTS_OPS) == 8
    assert len(SearchSpace.preset("ts_enas").ops) == 13 and TS_ENAS_OPS[0] == "skip_connect"
    assert SearchSpace(nodes=4).edges_per_cell == 14


def test_subsets_and_validation():
    assert SearchSpace(("sep_conv_3x3",), 2).ops == ("sep_conv_3x3",)
    assert "none" not in SearchSpace().without("none").ops
    with pytest.raises(ToolkitError, match="at least one op with weights"):
        SearchSpace(("none", "skip_connect", "max_pool_3x3"))
    with pytest.raises(ToolkitError, match="unknown op"):
        SearchSpace(("sep_conv_3x3", "conv_9x9"))
    with pytest.raises(ToolkitError, match="nodes per cell"):
        SearchSpace(nodes=0)
    with pytest.raises(ToolkitError, match="twice"):
        SearchSpace(("sep_conv_3x3", "sep_conv_3x3"))
    with pytest.raises(ToolkitError, match="unknown search space"):
        SearchSpace.preset("nasnet")


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("size", [8, 7])
def test_every_op_keeps_channels_and_halves_size_with_stride_2(name, size):
    x = torch.randn(2, 6, size, size)
    for stride in (1, 2):
        y = build_op(name, 6, stride)(x)
        expected = size if stride == 1 else (size + 1) // 2
        assert y.shape == (2, 6, expected, expected)


def test_register_op_makes_it_usable_in_spaces():
    register_op("test_identity3", lambda C, stride, affine: torch.nn.AvgPool2d(1, stride), parameter_free=True)
    space = SearchSpace(("test_identity3", "sep_conv_3x3"))
    assert space.ops[0] == "test_identity3"
    with pytest.raises(ToolkitError, match="at least one op with weights"):
        SearchSpace(("test_identity3",))
    with pytest.raises(ValueError, match="unknown op"):
        build_op("nope", 4, 1)
