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


@pytest.mark.parametrize("size", [7, 8, 16])
@pytest.mark.parametrize("kernel,stride,dilation,padding", [
    (3, 2, 2, 2), (5, 2, 2, 4),  # DARTS' dil_conv on stride-2 edges: run on every second pixel
    (3, 2, 2, 1),  # padding not divisible by the stride: the plain convolution
    (3, 1, 2, 2), (5, 2, 1, 2),  # stride differs from dilation: the plain convolution
])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_conv2d_equals_torch_convolution_with_gradients(size, kernel, stride, dilation, padding, layout):
    """ops.conv2d: a stride-equals-dilation convolution runs on the subsampled input; same values
    and gradients as F.conv2d (float64: the same products, summed in another order)."""
    from toolkit.ops import DilatedConv2d, conv2d

    g = torch.Generator().manual_seed(size + kernel)
    x = torch.randn(3, 6, size, size, generator=g, dtype=torch.float64).contiguous(memory_format=layout)
    w = torch.randn(6, 1, kernel, kernel, generator=g, dtype=torch.float64)
    grads = []
    for fn in (conv2d, lambda *a: torch.nn.functional.conv2d(a[0], a[1], None, *a[2:])):
        xi, wi = x.clone().requires_grad_(), w.clone().requires_grad_()
        out = fn(xi, wi, stride, padding, dilation, 6)
        out.backward(torch.linspace(-1, 1, out.numel(), dtype=torch.float64).view_as(out))
        grads.append((out.detach(), xi.grad, wi.grad))
    for mine, ref in zip(*grads):
        assert mine.shape == ref.shape
        torch.testing.assert_close(mine, ref, rtol=1e-12, atol=1e-12)
    conv = DilatedConv2d(6, 6, kernel, stride, padding, dilation=dilation, groups=6, bias=True).double()
    reference = torch.nn.functional.conv2d(x, conv.weight, conv.bias, stride, padding, dilation, 6)
    torch.testing.assert_close(conv(x), reference, rtol=1e-12, atol=1e-12)
