"""``compare``: methods side by side at one budget, one evaluation, resumable, readable by ``show``."""

from __future__ import annotations

import csv
import json

import pytest

import toolkit.evaluate
from toolkit.cli import main
from toolkit.compare import COLUMNS, CompareConfig, base_config, compare, fit_budget, planned_images
from toolkit.config import TrainConfig
from toolkit.data import load_dataset
from toolkit.errors import ToolkitError
from toolkit.events import StopSignal

TINY = {"channels": 4, "cells": 3, "batch_size": 32}
EVAL = TrainConfig(epochs=1, channels=4, cells=3, batch_size=32)


def tiny(methods=("darts", "pcdarts"), budget=256, seeds=1) -> CompareConfig:
    return CompareConfig(methods, dataset="fake", budget=budget, seeds=seeds, evaluation=EVAL,
                         overrides={m: TINY for m in methods})


@pytest.fixture
def evaluations(monkeypatch):
    """Every final training's spec, in call order (the real evaluation still runs)."""
    specs = []
    real = toolkit.evaluate.evaluate

    def counting(spec):
        specs.append(spec)
        return real(spec)

    monkeypatch.setattr(toolkit.evaluate, "evaluate", counting)
    return specs


def test_table_rows_columns_and_one_evaluation(tmp_path, evaluations):
    result = compare(tiny(), tmp_path / "cmp")
    assert result.status == "finished"
    assert [(r["method"], r["seed"]) for r in result.rows] == [("darts", 0), ("pcdarts", 0)]
    with open(tmp_path / "cmp" / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == COLUMNS and [r["method"] for r in table] == ["darts", "pcdarts"]
    saved = json.loads((tmp_path / "cmp" / "results.json").read_text())
    assert [set(r) for r in saved] == [set(COLUMNS)] * 2
    for row in saved:
        assert row["images"] == 256 and row["parameters"] > 0 and 0 <= row["test_acc"] <= 1
        assert row["search_seconds"] > 0 and (tmp_path / "cmp" / row["run_folder"].split("/")[-1]).is_dir()
    # the same final training for both methods: one config and one hold-out, the architecture aside
    assert len(evaluations) == 2
    assert evaluations[0].config == evaluations[1].config and evaluations[0].holdout == evaluations[1].holdout
    assert evaluations[0].test and evaluations[0].config.epochs == 1
    for name in ("accuracy_vs_parameters", "accuracy_vs_search_time", "accuracy_spread"):
        assert (tmp_path / "cmp" / f"{name}.html").stat().st_size > 1000


def test_stop_then_resume_keeps_finished_rows(tmp_path, evaluations):
    stop, out = StopSignal(), tmp_path / "cmp"
    first = compare(tiny(), out, stop=stop, listeners=(lambda e: e.kind == "generation" and stop.stop(),))
    assert first.status == "stopped" and [r["method"] for r in first.rows] == ["darts"]
    kept = (out / "darts-seed0" / "result.json").stat().st_mtime_ns
    assert not (out / "pcdarts-seed0" / "result.json").exists()
    second = compare(tiny(), out, resume=True)
    assert second.status == "finished" and [r["method"] for r in second.rows] == ["darts", "pcdarts"]
    assert [s.name for s in evaluations] == ["darts seed 0", "pcdarts seed 0"]  # darts not trained again
    assert (out / "darts-seed0" / "result.json").stat().st_mtime_ns == kept
    assert second.rows[0] == first.rows[0]
    with pytest.raises(ToolkitError, match="other settings"):
        compare(tiny(budget=512), out, resume=True)
    with pytest.raises(ToolkitError, match="--resume"):
        compare(tiny(), out)


def test_budget_scales_every_method_to_about_the_same_images():
    data = load_dataset("digits", "data", seed=0)
    for method in ("darts", "me-darts", "ts-enas"):
        base = base_config(method, "digits", "data", 0)
        small, small_images = fit_budget(base, data, 15_000)
        large, large_images = fit_budget(base, data, 60_000)
        assert small_images == planned_images(small, data) and large_images > small_images
        assert abs(large_images - 60_000) < 0.25 * 60_000, method


def test_cli_and_show(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--methods", "darts", "--dataset", "fake", "--budget", "256", "--seeds", "1",
                 "--eval-epochs", "1", "--eval-channels", "4", "--eval-cells", "3", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "1/1 runs finished" in captured.out and captured.err.count("darts seed") == 1  # a line per finished run
    assert main(["show", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1/1 runs finished" in text and "darts" in text and "±" in text
    assert text.count("darts ") >= 2  # the row and the per-method line


@pytest.mark.parametrize("argv, fix", [
    (["--methods", "nope"], "choose one of"),
    (["--methods", "gal"], "prunes a given network"),
    (["--methods", "darts:nope"], "its presets"),
    (["--methods", "darts", "--budget", "0"], "--budget 20000"),
    (["--methods", "darts", "--seeds", "0"], "--seeds 3"),
    ([], "--methods darts"),
])
def test_bad_input_is_one_line(tmp_path, capsys, argv, fix):
    assert main(["compare", "--dataset", "fake", "--out", str(tmp_path / "cmp"), "--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and fix in err
    assert not (tmp_path / "cmp").exists()


class StopAfter(StopSignal):
    """A stop request that arrives at the ``checks``-th time a loop asks (inside the first search)."""

    def __init__(self, checks: int):
        super().__init__()
        self.checks = checks

    @property
    def requested(self) -> bool:
        self.checks -= 1
        if self.checks <= 0:
            self.stop()
        return super().requested


def test_a_search_stopped_midway_continues_from_its_checkpoint(tmp_path):
    out = tmp_path / "cmp"
    first = compare(tiny(methods=("darts",)), out, stop=StopAfter(4))
    assert first.status == "stopped" and first.rows == []
    assert (out / "darts-seed0" / "search" / "config.json").is_file()
    assert not (out / "darts-seed0" / "architecture.json").exists()
    second = compare(tiny(methods=("darts",)), out, resume=True)
    assert second.status == "finished" and len(second.rows) == 1
    run = json.loads((out / "darts-seed0" / "search" / "run.json").read_text())
    assert run["status"] == "finished" and run["epochs_done"] == 1


def test_dry_run_prints_each_methods_plan_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "--methods", "darts", "me-darts", "ts-enas", "--budget", "10000", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    planned = [line.split()[0] for line in lines if "images planned" in line]
    assert planned == ["darts", "me-darts", "ts-enas"] and list(tmp_path.iterdir()) == []


def test_panel_fills_the_table_and_scatter(tmp_path):
    from widgets.compare import compare_panel

    panel = compare_panel(("darts",), budget=250, dataset="fake", evaluation=EVAL, overrides={"darts": TINY},
                          out=tmp_path)
    result = panel.run().wait(timeout=120)
    assert result.status == "finished" and panel.rows[0]["images"] == 256  # 1 epoch: 2 steps x 2 batches x 32
    assert "darts" in panel.table.value and "±" in panel.table.value
    assert list(panel.figure.data[0].x) == [result.rows[0]["parameters"]]
    assert list(panel.spread.data[0].y) == [result.rows[0]["test_acc"]]
    assert panel.run_button.disabled is False and panel.stop_button.disabled is True
    panel.boxes["darts"].value = False
    assert panel.run() is None and "name at least one method" in panel.status.value


def test_without_plotly_the_table_is_written_and_no_figure(tmp_path, monkeypatch):
    import sys

    from toolkit.compare import write_figures

    rows = [{"method": "darts", "preset": None, "seed": 0, "parameters": 1000, "test_acc": 0.9, "val_acc": 0.9,
             "search_seconds": 1.0, "images": 10}]
    monkeypatch.setitem(sys.modules, "plotly", None)  # import plotly raises ImportError
    assert write_figures(tmp_path, rows) == []
    assert list(tmp_path.iterdir()) == []
