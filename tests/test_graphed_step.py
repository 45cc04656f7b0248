"""The search step recorded as one CUDA graph (``compile='cudagraphs'``, :mod:`toolkit.graphed`).

On CPU a stand-in for the CUDA graph checks :class:`GraphedStep`'s bookkeeping inside a real search:
the stand-in's capture runs nothing (it puts back every parameter, buffer and optimiser state the
recording touched, and fails if the recording created optimiser state, which a real replay would
create afresh every step), and its replay reruns the recorded step on the static inputs and writes
the results into the recorded output tensors, as a CUDA graph does. A search so recorded must give
the eager search's records exactly. On CUDA (skipped without one) the real graphs run, and the
search must match the eager one within float32 tolerances.
"""

import contextlib
import copy

import pytest
import torch

import toolkit.search as search
from toolkit.config import SearchConfig
from toolkit.data import load_dataset
from toolkit.graphed import GraphedStep
from toolkit.space import SearchSpace

OPS = ("none", "max_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3")


class StandInGraph:
    """A CPU stand-in for ``torch.cuda.CUDAGraph``: replay reruns the step into the recorded outputs."""

    def __init__(self, graphed: GraphedStep):
        self.graphed = graphed

    def replay(self):
        g = self.graphed
        for static, fresh in zip(g.outputs, g.step(*g.inputs)):
            static.copy_(fresh)


def stand_in_capture(state):
    """A ``torch.cuda.graph`` stand-in: what the recorded step changes in ``state()`` is put back."""

    @contextlib.contextmanager
    def capture(graph):
        model, optimizers = state()
        saved = copy.deepcopy(model.state_dict()), [copy.deepcopy(o.state_dict()) for o in optimizers]
        sizes = [len(o.state) for o in optimizers]
        yield
        assert [len(o.state) for o in optimizers] == sizes, "optimiser state was created while recording"
        model.load_state_dict(saved[0])
        for o, s in zip(optimizers, saved[1]):
            o.load_state_dict(s)

    return capture


def recording_search(monkeypatch):
    """Make run_search record its steps with the stand-in; returns the GraphedSteps it made."""
    made = []

    def stand_in_graphed_step(update):
        run = update.__self__  # the search whose step this is; its optimisers exist by the first capture
        step = GraphedStep(update, graph=lambda: StandInGraph(step),
                           capture=stand_in_capture(lambda: (run.model, [run.w_opt, run.architect.optimizer])))
        made.append(step)
        return step

    monkeypatch.setattr(search, "compile_mode", lambda config, device: "cudagraphs")
    monkeypatch.setattr(search, "GraphedStep", stand_in_graphed_step)
    return made


def tiny_config(**changes):
    fields = dict(dataset="fake", epochs=3, channels=4, cells=3, space=SearchSpace(OPS, nodes=2), batch_size=16,
                  warmup_epochs=1, seed=3)
    return SearchConfig(**{**fields, **changes})


@pytest.mark.parametrize("method", ["darts", "adarts"])
def test_a_recorded_search_gives_the_eager_search_records(method, monkeypatch):
    data = load_dataset("fake", seed=0, image_size=8)
    config = tiny_config(method=method, k=2 if method == "adarts" else 4)
    eager = search.run_search(config, data=data)
    made = recording_search(monkeypatch)
    recorded = search.run_search(config, data=data)
    (step,) = made
    steps = len(data.train) // 2 // 16
    assert steps > 4  # each epoch has eager steps, a recording and replays
    # one graph per epoch (a new learning rate; α joins after the warm-up epoch); 3 eager steps
    # before the first recording, 1 after each change
    assert step.captures == 3
    keys = [record["lr"] for record in eager.history]
    assert len(set(keys)) == 3
    for a, b in zip(recorded.history, eager.history):
        assert {k: a[k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")} == \
               {k: b[k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")}
    assert recorded.alphas == eager.alphas
    assert recorded.genotype == eager.genotype


def test_graphed_step_runs_eager_first_and_records_again_for_a_new_key():
    calls = []
    graphs = []

    class Graph:
        def replay(self):
            calls.append("replay")

    def step(x):
        calls.append("step")
        return (x * 2,)

    @contextlib.contextmanager
    def capture(graph):
        calls.append("record")
        yield
        graphs.append(graph)

    graphed = GraphedStep(step, warmup=2, graph=Graph, capture=capture)
    x = torch.ones(3)
    for key in ("a", "a", "a", "a", "b", "b", "b"):
        graphed(key, x)
    assert calls == ["step", "step",  # warm-up: eager
                     "record", "step", "replay", "replay",  # record (the step only traced), replay
                     "step",  # a new key: one eager step
                     "record", "step", "replay", "replay"]
    assert graphed.captures == 2 and len(graphs) == 2
    assert torch.equal(graphed.inputs[0], x) and graphed.inputs[0] is not x  # a static copy
    with pytest.raises(ValueError, match="warmup must be at least 1"):
        GraphedStep(step, warmup=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("method, order, amp", [("darts", 1, "off"), ("darts", 2, "off"), ("pcdarts", 1, "off"),
                                                ("adarts", 1, "off"), ("darts", 1, "bf16")])
def test_cuda_graphed_search_matches_the_eager_one(method, order, amp):
    data = load_dataset("fake", seed=0, image_size=8)
    runs = {}
    for mode in ("off", "cudagraphs"):
        config = tiny_config(method=method, order=order, amp=amp, device="cuda", compile=mode,
                             k=2 if method != "darts" else 4)
        runs[mode] = search.run_search(config, data=data)
    tolerance = dict(rtol=2e-2, atol=2e-2) if amp == "bf16" else dict(rtol=1e-3, atol=1e-4)
    for a, b in zip(runs["cudagraphs"].history, runs["off"].history):
        torch.testing.assert_close(torch.tensor([a["train_loss"], a["val_loss"]]),
                                   torch.tensor([b["train_loss"], b["val_loss"]]), **tolerance)
    for name, value in runs["off"].alphas.items():
        torch.testing.assert_close(torch.tensor(runs["cudagraphs"].alphas[name]), torch.tensor(value), **tolerance)
