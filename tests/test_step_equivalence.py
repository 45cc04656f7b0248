"""The fast search step computes the same losses and gradients as the plain mixed op.

The oracle is the textbook formulation (DARTS eq. 2): every op of every edge run in full and
summed with its softmax weight, each edge's output times its β with edge normalisation, and for
the α step a full ``backward()`` (second order: DARTS' original unrolled step on a deep copy of
the model, eq. 6-8). Both run on the same modules and
data in float64; losses and gradients of w and α must agree to float tolerance.
"""

import copy
import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from toolkit.architect import Architect
from toolkit.edges import MixedOp
from toolkit.partial import partial_edge
from toolkit.space import DARTS_OPS, SearchSpace
from toolkit.supernet import SearchCell, Supernet


def load_bench():
    """bench/search_step.py, whose plain formulation (the one the benchmark times) is the oracle here."""
    path = Path(__file__).resolve().parents[1] / "bench" / "search_step.py"
    spec = importlib.util.spec_from_file_location("search_step_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = load_bench()
plain_mixed_forward, plain_cell_forward = BENCH.plain_mixed_forward, BENCH.plain_cell_forward
LR, MOMENTUM, WD = 0.05, 0.9, 3e-4
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
VARIANTS = {  # name: (order, Supernet keyword arguments)
    "darts-1st": (1, {}),
    "darts-2nd": (2, {}),
    "pcdarts-k4": (1, {"edge": partial_edge("random", 4), "edge_norm": True}),
    "adarts-k4": (1, {"edge": partial_edge("attention", 4), "edge_norm": True}),
}


@pytest.fixture
def plain_mixed_op(monkeypatch):
    """Run the block under ``with plain_mixed_op():`` with the textbook mixed op."""
    fast = MixedOp.forward, SearchCell.forward

    class Switch:
        def __enter__(self):
            monkeypatch.setattr(MixedOp, "forward", plain_mixed_forward)
            monkeypatch.setattr(SearchCell, "forward", plain_cell_forward)

        def __exit__(self, *exc):
            monkeypatch.setattr(MixedOp, "forward", fast[0])
            monkeypatch.setattr(SearchCell, "forward", fast[1])

    return Switch


def plain_second_order(model, w_opt, xt, yt, xv, yv, lr):
    """DARTS' original unrolled α gradient: a deep copy takes the SGD step, full backward passes."""
    weights = model.weight_parameters()
    loss = F.cross_entropy(model(xt), yt)
    grads = torch.autograd.grad(loss, weights)
    unrolled = copy.deepcopy(model)
    with torch.no_grad():
        for p, q, g in zip(weights, unrolled.weight_parameters(), grads):
            q.copy_(p - lr * (g + WD * p + MOMENTUM * w_opt.state[p]["momentum_buffer"]))
    val_loss = F.cross_entropy(unrolled(xv), yv)
    unrolled.zero_grad()
    val_loss.backward()
    d_alpha = [a.grad.clone() for a in unrolled.arch_parameters()]
    vector = [q.grad.clone() for q in unrolled.weight_parameters()]
    eps = 0.01 / torch.cat([v.flatten() for v in vector]).norm()
    hessian = []
    for sign in (1, -2):  # w + εv, then w - εv
        with torch.no_grad():
            for p, v in zip(weights, vector):
                p.add_(sign * eps * v)
        model.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        hessian.append([a.grad.clone() for a in model.arch_parameters()])
    with torch.no_grad():
        for p, v in zip(weights, vector):
            p.add_(eps * v)
    return val_loss, [d - lr * (gp - gm) / (2 * eps) for d, gp, gm in zip(d_alpha, *hessian)]


def tiny_setup(kwargs, device):
    torch.manual_seed(0)
    space = SearchSpace(DARTS_OPS, nodes=2)
    model = Supernet(space, C=4, cells=3, num_classes=3, in_channels=3, **kwargs).double().to(device)
    with torch.no_grad():
        for a in model.arch_parameters():
            a.normal_(0, 0.5)
    w_opt = torch.optim.SGD(model.weight_parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    data = [t.to(device) for t in (torch.randn(6, 3, 8, 8, dtype=torch.float64), torch.randint(0, 3, (6,)),
                                    torch.randn(6, 3, 8, 8, dtype=torch.float64), torch.randint(0, 3, (6,)))]
    F.cross_entropy(model(data[0]), data[1]).backward()  # one w step so that momentum buffers exist
    w_opt.step()
    model.zero_grad()
    return model, w_opt, data


def close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_alpha_step_matches_the_plain_formulation(variant, device, plain_mixed_op):
    order, kwargs = VARIANTS[variant]
    model, w_opt, (xt, yt, xv, yv) = tiny_setup(kwargs, device)
    snapshot = copy.deepcopy(model.state_dict())
    loss, grads = Architect(model, w_opt, order=order).alpha_gradient(xt, yt, xv, yv, LR)
    assert all(p.grad is None for p in model.parameters())  # the fast α step leaves w's gradients alone
    model.load_state_dict(snapshot)
    with plain_mixed_op():
        if order == 2:
            plain_loss, plain_grads = plain_second_order(model, w_opt, xt, yt, xv, yv, LR)
        else:
            model.zero_grad()
            plain_loss = F.cross_entropy(model(xv), yv)
            plain_loss.backward()
            plain_grads = [a.grad for a in model.arch_parameters()]
    close(loss, plain_loss)
    assert len(grads) == len(plain_grads) == (4 if kwargs.get("edge_norm") else 2)
    for g, p in zip(grads, plain_grads):
        assert g.abs().max() > 0
        close(g, p)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_weight_step_matches_the_plain_formulation(variant, device, plain_mixed_op):
    _, kwargs = VARIANTS[variant]
    model, _, (xt, yt, _, _) = tiny_setup(kwargs, device)
    snapshot = copy.deepcopy(model.state_dict())
    results = []
    for plain in (False, True):
        model.load_state_dict(snapshot)
        model.zero_grad()
        if plain:
            with plain_mixed_op():
                loss = F.cross_entropy(model(xt), yt)
        else:
            loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        results.append((loss.detach(), grads, {n: b.clone() for n, b in model.named_buffers()}))
    (loss, grads, buffers), (plain_loss, plain_grads, plain_buffers) = results
    close(loss, plain_loss)
    assert grads.keys() == plain_grads.keys() and len(grads) > 10
    for name in grads:
        close(grads[name], plain_grads[name])
    for name in buffers:  # BN running statistics and batch counts move the same way
        close(buffers[name], plain_buffers[name])


def test_mixed_op_of_only_none_is_zero():
    op = MixedOp(4, 2, ("none",))
    assert torch.equal(op(torch.randn(2, 4, 5, 5), torch.ones(1)), torch.zeros(2, 4, 3, 3))
