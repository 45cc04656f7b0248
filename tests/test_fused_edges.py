"""Edges run together (toolkit.edges.run_edges) give what each edge gives alone.

The oracle is every edge called on its own (``edge(x, weights, scale)``, the module path the
partial-channel tests check against the papers). Fused, the edges' mixed ops share one pass over
their concatenated channels; outputs, gradients of x / α / β / w, batch-norm running statistics
and batch counts must match, in float64 so that the check holds on every CPU.
"""

import copy

import pytest
import torch
from torch import nn

from toolkit.edges import mixed_edge, run_edges
from toolkit.ops import OPS, register_op
from toolkit.partial import partial_edge
from toolkit.space import DARTS_OPS, SearchSpace
from toolkit.supernet import Supernet

FACTORIES = {"darts": mixed_edge, "pcdarts": partial_edge("random", 4), "adarts": partial_edge("attention", 4)}


def make_case(factory, stride, ops=DARTS_OPS, count=5, C=8, seed=0):
    torch.manual_seed(seed)
    edges = [factory(C, stride, ops).double() for _ in range(count)]
    shared = torch.randn(3, C, 7, 7, dtype=torch.float64)
    xs = [shared if i % 2 else torch.randn(3, C, 7, 7, dtype=torch.float64) for i in range(count)]
    xs = [x.clone().requires_grad_() for x in xs]
    alphas = torch.randn(count, len(ops), dtype=torch.float64, requires_grad=True)
    betas = torch.randn(count, dtype=torch.float64, requires_grad=True)
    return edges, xs, alphas, betas


def outputs_and_grads(edges, xs, alphas, betas, fused):
    weights = list(torch.softmax(alphas, -1))
    scales = list(torch.sigmoid(betas))
    if fused:
        outs = run_edges(edges, xs, weights, scales)
    else:
        outs = [edge(x, w, s) for edge, x, w, s in zip(edges, xs, weights, scales)]
    loss = sum((out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum() for out in outs)
    params = [p for edge in edges for p in edge.parameters()]
    grads = torch.autograd.grad(loss, [*xs, alphas, betas, *params])
    buffers = [b.clone() for edge in edges for b in edge.buffers()]
    return outs, grads, buffers


@pytest.mark.parametrize("kind", FACTORIES)
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("training", [True, False])
def test_fused_edges_equal_each_edge_alone(kind, stride, training):
    edges, xs, alphas, betas = make_case(FACTORIES[kind], stride)
    for edge in edges:
        edge.train(training)
        if not training:  # running statistics that are not the initial ones
            for b in edge.buffers():
                if b.is_floating_point():
                    b.uniform_(0.5, 1.5)
    alone = copy.deepcopy(edges)
    got = outputs_and_grads(edges, xs, alphas, betas, fused=True)
    want = outputs_and_grads(alone, xs, alphas, betas, fused=False)
    for g, w in zip(got, want):
        assert len(g) == len(w)
        for a, b in zip(g, w):
            torch.testing.assert_close(a, b)


def test_edges_without_split_and_ops_that_cannot_fuse_run_edge_by_edge():
    register_op("conv_bias_3x3", lambda C, stride, affine: nn.Conv2d(C, C, 3, stride, 1, bias=True))
    register_op("relu_conv_bias_bn", lambda C, stride, affine: nn.Sequential(  # ends in a non-affine BN
        nn.ReLU(), nn.Conv2d(C, C, 3, stride, 1, bias=True), nn.BatchNorm2d(C, affine=affine)))
    try:
        ops = ("none", "conv_bias_3x3", "relu_conv_bias_bn", "sep_conv_3x3", "skip_connect")
        edges, xs, alphas, betas = make_case(mixed_edge, 1, ops=ops, count=3)

        class Plain(nn.Module):  # an edge type of a user's own, without ``split``
            def __init__(self):
                super().__init__()
                self.scale = nn.Parameter(torch.tensor(2.0, dtype=torch.float64))

            def forward(self, x, weights, scale=None):
                return self.scale * x * weights.sum()

        edges.append(Plain())
        xs.append(xs[0])
        alphas = torch.cat([alphas.detach(), torch.randn(1, len(ops), dtype=torch.float64)]).requires_grad_()
        betas = torch.cat([betas.detach(), torch.zeros(1, dtype=torch.float64)]).requires_grad_()
        alone = copy.deepcopy(edges)
        got = outputs_and_grads(edges, xs, alphas, betas, fused=True)
        want = outputs_and_grads(alone, xs, alphas, betas, fused=False)
        for g, w in zip(got, want):
            for a, b in zip(g, w):
                torch.testing.assert_close(a, b)
    finally:
        OPS.pop("conv_bias_3x3")
        OPS.pop("relu_conv_bias_bn")


@pytest.mark.parametrize("kind", FACTORIES)
def test_supernet_cell_runs_ready_edges_together_with_the_same_result(kind, monkeypatch):
    """A whole supernet with fused edges against the same supernet calling each edge alone."""
    torch.manual_seed(1)
    net = Supernet(SearchSpace(), C=8, cells=3, num_classes=10, in_channels=1, edge=FACTORIES[kind],
                   edge_norm=kind != "darts").double()
    alone = copy.deepcopy(net)
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    fused_out = net(x)
    import toolkit.supernet as supernet

    monkeypatch.setattr(supernet, "run_edges", lambda edges, xs, ws, ss: [e(a, w, s) for e, a, w, s in
                                                                          zip(edges, xs, ws, ss)])
    torch.testing.assert_close(fused_out, alone(x))
    for a, b in zip(net.state_dict().values(), alone.state_dict().values()):
        torch.testing.assert_close(a, b)
