"""Selection never sees the test split: every choice is made on validation data.

A guarded test split raises when an item is read before it is unlocked; TS-ENAS (search and every
candidate), DARTS-GAL's mask stage with its collapse check, and ME-DARTS run on it. Also: the
validation hold-out itself, candidates that carry ``val_acc`` only, and the chosen network being
the best by ``val_acc``.
"""

from dataclasses import replace

import pytest
import torch
from torch.utils.data import Dataset

import toolkit.evaluate as evaluate_module
from toolkit.config import SearchConfig, TrainConfig
from toolkit.data import DatasetSplits, balanced_subset, labels_of, load_dataset
from toolkit.engine import Session
from toolkit.evaluate import EvalSpec, evaluate
from toolkit.gal.adversarial import train_masks
from toolkit.gal.config import GalConfig
from toolkit.genotype import PUBLISHED
from toolkit.holdout import Holdout, hold_out
from toolkit.medarts import MeDartsConfig, run_me_darts
from toolkit.medarts.stages import Stage, StagePlan
from toolkit.train import train_network
from toolkit.tsenas import TsEnasConfig
from toolkit.tsenas.run import _Evaluator, run_ts_enas


class GuardedTestSplit(Dataset):
    """A test split whose items raise until :meth:`unlock` (the final report) is called."""

    def __init__(self, dataset: Dataset):
        self.dataset, self.unlocked, self.reads = dataset, False, 0

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        if not self.unlocked:
            raise AssertionError("a selection path read the test split")
        self.reads += 1
        return self.dataset[index]

    def __iter__(self):
        if not self.unlocked:
            raise AssertionError("a selection path iterated the test split")
        return (self[i] for i in range(len(self)))

    def unlock(self) -> None:
        self.unlocked = True


def guarded(data: DatasetSplits) -> tuple[DatasetSplits, GuardedTestSplit]:
    guard = GuardedTestSplit(data.test)
    return replace(data, test=guard), guard


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_guard_raises_on_a_read(digits):
    data, guard = guarded(digits)
    with pytest.raises(AssertionError, match="read the test split"):
        data.test[0]
    with pytest.raises(AssertionError, match="iterated"):
        iter(data.test)
    guard.unlock()
    assert torch.equal(data.test[0][0], digits.test[0][0])


def test_ts_enas_selects_on_validation_and_tests_only_the_chosen_network(digits, monkeypatch):
    data, guard = guarded(digits)
    evaluate_module._dataset.cache_clear()
    monkeypatch.setattr(evaluate_module, "load_dataset", lambda *args, **kwargs: data)  # candidates' data
    finals = []
    original = _Evaluator.test

    def final_test(self, member, weights):
        finals.append(member["id"])
        guard.unlock()  # the final report: the one read allowed
        return original(self, member, weights)

    monkeypatch.setattr(_Evaluator, "test", final_test)
    generations = []
    config = TsEnasConfig(dataset="digits", device="cpu", channels=4, population=3, rough_generations=1, survivors=2,
                          fine_generations=1, epochs=1, supernet_epochs=1, n_min=2, n_max=3, batch_size=256)
    try:
        result = run_ts_enas(config, data=data, listeners=[generations.append])
    finally:
        evaluate_module._dataset.cache_clear()
    assert result.status == "finished" and finals == [result.best["id"]]
    assert guard.reads == len(digits.test)  # read once, all of it, for the chosen network
    last = [e for e in generations if e.kind == "generation"][-1]["population"]
    assert all("test_acc" not in m["metrics"] for m in last)
    assert result.best["val_acc"] == max(m["metrics"]["val_acc"] for m in last)
    assert 0.0 <= result.best["test_acc"] <= 1.0


def test_gal_mask_stage_and_collapse_check_read_only_validation_images(digits):
    small = DatasetSplits(balanced_subset(digits.train, per_class=12, seed=0), digits.test, 10, 1, 8, "digits")
    config = GalConfig(channels=4, cells=3, reductions=(2,), epochs=4, lr=0.1, batch_size=12, gal_epochs=2,
                       gal_batch_size=40, device="cpu", d_hidden=16)
    baseline = train_network(PUBLISHED["DARTS_V2"], config, data=small, test=False).model
    data, guard = guarded(small)
    healthy = train_masks(baseline, config, data, Session(config))
    assert healthy.status == "finished" and all("val_acc" in r and "test_acc" not in r for r in healthy.history)
    collapsing = replace(config, lam=1e4, gal_epochs=3)  # every mask 0 in epoch 1: the check must fire
    collapsed = train_masks(baseline, collapsing, data, Session(collapsing))
    assert collapsed.status == "collapsed" and "validation accuracy" in collapsed.message
    assert guard.reads == 0


def test_me_darts_never_reads_the_test_split(digits):
    data, guard = guarded(digits)
    plan = StagePlan(
        Stage("init", cells=3, channels=4, epochs=1, train_samples=100, population=2, batch_size=16),
        Stage("mid", cells=3, channels=4, epochs=1, train_samples=100, population=2, parents=2, batch_size=16),
        Stage("final", cells=3, channels=4, epochs=1, train_samples=100, population=1, parents=1, batch_size=16),
    )
    result = run_me_darts(MeDartsConfig(SearchConfig(dataset="digits", device="cpu"), stages=plan), data=data)
    assert result.status == "finished" and result.genotype is not None and guard.reads == 0


def test_the_hold_out_is_class_balanced_seeded_and_disjoint(digits):
    held = hold_out(digits, Holdout(seed=5))
    train, valid = held.train, held.valid
    assert set(train.indices).isdisjoint(valid.indices)
    assert len(train) + len(valid) == len(digits.train) and held.test is digits.test
    labels = labels_of(digits.train)
    per_class = torch.bincount(labels[torch.tensor(valid.indices)], minlength=10)
    totals = torch.bincount(labels, minlength=10)
    assert torch.all((per_class - 0.1 * totals).abs() <= 0.5)  # 10% of each class, rounded
    assert hold_out(digits, Holdout(seed=5)).valid.indices == valid.indices
    assert hold_out(digits, Holdout(seed=6)).valid.indices != valid.indices


def test_a_worker_reproduces_the_split_and_a_candidate_carries_val_acc_only(digits):
    holdout = Holdout(seed=0)
    evaluate_module._dataset.cache_clear()
    worker = evaluate_module._dataset("digits", "data", 0, None, holdout)
    assert worker.valid.indices == hold_out(load_dataset("digits", seed=0), holdout).valid.indices
    config = TrainConfig(dataset="digits", epochs=1, channels=4, cells=3, device="cpu", batch_size=256)
    metrics = evaluate(EvalSpec(PUBLISHED["DARTS_V2"], config, holdout=holdout, test=False))
    assert 0.0 <= metrics["val_acc"] <= 1.0 and metrics["test_acc"] is None
    assert all("test_acc" not in r and "val_acc" in r for r in metrics["history"])
    with pytest.raises(Exception, match="needs a holdout"):
        EvalSpec(PUBLISHED["DARTS_V2"], config, test=False)
