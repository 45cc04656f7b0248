"""Every stage of every multi-stage method resumes exactly: stop it after some steps, resume, and the
records equal an uninterrupted run's byte for byte.

TS-ENAS: the SuperNet training (mid-epoch, from its checkpoint), a rough and a fine generation (evaluated
again from their start with the same draws and seeds). ME-DARTS: a member inside each of its three stages
(the stage's finished members are read back, the stopped one continues from its checkpoint). DARTS-GAL's
baseline, masks and retrain stages: tests/test_engine.py; the single searches and training:
tests/test_resume.py.
"""

import json
import re
from pathlib import Path

import pytest

from toolkit.config import SearchConfig
from toolkit.data import load_dataset
from toolkit.events import StopSignal
from toolkit.medarts import MeDartsConfig, Stage, StagePlan, run_me_darts
from toolkit.tsenas import TsEnasConfig
from toolkit.tsenas.run import run_ts_enas

TS_TINY = dict(dataset="fake", device="cpu", channels=4, population=2, rough_generations=1, survivors=1,
               fine_generations=1, epochs=1, supernet_epochs=2, n_min=2, n_max=3, batch_size=64)
ME_TINY = MeDartsConfig(SearchConfig(dataset="digits", device="cpu", seed=3), eval_cells=3, eval_channels=4,
                        stages=StagePlan(
    Stage("init", cells=3, channels=4, epochs=1, train_samples=40, population=2, batch_size=8),
    Stage("mid", cells=3, channels=4, epochs=1, train_samples=40, population=4, parents=2, batch_size=8),
    Stage("final", cells=3, channels=4, epochs=2, train_samples=40, population=1, parents=1, batch_size=8),
))


@pytest.fixture(scope="module")
def data():
    return load_dataset("fake")


def records(folder) -> dict[str, bytes]:
    """Every JSON record of a run folder (sub-folders included), by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.json"))}


def stop_at(stop: StopSignal, run_id: str, n: int):
    """A listener that sets ``stop`` at the ``n``-th step event of the runs whose id matches ``run_id``."""
    seen = []

    def listener(event):
        if event.kind == "step" and re.search(run_id, event.run_id):
            seen.append(event)
            if len(seen) == n:
                stop.stop()

    return listener


def run_with_stops(start, resume, stops: list[tuple[str, int]]):
    """Run ``start`` with a stop at the first (run id pattern, step) pair, then ``resume`` once per further
    pair and once more to the end; returns the statuses and every run's events."""
    statuses, events = [], []
    for i, (pattern, n) in enumerate([*stops, (None, 0)]):
        stop = StopSignal()
        listeners = [events.append, *([stop_at(stop, pattern, n)] if pattern else [])]
        result = (resume if i else start)(stop=stop, listeners=listeners)
        statuses.append(result.status)
    return statuses, events


def steps_of(events, run_id: str) -> int:
    return sum(1 for e in events if e.kind == "step" and re.search(run_id, e.run_id))


def test_ts_enas_stopped_in_the_supernet_and_in_each_stage_resumes_byte_identically(tmp_path, data):
    events = []
    whole = run_ts_enas(TsEnasConfig(**TS_TINY), data=data, run_dir=tmp_path / "whole", listeners=[events.append])
    assert whole.status == "finished"
    folder = tmp_path / "stopped"
    start = lambda **kw: run_ts_enas(TsEnasConfig(**TS_TINY), data=data, run_dir=folder, **kw)  # noqa: E731
    resume = lambda **kw: run_ts_enas(None, data=data, run_dir=folder, resume=True, **kw)  # noqa: E731
    steps = -(-len(data.train) // TS_TINY["batch_size"])
    root = r"^[^/]+$"  # a candidate evaluated (the root run's step events)
    assert steps > 2
    stops = [("/supernet#", 1),  # inside the SuperNet's first epoch
             ("/supernet#", steps),  # resumed, then stopped again inside its second epoch
             (root, 2 + 1),  # generation 0's 2 candidates, then 1 of the rough generation 1's 2
             (root, 2 + 1)]  # generation 1 again, then 1 of the fine generation 2's 2
    statuses, stopped = run_with_stops(start, resume, stops)
    assert statuses == ["stopped"] * 4 + ["finished"]
    assert records(folder) == records(tmp_path / "whole")
    # the SuperNet continued where it stopped: no step computed twice, none skipped
    assert steps_of(stopped, "/supernet#") == steps_of(events, "/supernet#") == 2 * steps
    sn = json.loads((folder / "supernet" / "metrics.json").read_text())
    assert len(sn) == TS_TINY["supernet_epochs"]


def test_me_darts_stopped_inside_each_stage_resumes_byte_identically(tmp_path):
    events = []
    whole = run_me_darts(ME_TINY, run_dir=tmp_path / "whole", listeners=[events.append])
    assert whole.status == "finished"
    folder = tmp_path / "stopped"
    start = lambda **kw: run_me_darts(ME_TINY, run_dir=folder, **kw)  # noqa: E731
    resume = lambda **kw: run_me_darts(ME_TINY, run_dir=folder, resume=True, **kw)  # noqa: E731
    stops = [("/init-1#", 2),  # the second member of the init stage, mid-search
             ("/mid-2#", 1),  # a crossover child of the mid stage
             ("/final-0#", 4)]  # the final search, inside its second epoch
    statuses, stopped = run_with_stops(start, resume, stops)
    assert statuses == ["stopped"] * 3 + ["finished"]
    assert records(folder) == records(tmp_path / "whole")
    # every member continued where it stopped: the searches computed each step once
    assert steps_of(stopped, "/") == steps_of(events, "/")
    last = max(i for i, e in enumerate(stopped) if e.kind == "run_start" and e.parent is None)
    # the last resume (inside the final stage's search) announces the steps it then computes
    assert stopped[last]["total_steps"] == sum(1 for e in stopped[last:] if e.kind == "step") > 0
    assert steps_of(events, "/final-0#") > 4
    assert sorted(p.name for p in (folder / "members").iterdir()) == sorted(records_members(whole))


def records_members(result) -> list[str]:
    return [m["id"] for r in result.stages for m in r["members"]]


@pytest.mark.parametrize("supernet_status, exact", [("stopped", True), ("finished", False)])
def test_ts_enas_cli_says_exactly_only_when_the_supernet_checkpoint_holds_the_position(
        tmp_path, monkeypatch, capsys, supernet_status, exact):
    import toolkit.tsenas.run as tsenas_run
    from toolkit.cli import main
    from toolkit.tsenas import table_ii

    def stopped_run(config, *, run_dir, **kwargs):
        (Path(run_dir) / "supernet").mkdir(parents=True)
        (Path(run_dir) / "supernet" / "run.json").write_text(json.dumps({"status": supernet_status}))
        return tsenas_run.TsEnasResult("stopped", None, [], table_ii(), Path(run_dir))

    monkeypatch.setattr(tsenas_run, "run_ts_enas", stopped_run)
    assert main(["search", "ts-enas", "--preset", "cpu-small", "--quiet", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert ("continue exactly where it stopped" in out) == exact
    assert exact or "the generation in progress is evaluated again from its start" in out


@pytest.mark.parametrize("executor, exact", [("local", True), ("process", False)])
def test_me_darts_cli_says_exactly_only_for_members_with_checkpoints(tmp_path, monkeypatch, capsys, executor, exact):
    import toolkit.medarts as medarts
    import toolkit.medarts.run as medarts_run
    from toolkit.cli import main

    monkeypatch.setattr(medarts_run, "run_me_darts",
                        lambda config, *, run_dir, **kw: medarts.MeDartsResult(None, [], {}, "stopped", Path(run_dir)))
    argv = ["search", "me-darts", "--quiet", "--executor", executor, "--workers", "1", "--out", str(tmp_path / "r")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert ("continue exactly where it stopped" in out) == exact
    assert exact or "the stage in progress is searched again from its start" in out
