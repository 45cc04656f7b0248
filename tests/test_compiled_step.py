"""The compiled search step computes what the eager one does; where it cannot apply, it says so.

Compiled (``SearchConfig.compile``, :func:`toolkit.runtime.compiled`) and eager steps run from the
same supernet, optimiser state and data: the α step's loss and gradients (first and second order)
and the w step's loss, weight gradients and batch-norm statistics must agree within float32
tolerances. On CPU the suite compiles with the ``aot_eager`` backend: the same graph capture and
autograd graphs as inductor without generating C++ (minutes for a supernet on a small CPU). On CUDA
(skipped without one) it compiles with inductor. The step recorded as a CUDA graph is checked in
``tests/test_graphed_step.py``.
"""

import copy
import logging

import pytest
import torch
import torch.nn.functional as F

import toolkit.runtime as runtime
from toolkit.architect import Architect
from toolkit.config import SearchConfig
from toolkit.data import load_dataset
from toolkit.partial import partial_edge
from toolkit.search import compile_mode, run_search
from toolkit.space import SearchSpace
from toolkit.supernet import Supernet

# the smallest supernet with every kind of op path: skipped 'none', pooling + BN, the shared ReLU +
# fused convs + BN, identity, and at stride 2 the factorized reduce that runs edge by edge
OPS = ("none", "max_pool_3x3", "skip_connect", "sep_conv_3x3")
VARIANTS = {  # name: (order, Supernet keyword arguments)
    "darts-1st": (1, {}),
    "darts-2nd": (2, {}),
    "pcdarts-k4": (1, {"edge": partial_edge("random", 4), "edge_norm": True}),
    "adarts-k4": (1, {"edge": partial_edge("attention", 4), "edge_norm": True}),
}
LR = 0.05


@pytest.fixture
def aot_eager(monkeypatch):
    monkeypatch.setattr(runtime, "COMPILE_BACKEND", "aot_eager")
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def tiny_step(kwargs, order, mode, device, seed=0):
    """Loss and α gradients of one α step, then loss, w gradients and buffers of one w step."""
    torch.manual_seed(seed)
    model = Supernet(SearchSpace(OPS, nodes=2), C=4, cells=3, num_classes=3, in_channels=3, **kwargs).to(device)
    with torch.no_grad():
        for a in model.arch_parameters():
            a.normal_(0, 0.5)
    g = torch.Generator().manual_seed(seed + 1)
    xt, xv = (torch.randn(6, 3, 8, 8, generator=g).to(device) for _ in range(2))
    yt, yv = (torch.randint(0, 3, (6,), generator=g).to(device) for _ in range(2))
    w_opt = torch.optim.SGD(model.weight_parameters(), lr=LR, momentum=0.9, weight_decay=3e-4)
    F.cross_entropy(model(xt), yt).backward()  # one eager w step so that momentum buffers exist
    w_opt.step()
    model.zero_grad()
    architect = Architect(model, w_opt, order=order, compile=mode)
    alpha_loss, alpha_grads = architect.alpha_gradient(xt, yt, xv, yv, LR)
    # clones: a CUDA graph's next replay overwrites its outputs
    result = {"alpha_loss": alpha_loss.detach().clone(), "alpha_grads": [g.detach().clone() for g in alpha_grads],
              "buffers": [b.clone() for b in model.buffers()]}
    if order == 2:  # its w step is the first-order variant's compiled forward, checked there
        return result
    w_loss = F.cross_entropy(architect.forward(xt), yt)  # the w step runs the same (compiled) forward
    w_loss.backward(inputs=model.weight_parameters())
    return {**result, "w_loss": w_loss.detach().clone(), "w_grads": [p.grad.clone() for p in model.weight_parameters()],
            "buffers": [b.clone() for b in model.buffers()]}


def assert_same_step(got, want, rtol=1e-4, atol=1e-5):
    for key in want:
        if isinstance(want[key], list):
            assert len(got[key]) == len(want[key]) > 0
            for a, b in zip(got[key], want[key]):
                torch.testing.assert_close(a, b, rtol=rtol, atol=atol)
        else:
            torch.testing.assert_close(got[key], want[key], rtol=rtol, atol=atol)
    assert all(g.abs().max() > 0 for g in want["alpha_grads"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_compiled_step_matches_eager_on_cpu(variant, aot_eager):
    order, kwargs = VARIANTS[variant]
    cpu = torch.device("cpu")
    assert_same_step(tiny_step(kwargs, order, "on", cpu), tiny_step(kwargs, order, "off", cpu))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("variant", VARIANTS)
def test_compiled_step_matches_eager_on_cuda(variant):
    order, kwargs = VARIANTS[variant]
    cuda = torch.device("cuda")
    torch._dynamo.reset()
    assert_same_step(tiny_step(kwargs, order, "on", cuda), tiny_step(kwargs, order, "off", cuda), rtol=1e-3, atol=1e-4)


def test_compiled_search_drops_the_last_short_batch_and_runs(monkeypatch):
    """run_search with compile on: graph capture only (the "eager" backend; the graphs are checked above)."""
    monkeypatch.setattr(runtime, "COMPILE_BACKEND", "eager")
    torch._dynamo.reset()
    data = load_dataset("fake", seed=0, image_size=8)
    config = SearchConfig(dataset="fake", epochs=1, channels=4, cells=3, space=SearchSpace(OPS, nodes=2),
                          batch_size=48, compile="on")
    seen = []
    result = run_search(config, data=data, listeners=(seen.append,))
    half = len(data.train) // 2  # the w half and the α half (train_portion 0.5)
    assert len(data.train) % 2 == 0 and half % 48  # the setting has a short last batch to drop
    assert [e["steps_per_epoch"] for e in seen if e.kind == "run_start"] == [half // 48]
    assert result.status == "finished" and len(result.history) == 1
    assert torch.isfinite(torch.tensor(result.history[0]["train_loss"]))


@pytest.mark.parametrize("device, mode, amp, want", [
    ("mps", "on", "off", "off"),  # torch.compile is not used on MPS
    ("cpu", "cudagraphs", "off", "off"),  # CUDA graphs need CUDA
    ("mps", "cudagraphs", "off", "off"),
    ("cuda", "cudagraphs", "fp16", "off"),  # fp16's loss scaler reads overflow checks on the CPU
    ("cuda", "cudagraphs", "bf16", "cudagraphs"),
    ("cuda", "cudagraphs", "off", "cudagraphs"),  # first and second order alike
    ("cuda", "on", "fp16", "on"),
    ("cpu", "off", "off", "off"),
])
def test_compile_plan_falls_back_with_a_reason(device, mode, amp, want, aot_eager):
    got, reason = runtime.compile_plan(torch.device(device), mode, amp)
    assert got == want
    assert (reason is None) == (got == mode)
    assert reason is None or ("\n" not in reason and reason.startswith("compile: "))


def test_cpu_without_a_compiler_runs_eager_and_logs_one_line(monkeypatch, caplog):
    monkeypatch.setattr(runtime, "cpp_compiler_works", lambda: False)
    config = SearchConfig(dataset="fake", channels=4, cells=3, compile="on")
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        assert compile_mode(config, torch.device("cpu")) == "off"
    assert [r.getMessage() for r in caplog.records] == [
        "compile: no working C++ compiler (set CXX or install g++); the search step runs eager"]


def test_unknown_compile_mode_is_a_clear_error():
    from toolkit.errors import ToolkitError

    with pytest.raises(ToolkitError, match="unknown compile mode 'fast'"):
        SearchConfig(compile="fast")


def test_bf16_autocast_step_on_cpu_is_close_to_fp32():
    """bf16 autocast runs the α and w steps of every edge type on CPU, losses near fp32's."""
    for variant in ("darts-1st", "pcdarts-k4", "adarts-k4"):
        _, kwargs = VARIANTS[variant]
        results = []
        for amp in ("off", "bf16"):
            torch.manual_seed(0)
            model = Supernet(SearchSpace(OPS, nodes=2), C=8, cells=3, num_classes=3, in_channels=3, **kwargs)
            w_opt = torch.optim.SGD(model.weight_parameters(), lr=LR, momentum=0.9)
            x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 3, (8,))
            with runtime.autocast(torch.device("cpu"), amp):
                alpha_loss = float(Architect(model, w_opt).step(x, y, x, y, LR))
                w_loss = F.cross_entropy(model(x), y)
            w_loss.backward(inputs=model.weight_parameters())
            assert all(torch.isfinite(p.grad).all() for p in model.weight_parameters())
            results.append((alpha_loss, float(w_loss.detach())))
        (alpha32, w32), (alpha16, w16) = results
        assert abs(alpha16 - alpha32) < 0.05 and abs(w16 - w32) < 0.05, (variant, results)


def test_scaled_alpha_step_equals_the_unscaled_one_and_skips_on_overflow():
    """A GradScaler on the α step (fp16) changes nothing but the scale; an overflow skips the update."""
    for order in (1, 2):
        states = []
        for init_scale in (None, 2.0**8, float("inf")):
            torch.manual_seed(0)
            model = Supernet(SearchSpace(OPS, nodes=2), C=4, cells=3, num_classes=3, in_channels=3)
            before = copy.deepcopy([a.detach() for a in model.arch_parameters()])
            w_opt = torch.optim.SGD(model.weight_parameters(), lr=LR, momentum=0.9)
            x, y = torch.randn(6, 3, 8, 8), torch.randint(0, 3, (6,))
            scaler = None if init_scale is None else torch.amp.GradScaler("cpu", init_scale=init_scale)
            Architect(model, w_opt, order=order).step(x, y, x.flip(0), y, LR, scaler)
            states.append(([a.detach() for a in model.arch_parameters()], scaler))
        (plain, _), (scaled, _), (overflowed, _) = states
        for a, b, c in zip(plain, scaled, before):
            torch.testing.assert_close(a, b)
            assert not torch.equal(a, c)
        for a, c in zip(overflowed, before):
            assert torch.equal(a, c)  # skipped
