"""Paper presets, --dry-run and the command line's defaults: what a user checks before a long run."""

import argparse
import re

import pytest

from toolkit.cli import build_parser, main
from toolkit.config import SearchConfig, configure
from toolkit.medarts.stages import stage_plan
from toolkit.methods import TRAINING, get_method


def dry_run(capsys, monkeypatch, tmp_path, *argv):
    """Run a command with --dry-run in an empty folder; return (exit code, stdout, stderr) and check it
    wrote nothing."""
    monkeypatch.chdir(tmp_path)
    code = main([*argv, "--dry-run"])
    out, err = capsys.readouterr()
    assert list(tmp_path.iterdir()) == []  # no run folder, no data folder
    return code, out, err


def settings(out: str) -> dict[str, tuple[str, str]]:
    """{field: (source, value)} from a dry run's settings table."""
    table = {}
    for line in out.splitlines():
        m = re.match(r"  (\w+)\s+(default|method default|preset [\w-]+|flag|argument)\s+(.*)$", line)
        if m:
            table[m.group(1)] = (m.group(2), m.group(3))
    return table


PAPER_PRESETS = [  # (command line, registry entry, preset)
    (["search", "darts"], get_method("darts"), "paper"),
    (["search", "darts"], get_method("darts"), "paper-1st-order"),
    (["search", "pcdarts"], get_method("pcdarts"), "paper"),
    (["search", "adarts"], get_method("adarts"), "paper"),
    (["search", "ts-enas"], get_method("ts-enas"), "paper"),
    (["train"], TRAINING, "darts"),
    (["train"], TRAINING, "adarts"),
    (["evaluate", "DARTS_V2"], TRAINING, "darts"),
    (["prune", "gal", "--genotype", "DARTS_V2"], get_method("gal"), "paper-mnist"),
    (["prune", "gal", "--genotype", "DARTS_V2"], get_method("gal"), "paper-fashion-mnist"),
    (["prune", "gal", "--genotype", "DARTS_V2"], get_method("gal"), "paper-cifar10"),
]


@pytest.mark.parametrize("argv, entry, preset", PAPER_PRESETS, ids=lambda v: v if isinstance(v, str) else None)
def test_every_paper_preset_shows_its_numbers_with_their_source(argv, entry, preset, capsys, monkeypatch, tmp_path):
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, *argv, "--preset", preset)
    assert code == 0
    assert entry.preset_sources[preset] in out  # the paper section the numbers come from
    table = settings(out)
    assert entry.preset(preset)  # a preset that sets nothing would pass the loop below
    for name, value in entry.preset(preset).items():
        assert table[name] == (f"preset {preset}", repr(value)), name


def test_adarts_paper_dry_run_has_section_iv_b_numbers(capsys, monkeypatch, tmp_path):
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, "search", "adarts", "--preset", "paper")
    table = settings(out)
    assert code == 0
    assert {k: table[k][1] for k in ("epochs", "batch_size", "arch_lr", "cells", "channels", "lr_min")} == \
        {"epochs": "80", "batch_size": "96", "arch_lr": "0.0006", "cells": "8", "channels": "16", "lr_min": "0.0"}
    assert "planned at its published sizes" in out and "cifar10" in out  # no CIFAR files here: said, not raised


def test_evaluation_preset_is_the_darts_protocol(capsys, monkeypatch, tmp_path):
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, "train", "--preset", "darts", "--dataset", "fake")
    table = settings(out)
    assert code == 0
    expected = {"epochs": "600", "cutout": "16", "drop_path": "0.2", "auxiliary_weight": "0.4", "cells": "20",
                "channels": "36", "batch_size": "96", "lr": "0.025", "grad_clip": "5.0"}
    assert {k: table[k][1] for k in expected} == expected
    assert table["dataset"] == ("flag", "'fake'")  # a flag wins over the preset
    assert "augmentation: crop padding 4, flip True, cutout 16" in out
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, "train", "--preset", "adarts", "--dataset", "fake")
    table = settings(out)
    assert {k: table[k][1] for k in ("batch_size", "lr", "drop_path", "epochs")} == \
        {"batch_size": "64", "lr": "0.017", "drop_path": "0.3", "epochs": "600"}


def test_sizes_and_steps_are_counted_and_flags_beat_the_preset(capsys, monkeypatch, tmp_path):
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, "search", "adarts", "--preset", "paper",
                           "--dataset", "digits", "--epochs", "3")
    table = settings(out)
    assert code == 0 and table["epochs"] == ("flag", "3") and table["arch_lr"][0] == "preset paper"
    assert table["lr"] == ("preset paper", "0.025") and table["seed"] == ("default", "0")
    assert "1438 training images -> 719 train the weights / 719 train α" in out and "359 test images" in out
    assert "steps: 8 per epoch x 3 epochs = 24" in out  # ceil(719 / 96) = 8


def test_dry_run_of_the_population_methods_and_pruning(capsys, monkeypatch, tmp_path):
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, "search", "me-darts", "--dataset", "digits")
    assert code == 0 and "stage plan: cpu-small" in out
    assert re.search(r"stage init: 4 individual\(s\).*3 cells, C=8.*D_sample 600 images", out)
    assert "steps: 274 in all stages" in out  # 4 x 2 x 10 + 4 x 2 x 10 + 1 x 6 x 19
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, "search", "me-darts", "--preset", "paper",
                           "--dataset", "digits")
    assert code == 0 and "stage plan: paper" in out and "use at most 1390" in out  # digits is too small
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, "search", "ts-enas", "--preset", "cpu-small",
                           "--dataset", "digits")
    # 1,438 digits less the 10% D_valid (145) leave 1,293 training images: 21 batches of 64
    assert code == 0 and "steps (SuperNet): 21 per epoch x 5 epochs = 105" in out
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, "prune", "gal", "--genotype", "DARTS_V2",
                           "--preset", "paper-mnist", "--dataset", "digits")
    assert code == 0 and "steps (baseline): 12 per epoch x 50 epochs = 600" in out  # ceil(1438 / 128)
    assert "steps (masks): 15 per epoch x 5 epochs" in out  # a full pass at batch 100: no step cap


def test_me_darts_paper_plan_grows_cells_and_channels():
    plan = stage_plan("paper")
    assert [(s.cells, s.channels, s.epochs, s.train_samples) for s in plan] == \
        [(4, 8, 5, 10000), (6, 12, 5, 10000), (8, 16, 15, 20000)]
    assert all(s.channels % 4 == 0 for s in plan)  # K=4 of PC-DARTS and ADARTS divides every stage's C


@pytest.mark.parametrize("argv, names", [
    (["search", "darts", "--preset", "fast"], "paper, paper-1st-order"),
    (["search", "me-darts", "--preset", "fast"], "cpu-small, paper"),
    (["train", "--preset", "fast"], "darts, adarts"),
    (["prune", "gal", "--genotype", "DARTS_V2", "--preset", "fast"], "paper-mnist"),
    (["search", "pcdarts", "--preset", "adarts:paper"], "belongs to adarts"),
])
def test_unknown_preset_is_one_line_naming_the_valid_ones(argv, names, capsys, monkeypatch, tmp_path):
    code, out, err = dry_run(capsys, monkeypatch, tmp_path, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and names in err


def subcommands():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def test_train_help_offers_the_training_protocol():
    help_text = subcommands()["train"].format_help()
    for flag in ("--crop-padding", "--flip", "--no-flip", "--cutout", "--preset", "--dry-run", "--lr-min"):
        assert flag in help_text
    assert "(default: 20)" in help_text  # TrainConfig's epochs, as the API's


def test_prune_flags_reach_every_knob_of_the_gal_presets():
    parser = subcommands()["prune"]
    dests = {a.dest for a in parser._actions}
    for preset in get_method("gal").presets.values():
        assert set(preset) <= dests
    args = parser.parse_args(["gal", "--genotype", "DARTS_V2", "--gal-batch-size", "100", "--g-lr", "0.01",
                              "--d-steps", "3", "--reference-steps", "50"])
    from toolkit.cli.prune import config_from_args

    config = config_from_args(args)
    assert (config.gal_batch_size, config.g_lr, config.d_steps, config.reference_steps) == (100, 0.01, 3, 50)


def test_every_search_preset_knob_is_a_flag():
    dests = {a.dest for a in subcommands()["search"]._actions}
    for name in ("darts", "pcdarts", "adarts", "ts-enas"):
        for preset in get_method(name).presets.values():
            assert set(preset) <= dests, name
    dests = {a.dest for a in subcommands()["train"]._actions}
    for preset in TRAINING.presets.values():
        assert set(preset) <= dests


def test_configure_layers_and_sources():
    config, sources = configure(SearchConfig, get_method("pcdarts"), "paper", {"epochs": 20, "k": None},
                                method="pcdarts")
    assert (config.epochs, sources["epochs"]) == (20, "flag")
    assert (config.k, sources["k"]) == (4, "preset paper")
    assert (config.seed, sources["seed"]) == (0, "default")
    config, sources = configure(SearchConfig, get_method("adarts"), None, {}, method="adarts")
    assert (config.k, sources["k"]) == (4, "method default") and sources["method"] == "argument"


def test_dry_run_and_resume_together_is_one_error_line(capsys, monkeypatch, tmp_path):
    code, out, err = dry_run(capsys, monkeypatch, tmp_path, "search", "darts", "--resume", "--out", "runs/x")
    assert code == 2 and out == "" and "drop one of them" in err and len(err.strip().splitlines()) == 1


def test_missing_files_are_planned_at_the_published_sizes(capsys, monkeypatch, tmp_path):
    """Without CIFAR-10's files a paper preset is still planned: 50,000 + 10,000 images, 25,000 for the
    weights at batch 256 -> 98 steps an epoch (PC-DARTS); TS-ENAS holds out 10% as D_valid."""
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, "search", "pcdarts", "--preset", "paper")
    assert code == 0 and "planned at its published sizes" in out
    assert "50000 training images -> 25000 train the weights / 25000 train α" in out
    assert "steps: 98 per epoch x 50 epochs = 4900" in out
    code, out, _ = dry_run(capsys, monkeypatch, tmp_path, "search", "ts-enas", "--preset", "cpu-small",
                           "--dataset", "mnist")
    assert code == 0 and "60000 training images" in out
    assert "1350 train the SuperNet and the candidates, 150 (D_valid) rank them, at 8x8" in out
