import json
import subprocess
import sys

import pytest

from toolkit.cli import main

TINY = ["--dataset", "fake", "--epochs", "1", "--channels", "4", "--cells", "3", "--nodes", "2",
        "--batch-size", "64", "--quiet"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_train_show_journey(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    code, out, _ = run(capsys, "search", "darts", *TINY, "--out", str(out_dir))
    assert code == 0 and "finished: 1/1 epochs" in out
    genotype = json.loads((out_dir / "genotype.json").read_text())
    assert set(genotype) == {"normal", "reduce"}
    code, out, _ = run(capsys, "show", str(out_dir))
    assert code == 0 and "search run" in out and "finished" in out and "normal:" in out
    code, out, _ = run(capsys, "train", "--genotype", str(out_dir / "genotype.json"), "--dataset", "fake",
                       "--epochs", "1", "--channels", "4", "--cells", "3", "--quiet", "--out", str(tmp_path / "t"))
    assert code == 0 and "test acc" in out and "parameters" in out
    assert json.loads((tmp_path / "t" / "run.json").read_text())["status"] == "finished"


@pytest.mark.parametrize("argv, message", [
    (["search", "darts", "--dataset", "nope"], "unknown dataset 'nope'"),
    (["search", "darts", "--ops", "sep_conv_3x3,warp_op"], "unknown op(s) warp_op"),
    (["search", "darts", "--nodes", "0"], "nodes per cell must be between 1 and 8"),
    (["search", "darts", "--cells", "99"], "cells must be between 1 and 64"),
    (["search", "adarts", "--channels", "12", "--k", "8"], "K=8 does not divide the 12 channels"),
    (["train", "--genotype", "NOT_A_CELL"], "no genotype file 'NOT_A_CELL'"),
    (["train"], "--genotype is required"),
    (["show", "NOT_A_RUN"], "no genotype file"),
])
def test_bad_input_gives_one_error_line(argv, message, capsys, tmp_path):
    code, out, err = run(capsys, *argv, *(["--out", str(tmp_path / "x")] if argv[0] != "show" else []))
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert not (tmp_path / "x").exists()  # nothing was created


def test_existing_run_folder_and_corrupt_checkpoint_leave_files_untouched(tmp_path, capsys):
    run_dir = tmp_path / "old"
    run_dir.mkdir()
    (run_dir / "checkpoint.pt").write_bytes(b"garbage")
    (run_dir / "config.json").write_text(json.dumps({"kind": "search", "dataset": "fake", "epochs": 1}))
    code, _, err = run(capsys, "search", "darts", *TINY, "--out", str(run_dir))
    assert code == 2 and "already exists" in err
    code, _, err = run(capsys, "search", "darts", "--resume", "--out", str(run_dir))
    assert code == 2 and "corrupt" in err and err.count("\n") == 1
    assert (run_dir / "checkpoint.pt").read_bytes() == b"garbage"
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.pt", "config.json"]


def test_invalid_genotype_file(tmp_path, capsys):
    bad = tmp_path / "g.json"
    bad.write_text(json.dumps({"normal": {"nodes": [[["sep_conv_3x3", 7]]], "concat": [2]},
                               "reduce": {"nodes": [], "concat": [1]}}))
    code, _, err = run(capsys, "train", "--genotype", str(bad), "--out", str(tmp_path / "t"))
    assert code == 2 and "invalid genotype file" in err and "out of range" in err


def test_help_everywhere_and_module_entry_point():
    for argv in ([], ["search"], ["train"], ["show"], ["prune"]):
        result = subprocess.run([sys.executable, "-m", "toolkit", *argv, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "usage:" in result.stdout


def test_show_draws_published_cells(tmp_path, capsys):
    pytest.importorskip("graphviz")
    from toolkit.draw import require_dot

    try:
        require_dot()
    except Exception as e:  # the drawing needs the dot binary
        pytest.skip(str(e))
    code, out, _ = run(capsys, "show", "DARTS_V2", "--draw", str(tmp_path / "v2.svg"))
    assert code == 0 and "drawing written" in out
    assert (tmp_path / "v2.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    code, _, err = run(capsys, "show", "DARTS_V2", "--draw", str(tmp_path / "v2.txt"))
    assert code == 2 and ".svg or .png" in err


def test_an_interrupt_names_resume_only_for_commands_with_a_run_folder(monkeypatch, capsys):
    import toolkit.evaluate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(toolkit.evaluate, "evaluate_all", interrupted)
    assert main(["evaluate", "DARTS_V2", "--dataset", "digits", "--epochs", "1"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted"  # after the progress bar
