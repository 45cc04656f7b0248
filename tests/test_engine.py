"""The one run loop: DARTS-GAL stopped in any stage and resumed, GAL as one parent run, composable searches.

Every comparison is between runs in one process (a run with itself), so it holds on every CPU.
"""

import json
import pickle
import random
from dataclasses import replace

import numpy as np
import pytest
import torch

from toolkit.cli import main
from toolkit.config import SearchConfig, TrainConfig
from toolkit.data import load_dataset
from toolkit.errors import ToolkitError
from toolkit.events import StopSignal
from toolkit.gal import GalConfig
from toolkit.gal.run import run_gal
from toolkit.genotype import load_architecture
from toolkit.search import build_supernet, run_search
from toolkit.space import SearchSpace
from toolkit.train import train_network

# fake data: 256 training images, so 4 steps per stage (batch 64): baseline 1-4, masks 5-8, retrain 9-12
GAL = GalConfig(dataset="fake", channels=4, cells=3, reductions=(2,), epochs=1, batch_size=64, gal_epochs=2,
                gal_batch_size=128, device="cpu", d_hidden=16, lam=1.0)
GAL_FILES = ("config.json", "masks.json", "pruned_network.json", "report.json", "baseline/metrics.json",
             "masks/metrics.json", "retrain/metrics.json")
SEARCH = SearchConfig(dataset="fake", epochs=1, batch_size=32, channels=4, cells=3,
                      space=SearchSpace.preset("darts", 2))


def test_the_run_loop_example_runs():
    import doctest

    import toolkit.engine

    results = doctest.testmod(toolkit.engine)
    assert results.attempted > 0 and results.failed == 0


def stop_after(at: int, stop: StopSignal, seen: list):
    """A listener that records every event and asks for a stop after the ``at``-th step."""
    def listener(event):
        seen.append(event)
        if event.kind == "step" and sum(e.kind == "step" for e in seen) == at:
            stop.stop()
    return listener


def gal_parts(folder, stops, config=GAL):
    """run_gal stopped after each step count in ``stops`` (counted within each part), then resumed to the end;
    returns the last result and the events of every part."""
    parts = []
    for i, at in enumerate([*stops, None]):
        stop, seen = StopSignal(), []
        result = run_gal(load_architecture("DARTS_V2"), config, run_dir=folder, stop=stop, resume=i > 0,
                         listeners=(stop_after(at or 0, stop, seen),))
        parts.append(seen)
        assert result.status == ("finished" if at is None else "stopped")
        assert json.loads((folder / "run.json").read_text())["status"] == result.status
    return result, parts


@pytest.fixture(scope="module")
def full_gal(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gal") / "full"
    result, (events,) = gal_parts(folder, [])
    return folder, result, events


def read(folder, names):
    return {name: (folder / name).read_bytes() for name in names}


@pytest.mark.parametrize("stops", [[2], [5], [11], [7, 3]], ids=["baseline", "masks", "retrain", "masks-twice"])
def test_gal_stopped_in_any_stage_resumes_to_the_uninterrupted_result(stops, tmp_path, full_gal):
    full_dir, full, _ = full_gal
    resumed, parts = gal_parts(tmp_path / "run", stops)
    assert resumed.masks == full.masks and resumed.keep == full.keep
    assert resumed.history == full.history
    assert resumed.report.to_dict() == full.report.to_dict()
    assert read(tmp_path / "run", GAL_FILES) == read(full_dir, GAL_FILES)
    for name, param in full.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], param), name
    # each part's one bar counts exactly the steps that part computes
    for seen in parts:
        root = seen[0]
        assert root.kind == "run_start" and root["kind"] == "gal" and root.parent is None
        assert root["total_steps"] == sum(e.kind == "step" for e in seen) or seen[-1]["status"] == "stopped"


def test_gal_retraining_inherited_weights_resumes_to_the_uninterrupted_result(tmp_path):
    config = replace(GAL, retrain="inherit")
    full, _ = gal_parts(tmp_path / "full", [], config)
    resumed, _ = gal_parts(tmp_path / "parts", [10], config)
    assert resumed.history == full.history and resumed.report.to_dict() == full.report.to_dict()
    assert read(tmp_path / "parts", GAL_FILES) == read(tmp_path / "full", GAL_FILES)


def test_gal_is_one_parent_run_of_its_stages(full_gal):
    _, _, events = full_gal
    root = events[0]
    assert root["total_steps"] == sum(e.kind == "step" for e in events) == 12
    stages = [e for e in events if e.kind == "run_start" and e is not root]
    assert [(e["name"], e["kind"]) for e in stages] == [("baseline", "train"), ("gal masks", "prune"),
                                                        ("retrain", "train")]
    assert all(e.parent == root.run_id for e in events if e.run_id != root.run_id)
    assert events[-1].kind == "run_end" and events[-1].run_id == root.run_id
    assert events[-1]["status"] == "finished" and events[-1]["epochs_done"] == 4


def test_cli_prune_resume_continues_a_stopped_run(tmp_path, capsys):
    flags = ["--dataset", "fake", "--epochs", "1", "--batch-size", "64", "--channels", "4", "--cells", "3",
             "--reductions", "2", "--gal-epochs", "2", "--lam", "1", "--quiet"]
    # the command line picks the thread count: run the uninterrupted run through it first
    assert main(["prune", "gal", "--genotype", "DARTS_V2", *flags, "--out", str(tmp_path / "full")]) == 0
    config = replace(GAL, gal_batch_size=GalConfig().gal_batch_size, d_hidden=GalConfig().d_hidden, device="auto")
    stop, seen = StopSignal(), []
    run_gal(load_architecture("DARTS_V2"), config, run_dir=tmp_path / "parts", stop=stop,
            listeners=(stop_after(6, stop, seen),))
    assert json.loads((tmp_path / "parts" / "run.json").read_text())["status"] == "stopped"
    capsys.readouterr()
    assert main(["prune", "gal", "--resume", "--quiet", "--out", str(tmp_path / "parts")]) == 0
    assert "finished" in capsys.readouterr().out
    assert read(tmp_path / "parts", GAL_FILES) == read(tmp_path / "full", GAL_FILES)


def test_resuming_a_gal_run_that_pruned_a_given_baseline_needs_that_baseline(tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"kind": "gal", **GAL.to_dict()}))
    assert main(["prune", "gal", "--resume", "--quiet", "--out", str(folder)]) == 2
    assert "resume with --baseline RUN" in capsys.readouterr().err


# ------------------------------------------------------------------------------- composable searches

def test_search_starts_from_a_given_supernet_and_alphas():
    data = load_dataset("fake")
    first = run_search(SEARCH, data=data)
    deeper = replace(SEARCH, cells=5)
    model = build_supernet(deeper, data)
    stop = StopSignal()
    stop.stop()  # nothing computed: the result holds exactly what was handed in
    result = run_search(deeper, data=data, model=model, alphas=first.alphas, stop=stop)
    assert result.model is model and result.alphas == first.alphas
    assert result.genotype == first.genotype  # same α, same derived cells
    trained = run_search(deeper, data=data, model=build_supernet(deeper, data), alphas=first.alphas)
    assert trained.alphas != first.alphas and len(trained.history) == 1


def test_alphas_that_do_not_fit_the_supernet_are_refused():
    data = load_dataset("fake")
    alphas = run_search(replace(SEARCH, epochs=1), data=data, stop=stopped()).alphas
    with pytest.raises(ToolkitError, match="alpha_normal.*shape"):
        run_search(replace(SEARCH, space=SearchSpace.preset("darts", 3)), data=data, alphas=alphas, stop=stopped())
    with pytest.raises(ToolkitError, match="lacks"):
        run_search(SEARCH, data=data, alphas={"gamma": [1.0]}, stop=stopped())


def stopped() -> StopSignal:
    stop = StopSignal()
    stop.stop()
    return stop


def test_search_result_pickles_without_its_live_module(tmp_path):
    result = run_search(SEARCH, run_dir=tmp_path / "run")
    copy = pickle.loads(pickle.dumps(result))
    assert copy.model is None and result.model is not None
    assert (copy.genotype, copy.history, copy.status, copy.alphas, copy.run_dir) == \
        (result.genotype, result.history, result.status, result.alphas, result.run_dir)
    assert all(isinstance(v, list) for v in copy.alphas.values())


# ------------------------------------------------------------------------------------- random state

TRAIN = TrainConfig(dataset="fake", epochs=1, batch_size=64, channels=4, cells=3, drop_path=0.2, dropout=0.3,
                    auxiliary_weight=0.4)  # dropout and drop-path draw random numbers in every step


def global_state():
    return random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state()


def same_state(a, b):
    return a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])


@pytest.mark.parametrize("kind", ["search", "train", "gal"])
def test_a_run_leaves_the_callers_random_state_alone(kind):
    torch.manual_seed(1234)
    random.seed(1234)
    np.random.seed(1234)
    before = global_state()
    if kind == "search":
        run_search(SEARCH)
    elif kind == "train":
        train_network(load_architecture("DARTS_V2"), TRAIN)
    else:
        run_gal(load_architecture("DARTS_V2"), replace(GAL, gal_epochs=1))
    assert same_state(global_state(), before)


def test_runs_inside_another_or_one_after_the_other_give_each_alone_result():
    darts = load_architecture("DARTS_V2")
    alone_train = train_network(darts, TRAIN).history
    alone_search = run_search(SEARCH).history
    inner = []

    def start_a_search_mid_training(event):
        if event.kind == "step" and event["step"] == 2:
            inner.append(run_search(SEARCH).history)

    outer = train_network(darts, TRAIN, listeners=(start_a_search_mid_training,)).history
    assert inner == [alone_search] and outer == alone_train
    assert run_search(SEARCH).history == alone_search and train_network(darts, TRAIN).history == alone_train
