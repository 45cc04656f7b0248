"""The one outer driver (toolkit/stages.py): a stopped run resumes at its first unfinished unit without
computing a finished one again; one resume rule for DARTS-GAL, ME-DARTS and TS-ENAS (a changed setting is
one line naming the field, the same settings resume); and no function of the library is longer than 60
lines."""

import ast
import json
from pathlib import Path

import pytest

from toolkit.config import RunConfig, SearchConfig
from toolkit.errors import ToolkitError
from toolkit.events import StopSignal
from toolkit.gal import GalConfig
from toolkit.gal.run import run_gal
from toolkit.genotype import load_architecture
from toolkit.medarts import MeDartsConfig, Stage, StagePlan, run_me_darts
from toolkit.stages import Stages, differences, run_stages
from toolkit.tsenas import TsEnasConfig
from toolkit.tsenas.run import run_ts_enas

GAL = GalConfig(dataset="fake", channels=4, cells=3, reductions=(2,), epochs=1, batch_size=64, gal_epochs=1,
                gal_batch_size=128, device="cpu", d_hidden=16, lam=1.0)
ME = MeDartsConfig(SearchConfig(dataset="digits", device="cpu", seed=3), eval_cells=3, eval_channels=4,
                   stages=StagePlan(
    Stage("init", cells=3, channels=4, epochs=1, train_samples=40, population=2, batch_size=8),
    Stage("mid", cells=3, channels=4, epochs=1, train_samples=40, population=4, parents=2, batch_size=8),
    Stage("final", cells=3, channels=4, epochs=1, train_samples=40, population=1, parents=1, batch_size=8),
))
TS = dict(dataset="fake", device="cpu", channels=4, population=2, rough_generations=1, survivors=1,
          fine_generations=1, epochs=1, supernet_epochs=1, n_min=2, n_max=3, batch_size=64)


class Count(Stages):
    """Three units; each computes the square of its number and saves it as ``unit_N.json``."""

    kind, name, units = "count", "count", ("one", "two", "three")

    def __init__(self, config: RunConfig, stop_after: int | None = None):
        self.config, self.stop_after, self.computed, self.values = config, stop_after, [], []

    def parse(self, name, saved):
        return RunConfig.from_dict(saved)

    def restore(self, run):
        self.values = [json.loads((run.path / f"unit_{i}.json").read_text())
                       for i in range(len(self.units)) if (run.path / f"unit_{i}.json").is_file()]
        return len(self.values)

    def run_start(self, done):
        return {"total_steps": len(self.units) - done}

    def run_unit(self, index, run):
        self.computed.append(index)
        self.values.append((index + 1) ** 2)
        if index == self.stop_after:
            run.stop.stop()  # a Stop pressed while this unit ran: the driver stops before the next
        return "finished"

    def save_unit(self, index, run):
        run.write_json(f"unit_{index}.json", self.values[index])

    def generation(self, index):
        member = {"id": self.units[index], "metrics": {"value": self.values[index]}, "genotype": {}}
        return {"index": index + 1, "population": [member]}

    def finish(self, status, done, run):
        return {"units_done": done, "values": self.values}, {"epochs_done": done}


def test_a_toy_method_stopped_after_its_first_unit_resumes_without_computing_it_again(tmp_path):
    folder, config, events = tmp_path / "run", RunConfig(device="cpu", epochs=3), []
    first = Count(config, stop_after=0)
    assert run_stages(first, run_dir=folder, listeners=(events.append,)) == "stopped"
    assert first.computed == [0]
    assert json.loads((folder / "run.json").read_text()) == {"kind": "count", "status": "stopped", "units_done": 1,
                                                             "values": [1]}
    assert not (folder / ".lock").exists()  # released however the run ended
    again = Count(config)
    assert run_stages(again, run_dir=folder, resume=True, listeners=(events.append,)) == "finished"
    assert again.computed == [1, 2] and again.values == [1, 4, 9]
    assert json.loads((folder / "run.json").read_text())["values"] == [1, 4, 9]
    starts = [e for e in events if e.kind == "run_start"]
    assert [s["total_steps"] for s in starts] == [3, 2] and starts[0]["config"] == config.to_dict()
    assert [e["index"] for e in events if e.kind == "generation"] == [1, 2, 3]
    assert [e["status"] for e in events if e.kind == "run_end"] == ["stopped", "finished"]
    with pytest.raises(ToolkitError, match="already exists; choose another --out or add --resume"):
        run_stages(Count(config), run_dir=folder)


def test_the_toy_method_follows_the_one_resume_rule(tmp_path):
    folder = tmp_path / "run"
    assert run_stages(Count(RunConfig(device="cpu", epochs=3), stop_after=0), run_dir=folder) == "stopped"
    with pytest.raises(ToolkitError) as caught:
        run_stages(Count(RunConfig(device="cpu", epochs=5, lr=0.1)), run_dir=folder, resume=True)
    message = str(caught.value)
    assert "\n" not in message and f"the run in '{folder}' was started with epochs=3, lr=0.025" in message
    assert "this call says epochs=5, lr=0.1; resume with the same settings or start a new --out" in message
    resumed = Count(None)  # None: the saved config
    assert run_stages(resumed, run_dir=folder, resume=True) == "finished"
    assert resumed.config == RunConfig(device="cpu", epochs=3) and resumed.computed == [1, 2]


def test_differences_name_nested_fields_and_fields_one_side_lacks():
    diff = differences({"a": {"b": [1, 2]}, "gone": 1}, {"a": {"b": [1, 3]}, "new": "x"})
    assert [(name, saved, given) for name, saved, given in diff if name == "a.b[1]"] == [("a.b[1]", 2, 3)]
    assert {name for name, *_ in diff} == {"a.b[1]", "new", "gone"}


def one_line_naming(caught, folder, *fields) -> bool:
    message = str(caught.value)
    return "\n" not in message and f"the run in '{folder}'" in message and all(f in message for f in fields)


def stopped_at_first_step(stop: StopSignal, steps: list):
    def listener(event):
        if event.kind == "step":
            steps.append(event)
            stop.stop()

    return listener


def test_gal_resume_rule(tmp_path):
    folder, cells = tmp_path / "gal", load_architecture("DARTS_V2")
    stop = StopSignal()
    stop.stop()  # stopped before its first unit: config.json and run.json are written
    assert run_gal(cells, GAL, run_dir=folder, stop=stop).status == "stopped"
    with pytest.raises(ToolkitError) as caught:
        run_gal(cells, GalConfig(**{**GAL.to_dict(), "epochs": 2, "reductions": (2,)}), run_dir=folder, resume=True)
    assert one_line_naming(caught, folder, "started with epochs=1", "this call says epochs=2")
    resumed = run_gal(cells, GAL, run_dir=folder, resume=True)
    assert resumed.status == "finished" and resumed.report is not None
    with pytest.raises(ToolkitError, match="holds a gal run, not a ts-enas run; start a new run in another --out"):
        run_ts_enas(None, run_dir=folder, resume=True)


def test_me_darts_resume_rule(tmp_path):
    folder = tmp_path / "me"
    stop = StopSignal()
    stop.stop()
    assert run_me_darts(ME, run_dir=folder, stop=stop).status == "stopped"
    changed = MeDartsConfig(ME.search, eval_cells=3, eval_channels=8, stages=ME.stages)
    with pytest.raises(ToolkitError) as caught:
        run_me_darts(changed, run_dir=folder, resume=True)
    assert one_line_naming(caught, folder, "started with eval_channels=4", "this call says eval_channels=8")
    stop, steps = StopSignal(), []
    resumed = run_me_darts(ME, run_dir=folder, resume=True, stop=stop, listeners=(stopped_at_first_step(stop, steps),))
    assert resumed.status == "stopped" and len(steps) == 1  # resumed: it computed, then stopped again


def test_ts_enas_resume_rule(tmp_path):
    folder = tmp_path / "ts"
    stop = StopSignal()
    stop.stop()
    assert run_ts_enas(TsEnasConfig(**TS), run_dir=folder, stop=stop).status == "stopped"
    with pytest.raises(ToolkitError) as caught:  # TS-ENAS no longer takes the saved config silently
        run_ts_enas(TsEnasConfig(**{**TS, "population": 4}), run_dir=folder, resume=True)
    assert one_line_naming(caught, folder, "started with population=2", "this call says population=4")
    for config in (TsEnasConfig(**TS), None):  # the same config, or None for the saved one
        stop, steps = StopSignal(), []
        resumed = run_ts_enas(config, run_dir=folder, resume=True, stop=stop,
                              listeners=(stopped_at_first_step(stop, steps),))
        assert resumed.status == "stopped" and len(steps) == 1


TOOLKIT = Path(__file__).resolve().parents[1] / "toolkit"
LONGEST = 60
ALLOWED: dict[str, int] = {}  # "module.py:function" -> lines, for a function that truly cannot be split (none)


def test_no_library_function_is_longer_than_60_lines():
    long = {}
    for path in sorted(TOOLKIT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                key = f"{path.relative_to(TOOLKIT)}:{node.name}"
                if lines > max(LONGEST, ALLOWED.get(key, 0)):
                    long[key] = lines
    assert long == {}, f"split these functions (at most {LONGEST} lines each): {long}"


def test_the_driver_example_runs():
    import doctest

    import toolkit.stages

    results = doctest.testmod(toolkit.stages)
    assert results.attempted > 0 and results.failed == 0
