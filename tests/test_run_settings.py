"""Commands that continue a run folder take its data settings, and the hints print whole commands."""

import contextlib
import io
import json
import shlex

import pytest

from toolkit.cli import main

SIZES = ["--epochs", "1", "--channels", "4", "--cells", "3", "--quiet"]


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def searched_and_output(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s") / "search"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["search", "darts", "--dataset", "fake", "--image-size", "16", "--nodes", "2", *SIZES,
                     "--out", str(folder)]) == 0
    return folder, printed.getvalue()


@pytest.fixture
def searched(searched_and_output):
    return searched_and_output[0]


def hint(out, prefix):
    line = next(line for line in out.splitlines() if line.startswith(prefix))
    return shlex.split(line[len(prefix):])


def test_search_hint_is_a_complete_command_and_train_inherits_the_data(searched_and_output, capsys, tmp_path):
    searched, printed = searched_and_output
    flags = ["--dataset", "fake", "--image-size", "16"]
    assert hint(printed, "train it: python -m toolkit ") == ["train", "--genotype", str(searched / "genotype.json"),
                                                              *flags]
    train_dir = tmp_path / "train"
    code, out, err = cli(capsys, "train", "--genotype", searched / "genotype.json", *SIZES, "--out", train_dir)
    assert code == 0, err
    trained = json.loads((train_dir / "config.json").read_text())
    assert (trained["dataset"], trained["image_size"], trained["data_dir"]) == ("fake", 16, "data")
    argv = hint(out, "prune it: python -m toolkit ")
    assert argv[:4] == ["prune", "gal", "--baseline", str(train_dir)] and argv[4:] == flags


def test_a_folder_dataset_hint_names_the_data_folder(capsys, tmp_path):
    from toolkit.cli.common import data_flags
    from toolkit.config import TrainConfig

    config = TrainConfig(dataset="folder", data_dir=str(tmp_path / "my images"))
    assert shlex.split(data_flags(config)) == ["--dataset", "folder", "--data-dir", str(tmp_path / "my images")]


@pytest.mark.parametrize("flag, value, saved", [("--dataset", "digits", "fake"), ("--image-size", "32", "16")])
def test_a_setting_that_differs_from_the_run_is_an_error_naming_both(flag, value, saved, searched, capsys,
                                                                     tmp_path):
    code, _, err = cli(capsys, "train", "--genotype", searched / "genotype.json", flag, value, *SIZES,
                       "--out", tmp_path / "t")
    assert code == 2 and err.count("\n") == 1
    assert f"{flag} {value} differs from the run" in err and f"which used {flag} {saved}" in err
    assert not (tmp_path / "t").exists()


def test_prune_baseline_takes_the_data_of_the_trained_run(capsys, tmp_path):
    baseline = tmp_path / "baseline"
    assert main(["train", "--genotype", "DARTS_V2", "--dataset", "fake", *SIZES, "--out", str(baseline)]) == 0
    capsys.readouterr()
    code, _, err = cli(capsys, "prune", "gal", "--baseline", baseline, "--dataset", "digits", *SIZES,
                       "--out", tmp_path / "p")
    assert code == 2 and "--dataset digits differs from the run" in err and "which used --dataset fake" in err
    assert "pruned on the data it learnt" in err and not (tmp_path / "p").exists()
