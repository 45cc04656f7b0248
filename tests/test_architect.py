import copy

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from toolkit.architect import Architect
from toolkit.space import SearchSpace
from toolkit.supernet import Supernet, is_arch_name


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    space = SearchSpace(("skip_connect", "sep_conv_3x3", "avg_pool_3x3"), nodes=2)
    model = Supernet(space, C=2, cells=3, num_classes=3, in_channels=1)
    with torch.no_grad():
        model.alpha_normal.normal_(0, 0.5)
        model.alpha_reduce.normal_(0, 0.5)
    opt = torch.optim.SGD(model.weight_parameters(), lr=0.1, momentum=0.9, weight_decay=3e-4)
    xt, yt = torch.randn(6, 1, 6, 6), torch.randint(0, 3, (6,))
    xv, yv = torch.randn(6, 1, 6, 6), torch.randint(0, 3, (6,))
    F.cross_entropy(model(xt), yt).backward()  # one step so that momentum buffers exist
    opt.step()
    opt.zero_grad()
    yield model, opt, (xt, yt, xv, yv)
    torch.set_default_dtype(old)


def exact_unrolled_gradient(model, opt, xt, yt, xv, yv, lr):
    """∇_α L_val(w - ξ(∇_w L_train(w, α) + wd·w + μ·buf), α) by plain autograd through the step."""
    named = dict(model.named_parameters())
    w_names = [n for n in named if not is_arch_name(n)]
    a_names = [n for n in named if is_arch_name(n)]
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    train_loss = F.cross_entropy(functional_call(model, (named, buffers), (xt,)), yt)
    grads = torch.autograd.grad(train_loss, [named[n] for n in w_names], create_graph=True)
    unrolled = {}
    for n, g in zip(w_names, grads):
        p = named[n]
        buf = opt.state[p]["momentum_buffer"]
        unrolled[n] = p - lr * (g + 3e-4 * p + 0.9 * buf)
    unrolled.update({n: named[n] for n in a_names})
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    val_loss = F.cross_entropy(functional_call(model, (unrolled, buffers), (xv,)), yv)
    return torch.autograd.grad(val_loss, [named[n] for n in a_names])


def test_second_order_gradient_matches_brute_force_autograd(tiny):
    # With a small finite-difference step (float64) eq. 8 must reproduce the exact hypergradient.
    model, opt, batch = tiny
    exact = exact_unrolled_gradient(model, opt, *batch, lr=0.1)
    _, approx = Architect(model, opt, order=2, fd_scale=1e-6).unrolled_gradient(*batch, lr=0.1)
    first_order = torch.autograd.grad(F.cross_entropy(model(batch[2]), batch[3]), model.arch_parameters())
    for e, a, f in zip(exact, approx, first_order):
        assert (e - f).abs().max() > 1e-3  # the Hessian term matters here
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-7)


def test_darts_step_size_gives_a_nearby_direction(tiny):
    # DARTS' ε = 0.01/||v|| is a coarse approximation; it must still point the same way.
    model, opt, batch = tiny
    exact = torch.cat([g.flatten() for g in exact_unrolled_gradient(model, opt, *batch, lr=0.01)])
    _, approx = Architect(model, opt, order=2).unrolled_gradient(*batch, lr=0.01)
    approx = torch.cat([g.flatten() for g in approx])
    assert F.cosine_similarity(exact, approx, dim=0) > 0.95


def test_second_order_differs_from_first_order(tiny):
    model, opt, (xt, yt, xv, yv) = tiny
    first = torch.autograd.grad(F.cross_entropy(model(xv), yv), model.arch_parameters())
    _, second = Architect(model, opt, order=2).unrolled_gradient(xt, yt, xv, yv, lr=0.1)
    assert any((f - s).abs().max() > 1e-6 for f, s in zip(first, second))


def test_step_never_deep_copies_the_model(tiny, monkeypatch):
    model, opt, batch = tiny
    weights_before = [p.detach().clone() for p in model.weight_parameters()]
    alpha_before = model.alpha_normal.detach().clone()

    def forbidden(*args, **kwargs):
        raise AssertionError("deepcopy called")

    monkeypatch.setattr(copy, "deepcopy", forbidden)
    Architect(model, opt, order=2).step(*batch, lr=0.1)
    assert not torch.equal(model.alpha_normal, alpha_before)  # α moved
    for before, p in zip(weights_before, model.weight_parameters()):
        assert torch.equal(before, p.detach())  # the unrolled step did not touch w


def test_order_must_be_one_or_two(tiny):
    model, opt, _ = tiny
    with pytest.raises(ValueError):
        Architect(model, opt, order=3)
