"""``python -m toolkit show`` on the run folders of tiny search, train and prune runs (and unknown kinds)."""

import json
import shutil

import pytest

from toolkit.cli import main

TINY = ["--dataset", "fake", "--epochs", "1", "--channels", "4", "--cells", "3", "--batch-size", "64", "--quiet"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One folder per kind of run, each written by a real (tiny) run of the command line."""
    root = tmp_path_factory.mktemp("runs")
    assert main(["search", "adarts", *TINY, "--nodes", "2", "--k", "2", "--image-size", "8", "--out",
                 str(root / "search")]) == 0
    assert main(["train", "--genotype", str(root / "search" / "genotype.json"), *TINY, "--out",
                 str(root / "train")]) == 0
    assert main(["prune", "gal", "--genotype", "DARTS_V2", *TINY, "--gal-epochs", "1", "--lam", "50", "--out",
                 str(root / "prune")]) == 0
    return root


def test_search_run_summary(runs, capsys):
    code, out, _ = run(capsys, "show", runs / "search")
    assert code == 0
    assert "search run" in out and "finished, 1/1 epochs" in out
    assert "ADARTS search (first order, K=2, 8 ops, 2 nodes per cell)" in out
    assert "data: fake, image size 8 px, batch 64, seed 0" in out and "C=4, 3 cells" in out
    assert "val acc: best" in out and "(epoch 1), final" in out
    assert "0 = c_{k-2}, 1 = c_{k-1}" in out and "normal: " in out and "reduce: " in out


def test_train_run_summary(runs, capsys):
    code, out, _ = run(capsys, "show", runs / "train")
    record = json.loads((runs / "train" / "run.json").read_text())
    assert code == 0 and "train run" in out and "finished, 1/1 epochs" in out
    assert "image size 8 px" in out  # inherited from the search run it trains
    assert json.loads((runs / "train" / "config.json").read_text())["image_size"] == 8
    assert f"test acc: best {100 * record['test_acc']:.2f}%" in out
    assert f"parameters: {record['parameters']:,}" in out
    assert "cell 1 normal, reads stem twice: " in out and "cell 3 reduce, reads cells 1, 2: " in out


def test_prune_run_summary_has_baseline_and_pruned_figures(runs, capsys):
    code, out, _ = run(capsys, "show", runs / "prune")
    report = json.loads((runs / "prune" / "report.json").read_text())
    assert code == 0 and "gal run" in out and "DARTS-GAL node pruning (λ=50" in out
    assert "stages (epochs): baseline 1/1, masks 1/1, retrain 1/1" in out
    assert (f"parameters: baseline {report['parameters_before']:,} -> pruned {report['parameters_after']:,}"
            in out)
    assert f"baseline {100 * report['acc_before']:.2f}%" in out
    assert f"pruned and retrained {100 * report['acc_after']:.2f}%" in out
    assert "pruned network" in out and "image size 8 px (native)" in out
    assert " ;  " not in out and ":  ;" not in out  # an emptied cell never prints as 'cell 2 reduce <- (0, 1):  ; 1'


def test_stopped_and_unknown_runs_are_summarised(runs, capsys, tmp_path):
    stopped = tmp_path / "stopped"
    shutil.copytree(runs / "prune", stopped)
    for name in ("run.json", "report.json", "pruned_network.json", "masks.json"):
        (stopped / name).unlink()
    shutil.rmtree(stopped / "retrain")
    code, out, _ = run(capsys, "show", stopped)
    assert code == 0 and "running or interrupted (continue it with --resume)" in out
    assert "masks 0/1, retrain 0/1" in out and "no report.json yet" in out
    assert "baseline network (not pruned yet)" in out
    future = tmp_path / "future"
    future.mkdir()
    (future / "config.json").write_text(json.dumps({"kind": "ts_enas", "dataset": "digits", "epochs": 4}))
    (future / "metrics.json").write_text(json.dumps([{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.4}]))
    code, out, _ = run(capsys, "show", future)
    assert code == 0 and "ts_enas run" in out and "a kind this version does not know" in out
    assert "2/4 epochs" in out and "val acc: best 50.00% (epoch 1), final 40.00%" in out and "no genotype yet" in out


def test_a_folder_that_is_not_a_run_gets_one_error_line(tmp_path, capsys):
    code, _, err = run(capsys, "show", tmp_path)
    assert code == 2 and err.count("\n") == 1 and "is not a run folder (no config.json)" in err
