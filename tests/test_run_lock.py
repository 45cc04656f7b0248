"""One writer per run folder: the lock, its release on every exit path, and its messages."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit import PUBLISHED, SearchConfig, TrainConfig
from toolkit.engine import Diverged
from toolkit.errors import ToolkitError
from toolkit.events import StopSignal
from toolkit.gal.config import GalConfig
from toolkit.gal.run import run_gal
from toolkit.rundir import LOCK, RunDir
from toolkit.search import run_search
from toolkit.train import _Training, train_network

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(dataset="digits", epochs=1, channels=4, cells=3, batch_size=64, device="cpu")

# waits for the barrier file with torch and the toolkit already imported, then runs the command line
RUNNER = """
import sys, time, pathlib
import toolkit.cli, toolkit.search, torch
barrier = pathlib.Path(sys.argv[1])
while not barrier.exists():
    time.sleep(0.005)
sys.exit(toolkit.cli.main(sys.argv[2:]))
"""


def test_two_runs_started_at_once_on_one_folder_never_both_run(tmp_path):
    barrier, out = tmp_path / "go", tmp_path / "R"
    argv = ["search", "darts", "--dataset", "digits", "--epochs", "1", "--channels", "4", "--cells", "3",
            "--out", str(out), "--quiet", "--device", "cpu"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER, str(barrier), *argv], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    barrier.touch()
    outputs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], (codes, outputs)
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    error = outputs[loser][1].strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: "), error  # one line, no traceback
    assert f"is in use by another run (pid {procs[winner].pid} on {socket.gethostname()}, started " in error[0]
    assert "finished: 1/1 epochs" in outputs[winner][0]
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    assert json.loads((out / "config.json").read_text())["epochs"] == 1
    assert not (out / LOCK).exists()  # released when the winner finished


def test_the_lock_holds_pid_host_and_start_time_and_a_second_run_names_it(tmp_path):
    with RunDir(tmp_path / "run") as run:
        holder = json.loads((run.path / LOCK).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname() and holder["started"]
        with pytest.raises(ToolkitError, match=rf"in use by another run \(pid {os.getpid()} on .*choose another"):
            RunDir(tmp_path / "run", resume=True)
        with pytest.raises(ToolkitError, match="in use by another run"):
            run_search(SearchConfig(**TINY), run_dir=tmp_path / "run")
    assert not (tmp_path / "run" / LOCK).exists()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_stale_lock_is_reported_with_the_command_that_clears_it_and_kept(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    lock = {"pid": _dead_pid(), "host": socket.gethostname(), "started": "2026-01-01T00:00:00+00:00"}
    (folder / LOCK).write_text(json.dumps(lock))
    with pytest.raises(ToolkitError, match=rf"stale lock.*pid {lock['pid']}.*no longer running.*rm .*{LOCK}"):
        RunDir(folder, resume=True)
    assert json.loads((folder / LOCK).read_text()) == lock  # never removed silently
    (folder / LOCK).unlink()  # what the message says to run
    with pytest.raises(ToolkitError, match="cannot resume"):  # now the folder's own state decides
        RunDir(folder, resume=True)


def test_a_lock_from_another_host_says_it_cannot_be_checked(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / LOCK).write_text(json.dumps({"pid": 1, "host": "other-host.example", "started": "2026-01-01"}))
    with pytest.raises(ToolkitError, match="pid 1 on other-host.example.*cannot be checked from here.*rm "):
        RunDir(folder)
    (folder / LOCK).write_text("")  # a lock being written this instant (or damaged)
    with pytest.raises(ToolkitError, match="holder cannot be read"):
        RunDir(folder)


def test_a_refused_run_leaves_the_folder_as_it_was(tmp_path):
    with pytest.raises(ToolkitError, match="cannot resume"):
        RunDir(tmp_path / "nothing", resume=True)
    assert not (tmp_path / "nothing").exists()
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "metrics.json").write_text("[]")
    with pytest.raises(ToolkitError, match="already exists"):
        RunDir(tmp_path / "done")
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["metrics.json"]


def test_the_lock_is_released_when_a_run_finishes_or_stops(tmp_path):
    stop = StopSignal()
    stop.stop()
    result = train_network(PUBLISHED["DARTS_V2"], TrainConfig(**TINY), stop=stop,
                           run_dir=tmp_path / "t")
    assert result.status == "stopped" and not (tmp_path / "t" / LOCK).exists()
    result = run_search(SearchConfig(**TINY), run_dir=tmp_path / "t2")
    assert result.status == "finished" and not (tmp_path / "t2" / LOCK).exists()


@pytest.mark.parametrize("error", [Diverged(float("nan")), RuntimeError("boom"), KeyboardInterrupt()])
def test_the_lock_is_released_when_a_run_diverges_fails_or_is_interrupted(tmp_path, monkeypatch, error):
    def step(self, batch, epoch, step):
        raise error

    monkeypatch.setattr(_Training, "step", step)
    with pytest.raises((ToolkitError, RuntimeError, KeyboardInterrupt)):
        train_network(PUBLISHED["DARTS_V2"], TrainConfig(**TINY), run_dir=tmp_path / "t")
    assert not (tmp_path / "t" / LOCK).exists()
    assert (tmp_path / "t" / "config.json").is_file()  # the run's files stay


def test_a_multi_stage_run_locks_its_top_folder_only_and_releases_it(tmp_path, monkeypatch):
    seen = []

    def step(self, batch, epoch, step):
        seen.append((tmp_path / "g" / LOCK).exists())
        seen.append((tmp_path / "g" / "baseline" / LOCK).exists())
        raise RuntimeError("boom")

    monkeypatch.setattr(_Training, "step", step)
    with pytest.raises(RuntimeError):
        run_gal(PUBLISHED["DARTS_V2"], GalConfig(**TINY), run_dir=tmp_path / "g")
    assert seen == [True, False]
    assert not (tmp_path / "g" / LOCK).exists()
