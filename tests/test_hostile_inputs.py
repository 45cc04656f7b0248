"""Bad and hostile input, on the command line and through the API.

Every case must end with one ``error:`` line naming the problem and the fix (CLI, exit status 2,
no traceback) or a ToolkitError (API), before any run folder is created; a run folder that
already exists keeps every file byte-identical.
"""

import json
import math
import shutil

import pytest
import torch
from PIL import Image

from toolkit.cli import main
from toolkit.config import SearchConfig, TrainConfig
from toolkit.errors import ToolkitError
from toolkit.gal.config import GalConfig
from toolkit.genotype import Genotype, load_architecture
from toolkit.search import run_search
from toolkit.space import SearchSpace
from toolkit.train import train_network

TINY = ["--dataset", "fake", "--epochs", "1", "--channels", "4", "--cells", "3", "--quiet"]
SEARCH = ["search", "darts", *TINY, "--nodes", "2"]
TRAIN = ["train", "--genotype", "DARTS_V2", *TINY]
PRUNE = ["prune", "gal", "--genotype", "DARTS_V2", *TINY]


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code, err, message):
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "usage:" not in err
    assert message in err, err


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------- command line, before any run folder

CLI_CASES = {
    "negative lr": ([*SEARCH, "--lr", "-1"], "lr must be > 0"),
    "negative arch lr": ([*SEARCH, "--arch-lr", "-1"], "arch_lr must be > 0"),
    "NaN lr": ([*SEARCH, "--lr", "nan"], "lr must be a finite number"),
    "infinite lr": ([*SEARCH, "--lr", "inf"], "lr must be a finite number"),
    "one cell": ([*SEARCH, "--cells", "1"], "use --cells 3 or more"),
    "two cells, no normal cell": ([*SEARCH, "--cells", "2"], "at least one normal and one reduction cell"),
    "too many cells": ([*SEARCH, "--cells", "99"], "cells must be between 1 and 64"),
    "huge seed": ([*SEARCH, "--seed", "99999999999999999999"], "choose a seed between 0 and 2**32-1"),
    "negative seed": ([*SEARCH, "--seed", "-3"], "choose a seed between 0 and 2**32-1"),
    "negative warm-up": ([*SEARCH, "--warmup-epochs", "-1"], "warmup_epochs must be >= 0"),
    "bf16 on CPU": ([*SEARCH, "--device", "cpu", "--amp", "bf16"], "use --amp off"),
    "tiny images": ([*SEARCH, "--image-size", "1"], "choose an image size between 8 and 1024"),
    "odd channels": ([*SEARCH, "--channels", "5"], "channels must be an even number"),
    "zero nodes": ([*SEARCH, "--nodes", "0"], "nodes per cell must be between 1 and 8"),
    "K not dividing channels": (["search", "adarts", *TINY, "--channels", "6", "--k", "4"], "K=4 does not divide"),
    "K for plain darts": ([*SEARCH, "--k", "4"], "--k applies to pcdarts and adarts"),
    "unknown dataset": ([*SEARCH, "--dataset", "nope"], "unknown dataset 'nope'"),
    "unknown op": ([*SEARCH, "--ops", "sep_conv_3x3,warp_op"], "unknown op(s) warp_op"),
    "unknown device": ([*SEARCH, "--device", "tpu"], "unknown device 'tpu'"),
    "float epochs": ([*SEARCH, "--epochs", "2.5"], "expected a whole number, got '2.5'"),
    "zero epochs": ([*SEARCH, "--epochs", "0"], "expected a number >= 1"),
    "text lr": ([*SEARCH, "--lr", "fast"], "invalid float value: 'fast'"),
    "unknown option": ([*SEARCH, "--bogus"], "unrecognized arguments: --bogus"),
    "no method": (["search"], "the following arguments are required: method"),
    "bad amp choice": ([*SEARCH, "--amp", "fp8"], "invalid choice: 'fp8'"),
    "drop-path above 1": ([*TRAIN, "--drop-path", "2"], "drop_path must be >= 0 and < 1"),
    "negative auxiliary weight": ([*TRAIN, "--auxiliary-weight", "-1"], "auxiliary_weight must be >= 0"),
    "train lr NaN": ([*TRAIN, "--lr", "nan"], "lr must be a finite number"),
    "train without genotype": (["train", *TINY], "--genotype is required"),
    "unknown genotype": (["train", "--genotype", "NOT_A_CELL", *TINY], "no genotype file 'NOT_A_CELL'"),
    "lam NaN": ([*PRUNE, "--lam", "nan"], "lam must be a finite number"),
    "negative lam": ([*PRUNE, "--lam", "-1"], "lam (λ) must be >= 0"),
    "noise 1": ([*PRUNE, "--noise", "1"], "noise (dropout rate) must be in [0, 1)"),
    "resume without --out": (["search", "darts", "--resume"], "--resume needs --out"),
}


@pytest.mark.parametrize("argv, message", CLI_CASES.values(), ids=CLI_CASES.keys())
def test_bad_command_line_gives_one_error_line_and_creates_nothing(argv, message, capsys, tmp_path):
    out_dir = tmp_path / "run"
    own_out = argv == ["search"] or "--resume" in argv
    code, _, err = cli(capsys, *argv, *([] if own_out else ["--out", out_dir]))
    assert_one_error_line(code, err, message)
    assert not out_dir.exists()


def test_out_under_a_file_or_an_unwritable_place(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep")
    for out, message in ((blocker / "run", "cannot create run folder"), (blocker, "is a file"),
                         ("/proc/nas-toolkit-run", "cannot create run folder")):
        code, _, err = cli(capsys, *SEARCH, "--out", out)
        assert_one_error_line(code, err, message)
    assert blocker.read_text() == "keep"


def test_draw_into_a_missing_folder(capsys, tmp_path):
    code, _, err = cli(capsys, "show", "DARTS_V2", "--draw", tmp_path / "missing" / "cell.svg")
    assert_one_error_line(code, err, "does not exist; create it")
    assert not (tmp_path / "missing").exists()


# ---------------------------------------------------------------- folder datasets

def write_png(path, value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (value, value, value)).save(path)


def test_corrupt_image_in_a_folder_dataset(capsys, tmp_path):
    for label in ("a", "b"):
        for i in range(4):
            write_png(tmp_path / "data" / "train" / label / f"{i}.png", 40 * i)
    bad = tmp_path / "data" / "train" / "b" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 8)
    code, _, err = cli(capsys, "search", "darts", *TINY, "--dataset", "folder", "--data-dir", tmp_path / "data",
                       "--out", tmp_path / "run")
    assert_one_error_line(code, err, "broken.png' cannot be read")
    assert "remove or replace it" in err and not (tmp_path / "run").exists()


def test_one_class_dataset_is_refused(capsys, tmp_path):
    for i in range(6):
        write_png(tmp_path / "data" / "train" / "only" / f"{i}.png", 30 * i)
    code, _, err = cli(capsys, "search", "darts", *TINY, "--dataset", "folder", "--data-dir", tmp_path / "data",
                       "--out", tmp_path / "run")
    assert_one_error_line(code, err, "needs at least 2")
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- checkpoints that do not fit

@pytest.fixture(scope="module")
def finished_search(tmp_path_factory):
    folder = tmp_path_factory.mktemp("search") / "run"
    assert main([*SEARCH, "--out", str(folder)]) == 0
    return folder


def tamper_model(state):
    state["model"] = {k: torch.zeros(3, 3) for k in state["model"]}


CHECKPOINT_CASES = {
    "no model": (lambda s: s.pop("model"), "lacks model"),
    "other shapes": (tamper_model, "does not fit this network"),
    "negative epoch": (lambda s: s.update(epoch=-5), "at epoch -5, outside 0..1"),
    "epoch past the end": (lambda s: s.update(epoch=99), "at epoch 99, outside 0..1"),
    "step past the epoch": (lambda s: s.update(step=10**6), "at step 1000000"),
    "text epoch": (lambda s: s.update(epoch="1"), "at epoch '1'"),
    "not a dict": (lambda s: s.clear() or s.update(junk=[1]), "lacks epoch"),
}


@pytest.mark.parametrize("tamper, message", CHECKPOINT_CASES.values(), ids=CHECKPOINT_CASES.keys())
def test_resume_from_a_checkpoint_that_does_not_fit(tamper, message, finished_search, capsys, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(finished_search, folder)
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    tamper(state)
    torch.save(state, folder / "checkpoint.pt")
    before = snapshot(folder)
    code, _, err = cli(capsys, "search", "darts", "--resume", "--quiet", "--out", folder)
    assert_one_error_line(code, err, message)
    assert snapshot(folder) == before


# ---------------------------------------------------------------- runs that blow up

def test_huge_learning_rate_stops_as_diverged(capsys, tmp_path):
    code, _, err = cli(capsys, *SEARCH, "--lr", "1e6", "--out", tmp_path / "run")
    assert_one_error_line(code, err, "diverged at epoch 1 step")
    assert "lower the learning rate" in err
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "diverged"
    assert not (tmp_path / "run" / "genotype.json").exists()  # no genotype from NaN weights


def test_train_with_huge_learning_rate_stops_as_diverged(capsys, tmp_path):
    code, _, err = cli(capsys, *TRAIN, "--lr", "1e6", "--out", tmp_path / "run")
    assert_one_error_line(code, err, "diverged at epoch 1 step")
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "diverged"


def test_divergence_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import toolkit.search as search

    config = SearchConfig(dataset="fake", epochs=3, channels=4, cells=3, space=SearchSpace.preset("darts", 2))
    good_steps = []
    real_step = search.weight_update

    def blow_up_in_epoch_two(*args, **kwargs):
        loss, acc = real_step(*args, **kwargs)
        good_steps.append(loss)
        return (torch.tensor(math.nan), acc) if len(good_steps) > steps_per_epoch else (loss, acc)

    steps_per_epoch = 2  # fake data: 256 images, half for w, batch 64
    monkeypatch.setattr(search, "weight_update", blow_up_in_epoch_two)
    with pytest.raises(ToolkitError, match="diverged at epoch 2 step 1; lower the learning rate|"
                                           r"diverged at epoch 2 step 1 \(loss nan\); lower the learning rate"):
        run_search(config, run_dir=tmp_path / "run")
    run = tmp_path / "run"
    assert json.loads((run / "run.json").read_text()) == {
        "kind": "search", "status": "diverged", "epochs_done": 1, "diverged_at": {"epoch": 2, "step": 1}}
    assert torch.load(run / "checkpoint.pt", weights_only=True)["epoch"] == 1  # the last good one
    assert len(json.loads((run / "metrics.json").read_text())) == 1


# ---------------------------------------------------------------- the Python API

API_CASES = {
    "text epochs": (lambda: SearchConfig(epochs="3"), "epochs must be a whole number"),
    "float epochs": (lambda: SearchConfig(epochs=2.5), "epochs must be a whole number"),
    "bool epochs": (lambda: TrainConfig(epochs=True), "epochs must be a whole number"),
    "space as a string": (lambda: SearchConfig(space="darts"), "SearchSpace.preset('darts')"),
    "channels None": (lambda: SearchConfig(channels=None), "channels must be a whole number"),
    "NaN lr": (lambda: TrainConfig(lr=math.nan), "lr must be a finite number"),
    "text lr": (lambda: TrainConfig(lr="0.1"), "lr must be a number"),
    "reductions with text": (lambda: SearchConfig(reductions=(2, "3")), "tuple of whole numbers"),
    "NaN lambda": (lambda: GalConfig(lam=math.nan), "lam must be a finite number"),
    "infinite lambda": (lambda: GalConfig(lam=math.inf), "lam must be a finite number"),
    "drop-path 2": (lambda: TrainConfig(drop_path=2.0), "drop_path must be >= 0 and < 1"),
    "search with a dict": (lambda: run_search({"epochs": 1}), "config must be a SearchConfig"),
    "train with a name": (lambda: train_network("DARTS_V2", TrainConfig(epochs=1)), "architecture must be"),
    "train with a search config": (lambda: train_network(load_architecture("DARTS_V2"), SearchConfig()),
                                   "config must be a TrainConfig"),
    "architecture None": (lambda: load_architecture(None), "a file path or a published cell name"),
    "genotype text None": (lambda: Genotype.from_text(None), "genotype text must be a string"),
}


@pytest.mark.parametrize("call, message", API_CASES.values(), ids=API_CASES.keys())
def test_api_refuses_wrong_types_and_ranges(call, message):
    with pytest.raises(ToolkitError) as caught:
        call()
    assert message in str(caught.value)


def test_a_list_of_reductions_is_stored_as_a_tuple():
    assert SearchConfig(reductions=[2, 3]).reductions == (2, 3)


def test_masks_turning_nan_stop_pruning_as_diverged(monkeypatch):
    import toolkit.gal.adversarial as adversarial
    from toolkit.data import load_dataset
    from toolkit.steps import Session
    from toolkit.train import build_network

    config = GalConfig(dataset="fake", channels=4, cells=3, reductions=(2,), gal_epochs=1, gal_batch_size=32)
    data = load_dataset("fake", fake_size=64)
    baseline = build_network(load_architecture("DARTS_V2"), config, data)
    real_step = adversarial._Stage.step

    def poisoned(self, x):
        losses = real_step(self, x)
        with torch.no_grad():
            for mask in self.masks:
                mask.fill_(math.nan)
        return losses

    monkeypatch.setattr(adversarial._Stage, "step", poisoned)
    seen = []
    with pytest.raises(ToolkitError, match="diverged at epoch 1 step 1 .*; lower the learning rate"):
        adversarial.train_masks(baseline, config, data, Session(config, (seen.append,)))
    assert seen[-1].kind == "run_end" and seen[-1]["status"] == "diverged"


# ---------------------------------------------------------------- once a traceback or a silent wrong result

def test_last_batch_of_one_with_the_auxiliary_head_trains(capsys, tmp_path):
    """10 training images in batches of 3 leave a last batch of one, which batch norm in the auxiliary
    head cannot normalise in training mode: the training loaders drop it (3 steps, not 4)."""
    for split, count in (("train", 5), ("test", 2)):
        for label in ("a", "b"):
            for i in range(count):
                write_png(tmp_path / "data" / split / label / f"{i}.png", 20 * i + (100 if label == "b" else 0))
    seen = []
    config = TrainConfig(dataset="folder", data_dir=str(tmp_path / "data"), epochs=1, channels=4, cells=3,
                         batch_size=3, auxiliary_weight=0.4)
    result = train_network(load_architecture("DARTS_V2"), config, run_dir=tmp_path / "run", listeners=(seen.append,))
    assert result.status == "finished"
    assert [e["steps"] for e in seen if e.kind == "step"] == [3, 3, 3]
    assert (tmp_path / "run" / "checkpoint.pt").is_file()
    from toolkit.steps import make_loader, train_batches

    for samples, batch in ((10, 3), (7, 3), (1, 4), (64, 64), (65, 64), (66, 64)):
        loader = make_loader(torch.utils.data.TensorDataset(torch.zeros(samples, 1)), batch, True)
        assert len(loader) == train_batches(samples, batch) and all(len(b[0]) > 1 for b in loader if samples > 1)
    assert len(make_loader(torch.utils.data.TensorDataset(torch.zeros(10, 1)), 3, False)) == 4  # tests keep all


def test_symlink_loop_in_a_folder_dataset_is_not_followed(tmp_path):
    from toolkit.data import load_dataset

    for split in ("train", "test"):
        for label in ("a", "b"):
            for i in range(3):
                write_png(tmp_path / split / label / f"{i}.png", 30 * i + (100 if label == "b" else 0))
    (tmp_path / "train" / "a" / "self").symlink_to(".")
    (tmp_path / "train" / "b" / "nested").mkdir()
    write_png(tmp_path / "train" / "b" / "nested" / "deep.png", 7)
    data = load_dataset("folder", tmp_path)
    assert (len(data.train), len(data.test)) == (7, 6)  # the loop adds nothing; a real subfolder still counts


@pytest.mark.parametrize("where, message", [("train", "it would count twice"), ("test", "tests nothing")])
def test_an_image_reached_twice_is_refused(where, message, capsys, tmp_path):
    for split in ("train", "test"):
        for label in ("a", "b"):
            for i in range(3):
                write_png(tmp_path / "data" / split / label / f"{i}.png", 30 * i + (100 if label == "b" else 0))
    (tmp_path / "data" / where / "b" / "again.png").symlink_to(tmp_path / "data" / "train" / "a" / "0.png")
    code, _, err = cli(capsys, "search", "darts", *TINY, "--dataset", "folder", "--data-dir", tmp_path / "data",
                       "--out", tmp_path / "run")
    assert_one_error_line(code, err, "again.png' is the same file as")
    assert message in err and not (tmp_path / "run").exists()


def darts_v2_file(tmp_path, name, text_of_first_input):
    """DARTS_V2's genotype file with its first node input written as ``text_of_first_input``."""
    text = json.dumps(load_architecture("DARTS_V2").to_dict())
    file = tmp_path / name
    file.write_text(text.replace('"sep_conv_3x3", 0]', f'"sep_conv_3x3", {text_of_first_input}]', 1))
    assert file.read_text() != text
    return file


@pytest.mark.parametrize("value", ["1.5", "true", '"1"', "Infinity"])
def test_genotype_inputs_must_be_whole_numbers(value, capsys, tmp_path):
    file = darts_v2_file(tmp_path, "g.json", value)
    for argv in (["show", file], ["train", "--genotype", file, *TINY, "--out", tmp_path / "run"]):
        code, _, err = cli(capsys, *argv)
        assert_one_error_line(code, err, f"invalid genotype file '{file}': normal cell: node 2's input must be a "
                                         "whole number")
        assert "rerun the search or fix the file" in err
    assert not (tmp_path / "run").exists()
    with pytest.raises(ToolkitError, match="cell 1: a cell input must be a whole number such as 0 or 2, got 0.0"):
        from toolkit.genotype import Network

        Network.from_dict({"cells": [{"type": "normal", "inputs": [0.0, 0], "genotype": {"nodes": [], "concat": [1]}}]})


UNREADABLE_JSON = {
    "nested 200,000 deep": ("[" * 200_000 + "]" * 200_000, "nests lists or objects too deeply to read"),
    "5,000-digit integer": ('{"normal": ' + "9" * 5000 + "}", "holds a number too long to read"),
    "truncated": ('{"normal": {"nodes": [[["sep_conv_3x3", 0', "is not valid JSON"),
    "not UTF-8": (b"\xff\xfe{", "is not"),
}


@pytest.mark.parametrize("text, message", UNREADABLE_JSON.values(), ids=UNREADABLE_JSON.keys())
def test_json_the_parser_rejects_is_one_line_in_every_command(text, message, capsys, tmp_path):
    file = tmp_path / "g.json"
    file.write_bytes(text if isinstance(text, bytes) else text.encode())
    commands = (["show", file], [*TRAIN[:1], "--genotype", file, *TINY, "--out", tmp_path / "run"],
                ["evaluate", file, "--dataset", "fake", "--epochs", "1", "--channels", "4", "--cells", "3"],
                ["prune", "gal", "--genotype", file, *TINY, "--out", tmp_path / "run"])
    for argv in commands:
        code, _, err = cli(capsys, *argv)
        assert_one_error_line(code, err, f"'{file}' {message}")
        assert "rerun the search or fix the file" in err
    assert not (tmp_path / "run").exists()


def test_a_damaged_run_file_names_the_fix(finished_search, capsys, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(finished_search, folder)
    (folder / "config.json").write_text((folder / "config.json").read_text()[:20])
    code, _, err = cli(capsys, "search", "darts", "--resume", "--quiet", "--out", folder)
    assert_one_error_line(code, err, f"'{folder / 'config.json'}' is not valid JSON")
    assert "restore it, or start a new run in another --out" in err


def test_a_full_disk_names_the_folder_and_the_resume_command(capsys, tmp_path, monkeypatch):
    import errno
    import os

    import toolkit.rundir as rundir

    real_fsync, writes = os.fsync, []

    def full_after_two_files(fd):  # the run folder's lock file is written first and does not count
        if not os.readlink(f"/proc/self/fd/{fd}").endswith(rundir.LOCK):
            writes.append(fd)
        if len(writes) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(rundir.os, "fsync", full_after_two_files)
    folder = tmp_path / "run"
    code, _, err = cli(capsys, *TRAIN, "--out", folder)
    assert_one_error_line(code, err, f"in '{folder}' (No space left on device)")
    assert err.rstrip().endswith(f"free space, then continue the run with --resume: python -m toolkit train "
                                 f"--resume --out {folder}")
    assert not list(folder.glob(".*.tmp"))  # no half-written file left behind
    monkeypatch.setattr(rundir.os, "fsync", real_fsync)
    assert main(["train", "--resume", "--quiet", "--out", str(folder)]) == 0  # the command it names works
    assert json.loads((folder / "run.json").read_text())["status"] == "finished"


def test_resume_in_a_folder_this_user_cannot_write(finished_search, capsys, tmp_path, monkeypatch):
    import os

    import toolkit.rundir as rundir

    folder = tmp_path / "run"
    shutil.copytree(finished_search, folder)
    before = snapshot(folder)
    monkeypatch.setattr(rundir.os, "access", lambda path, mode: os.fspath(path) != os.fspath(folder))
    code, _, err = cli(capsys, "search", "darts", "--resume", "--quiet", "--out", folder)
    assert_one_error_line(code, err, f"run folder '{folder}' is not writable; give this user write permission")
    assert "choose another --out" not in err and snapshot(folder) == before


def test_a_stop_before_the_first_epoch_says_no_epoch_finished(capsys, tmp_path, monkeypatch):
    from toolkit.events import StopSignal

    stopped = StopSignal()
    stopped.stop()
    monkeypatch.setattr("toolkit.cli.StopSignal", lambda: stopped)
    code, out, _ = cli(capsys, *SEARCH, "--out", tmp_path / "run")
    assert code == 0 and "stopped: no epoch finished (0/1)" in out
    assert "nan" not in out and "--resume --out" in out


def _search_config():
    return SearchConfig(dataset="fake", epochs=1, channels=4, cells=3, space=SearchSpace.preset("darts", 2))


def _entry_points():
    from toolkit.evaluate import evaluate_all
    from toolkit.executors import make_executor
    from toolkit.gal.run import run_gal
    from toolkit.medarts import MeDartsConfig
    from toolkit.medarts.run import run_me_darts
    from toolkit.tsenas.config import ts_enas_config
    from toolkit.tsenas.run import run_ts_enas

    cells = load_architecture("DARTS_V2")
    train = TrainConfig(dataset="fake", epochs=1, channels=4, cells=3)
    return {
        "run_search run_dir=123": (lambda: run_search(_search_config(), run_dir=123), "run_dir must be a str or Path"),
        "run_search listeners=5": (lambda: run_search(_search_config(), listeners=5), "listeners must be a tuple"),
        "run_search alphas='x'": (lambda: run_search(_search_config(), alphas="x"), "alphas must be a Mapping"),
        "run_search listeners=(5,)": (lambda: run_search(_search_config(), listeners=(5,)),
                                      "listeners must be callables"),
        "run_search stop=True": (lambda: run_search(_search_config(), stop=True), "stop must be a StopSignal"),
        "train_network resume='yes'": (lambda: train_network(cells, train, resume="yes"), "resume must be a bool"),
        "train_network model=3": (lambda: train_network(cells, train, model=3), "model must be an EvalNetwork"),
        "run_gal config=dict": (lambda: run_gal(cells, {"epochs": 1}), "config must be a GalConfig"),
        "run_gal run_dir=1.5": (lambda: run_gal(cells, GalConfig(), run_dir=1.5), "run_dir must be a str or Path"),
        "run_me_darts executor='dask'": (lambda: run_me_darts(MeDartsConfig(), executor="dask"),
                                         "executor must be an Executor"),
        "run_ts_enas progress=1": (lambda: run_ts_enas(ts_enas_config("cpu-small"), progress=1),
                                   "progress must be a bool"),
        "evaluate_all specs=3": (lambda: evaluate_all(3), "specs must be an Iterable"),
        "evaluate_all on_result=1": (lambda: evaluate_all([], on_result=1), "on_result must be a callable"),
        "make_executor scheduler=8786": (lambda: make_executor("dask", scheduler=8786).__enter__(),
                                         "scheduler must be a str or None"),
    }


@pytest.mark.parametrize("name", list(_entry_points()))
def test_api_entry_points_check_argument_types(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, even by mistake, into the checkout
    call, message = _entry_points()[name]
    with pytest.raises(ToolkitError) as caught:
        call()
    assert message in str(caught.value) and "got " in str(caught.value)
    assert "\n" not in str(caught.value) and not list(tmp_path.iterdir())
