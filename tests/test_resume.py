"""Stop at any moment, resume, and get the run an uninterrupted run writes, byte for byte.

The comparisons are within one process (or between processes on the same machine with the same
thread count), so they hold on every CPU: they compare a run with itself, not with stored values.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolkit.config import SearchConfig, TrainConfig
from toolkit.events import StopSignal
from toolkit.genotype import load_architecture
from toolkit.search import run_search
from toolkit.space import SearchSpace
from toolkit.train import train_network

SEARCH_RECORDS = ("metrics.json", "alphas.json", "genotype.json")
SEARCH = {"darts": SearchConfig(dataset="fake", epochs=3, batch_size=32, channels=4, cells=3,
                                space=SearchSpace.preset("darts", 2)),
          "pcdarts": SearchConfig(dataset="fake", epochs=3, batch_size=32, channels=4, cells=3, method="pcdarts",
                                  k=2, space=SearchSpace.preset("darts", 2), warmup_epochs=1)}
# with the DARTS protocol's crop, flip and cutout on: their draws must also resume exactly
TRAIN = TrainConfig(dataset="fake", epochs=3, batch_size=32, channels=4, cells=3, drop_path=0.2, dropout=0.3,
                    auxiliary_weight=0.4, crop_padding=2, flip=True, cutout=4)


def stop_after(steps: set[int], stop: StopSignal):
    """A listener that asks for a stop when the run's global step count reaches one of ``steps``."""
    seen = [0]

    def listener(event):
        if event.kind == "step":
            seen[0] += 1
            if seen[0] in steps:
                stop.stop()
    return listener


def records(folder: Path, names) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in names}


def interrupted(run, folder: Path, stops: list[int]):
    """Run, stopping after each global step count in ``stops`` (counted within each resumed part), then
    resume until finished."""
    for i, at in enumerate([*stops, None]):
        stop = StopSignal()
        listeners = () if at is None else (stop_after({at}, stop),)
        result = run(folder, stop, listeners, resume=i > 0)
        assert result.status == ("finished" if at is None else "stopped")
        if at is not None:
            assert json.loads((folder / "run.json").read_text())["status"] == "stopped"
    return result


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Uninterrupted runs, made once per kind: {name: (folder, result)}."""
    done = {}

    def get(name, run):
        if name not in done:
            folder = tmp_path_factory.mktemp("full") / name
            done[name] = folder, run(folder, None, ())
        return done[name]
    return get


def search_runner(method):
    def run(folder, stop, listeners, resume=False):
        return run_search(SEARCH[method], run_dir=folder, stop=stop, listeners=listeners, resume=resume)
    return run


def train_runner(folder, stop, listeners, resume=False):
    return train_network(load_architecture("DARTS_V2"), TRAIN, run_dir=folder, stop=stop, listeners=listeners,
                         resume=resume)


@pytest.mark.parametrize("method, stops", [("darts", [1]), ("darts", [3, 6]), ("darts", [4]), ("pcdarts", [6])],
                         ids=["mid-epoch", "twice", "epoch-end", "pcdarts-warmup-then-search"])
def test_search_stop_then_resume_is_byte_identical(method, stops, tmp_path, uninterrupted):
    full_dir, full = uninterrupted(method, search_runner(method))
    resumed = interrupted(search_runner(method), tmp_path / "parts", stops)
    assert records(tmp_path / "parts", SEARCH_RECORDS) == records(full_dir, SEARCH_RECORDS)
    assert resumed.genotype == full.genotype and resumed.history == full.history


@pytest.mark.parametrize("stops", [[1], [5, 3], [8]], ids=["mid-epoch", "twice", "epoch-end"])
def test_train_stop_then_resume_is_byte_identical(stops, tmp_path, uninterrupted):
    full_dir, full = uninterrupted("train", train_runner)
    resumed = interrupted(train_runner, tmp_path / "parts", stops)
    names = ("metrics.json", "run.json", "network.json")
    assert records(tmp_path / "parts", names) == records(full_dir, names)
    assert resumed.test_acc == full.test_acc


def test_stop_before_the_first_step_resumes_from_the_start(tmp_path, uninterrupted):
    config = SEARCH["darts"]
    stop = StopSignal()
    stop.stop()
    assert run_search(config, run_dir=tmp_path / "parts", stop=stop).status == "stopped"
    run_search(config, run_dir=tmp_path / "parts", resume=True)
    full_dir, _ = uninterrupted("darts", search_runner("darts"))
    assert records(tmp_path / "parts", SEARCH_RECORDS) == records(full_dir, SEARCH_RECORDS)


def test_folder_with_only_config_is_resumed_or_reused_and_stray_temporary_files_go(tmp_path, uninterrupted):
    config = SEARCH["darts"]
    for folder, resume in ((tmp_path / "resumed", True), (tmp_path / "reused", False)):
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"kind": "search", **config.to_dict()}))
        (folder / ".metrics.json.abc123.tmp").write_text("half a file")
        assert run_search(config, run_dir=folder, resume=resume).status == "finished"
        assert not list(folder.glob(".*.tmp"))
    full_dir, _ = uninterrupted("darts", search_runner("darts"))
    for folder in ("resumed", "reused"):
        assert records(tmp_path / folder, SEARCH_RECORDS) == records(full_dir, SEARCH_RECORDS)


# ---------------------------------------------------------------- Ctrl-C and SIGTERM on the command line

CLI = [sys.executable, "-m", "toolkit", "search", "darts", "--dataset", "fake", "--epochs", "2", "--batch-size", "16",
       "--channels", "4", "--cells", "3", "--nodes", "2", "--quiet"]


def cli_env():
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # same threads in every run


@pytest.fixture(scope="module")
def cli_full_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "full"
    full = subprocess.run([*CLI, "--out", str(folder)], env=cli_env(), capture_output=True, text=True)
    assert full.returncode == 0, full.stderr
    return folder


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_after_the_step_and_resume_is_byte_identical(signum, tmp_path, cli_full_run):
    parts = tmp_path / "parts"
    process = subprocess.Popen([*CLI, "--out", str(parts)], env=cli_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (parts / "config.json").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signum)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert "stopped; continue exactly where it stopped with: python -m toolkit search darts --resume" in out
    assert json.loads((parts / "run.json").read_text())["status"] == "stopped"
    assert (parts / "checkpoint.pt").is_file()
    resumed = subprocess.run([*CLI[:5], "--resume", "--quiet", "--out", str(parts)], env=cli_env(),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert records(parts, SEARCH_RECORDS) == records(cli_full_run, SEARCH_RECORDS)
