"""Does inheritance pay: one network of a TS-ENAS run, trained from scratch and from the SuperNet's cells."""

import dataclasses

import pytest
import torch

from toolkit.errors import ToolkitError
from toolkit.genotype import Network
from toolkit.model import EvalNetwork, NetworkSizes
from toolkit.tsenas import TsEnasConfig, inherit_cells, inheritance_gain, supernet_network
from toolkit.tsenas.gain import FINAL, SCRATCH, inheritance_specs, pick_member, read_run
from toolkit.tsenas.run import run_ts_enas

TINY = dict(dataset="digits", device="cpu", channels=4, population=2, rough_generations=0, survivors=1,
            fine_generations=0, epochs=1, supernet_epochs=1, n_min=2, n_max=3, batch_size=256, max_train_images=200)
SIZES = NetworkSizes(C=4, in_channels=1, num_classes=10)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gain") / "run"
    return run_ts_enas(TsEnasConfig(**TINY), run_dir=folder)


def test_the_arms_differ_only_in_their_start(finished):
    saved = read_run(finished.run_dir)
    member = pick_member(saved, None)
    assert member["id"] == finished.best["id"]
    arms = inheritance_specs(saved, member, {FINAL: saved.supernet}, seeds=(0, 1))
    assert list(arms) == [SCRATCH, FINAL] and all(len(specs) == 2 for specs in arms.values())
    network = Network.from_dict(member["network"])
    supernet_description, slots = supernet_network(saved.space, (saved.config.n_max - 1) // 2)
    supernet = EvalNetwork(supernet_description, SIZES)
    supernet.load_state_dict(saved.supernet)
    for seed, scratch, inherited in zip((0, 1), arms[SCRATCH], arms[FINAL]):
        assert scratch.architecture == inherited.architecture == network
        assert scratch.seed == inherited.seed == seed and scratch.config == inherited.config
        assert scratch.config.epochs == saved.config.epochs
        assert scratch.holdout == inherited.holdout is not None and not scratch.test and not inherited.test
        expected = EvalNetwork(network, SIZES)  # the scratch start with the cells copied in
        expected.load_state_dict(scratch.weights)
        report = inherit_cells(expected, supernet, member["codes"], saved.space, slots)
        assert report.copied and all(torch.equal(inherited.weights[c.target], saved.supernet[c.source])
                                     for c in report.copied)
        assert all(torch.equal(inherited.weights[k], v) for k, v in expected.state_dict().items())
        assert any(not torch.equal(scratch.weights[c.target], inherited.weights[c.target]) for c in report.copied)
    first, second = (s.weights for s in arms[SCRATCH])
    assert any(not torch.equal(first[k], second[k]) for k in first), "each seed starts from its own initialisation"


def test_gain_reports_validation_accuracy_per_arm_and_seed(finished):
    gain = inheritance_gain(finished, seeds=(0, 1))
    assert gain.individual == finished.best["id"] and gain.epochs == 1 and gain.seeds == (0, 1)
    assert list(gain.val_acc) == [SCRATCH, FINAL] and all(len(a) == 2 for a in gain.val_acc.values())
    assert all(0.0 <= a <= 1.0 for accs in gain.val_acc.values() for a in accs)
    assert gain.means[SCRATCH] == pytest.approx(sum(gain.val_acc[SCRATCH]) / 2)
    state = read_run(finished.run_dir).supernet
    twice = inheritance_gain(finished.run_dir, finished.best["id"], seeds=(3,), supernets={"a": state, "b": state})
    assert list(twice.val_acc) == [SCRATCH, "a", "b"] and twice.val_acc["a"] == twice.val_acc["b"]


def test_bad_input_is_one_clear_error(finished, tmp_path):
    with pytest.raises(ToolkitError, match="holds no TS-ENAS run"):
        inheritance_gain(tmp_path)
    with pytest.raises(ToolkitError, match="no run folder"):
        inheritance_gain(dataclasses.replace(finished, run_dir=None))
    with pytest.raises(ToolkitError, match="seeds must be"):
        inheritance_gain(finished, seeds=())
    saved = read_run(finished.run_dir)
    with pytest.raises(ToolkitError, match="pick one of g0-"):
        pick_member(saved, "g9-9")
    with pytest.raises(ToolkitError, match="chose no network"):
        pick_member(dataclasses.replace(saved, best=None), None)
    with pytest.raises(ToolkitError, match="lacks codes"):
        pick_member(saved, {"id": "x", "network": finished.best["network"]})
