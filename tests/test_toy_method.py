"""A new method is one registry entry plus its run function: a toy method registered from this test runs
through the registry and through the one run panel (Run, Stop, Resume) with no other file touched."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import pytest

from toolkit.errors import ToolkitError
from toolkit.events import EventBus
from toolkit.methods import METHODS, Method, get_method, methods, register

pytest.importorskip("ipywidgets")


@dataclass(frozen=True)
class ToyConfig:
    """The toy's settings: count up to ``steps``, adding ``increment`` each step."""

    steps: int = 3
    increment: float = 0.5


@dataclass
class ToyResult:
    status: str
    total: float
    steps_done: int


GATE = threading.Event()  # when cleared, the toy waits after every step (so a test can stop it mid-run)


def run_toy(config: ToyConfig, *, listeners=(), stop=None, run_dir=None, resume=False) -> ToyResult:
    """The toy method's loop: one step per count, a checkpoint in ``run_dir`` after each, resumable."""
    state = {"done": 0, "total": 0.0}
    if resume:
        state = json.loads((run_dir / "state.json").read_text())
    elif run_dir is not None:
        run_dir.mkdir(parents=True)
    bus = EventBus(listeners)
    bus.emit("run_start", name="toy", kind="toy", total_steps=config.steps, epochs=1)
    while state["done"] < config.steps:
        if stop is not None and stop.requested:
            bus.emit("run_end", status="stopped", epochs_done=0)
            return ToyResult("stopped", state["total"], state["done"])
        state = {"done": state["done"] + 1, "total": state["total"] + config.increment}
        if run_dir is not None:
            (run_dir / "state.json").write_text(json.dumps(state))
        bus.emit("step", epoch=1, step=state["done"], steps=config.steps, loss=state["total"])
        GATE.wait(10)
    bus.emit("run_end", status="finished", epochs_done=1)
    return ToyResult("finished", state["total"], state["done"])


@pytest.fixture
def toy():
    """The toy method in the registry for one test (its loop is this module's run_toy)."""
    method = register(Method("toy", "toy (counts up)", "population", {"steps": 3}, f"{__name__}:run_toy",
                             tunables=("steps", "increment"), command=f"{__name__}:toy_command"))
    GATE.set()
    yield method
    GATE.set()
    METHODS.pop("toy")
    assert "toy" not in methods()


def test_toy_method_runs_through_the_registry(toy):
    seen = []
    result = get_method("toy").run(config=ToyConfig(steps=4), listeners=(seen.append,))
    assert (result.status, result.total, result.steps_done) == ("finished", 2.0, 4)
    assert [e.kind for e in seen] == ["run_start", "step", "step", "step", "step", "run_end"]
    assert get_method("toy", "population") is toy
    with pytest.raises(ToolkitError, match="unknown search method 'toy'"):
        get_method("toy", "search")


def toy_command(args) -> int:
    """The toy's command-line handler: runs it through the registry and prints its total."""
    result = get_method(args.method).run(config=ToyConfig(steps=2))
    print(f"toy {result.status}: total {result.total}")
    return 0


def test_the_command_line_starts_the_toy_through_its_registry_entry(toy, capsys):
    from toolkit.cli import main

    assert main(["search", "toy", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == "toy finished: total 1.0"


def test_toy_method_runs_stops_and_resumes_in_the_panel(toy, tmp_path):
    from widgets import RunPanel

    panel = RunPanel("toy", ToyConfig(), run_dir=tmp_path)
    assert set(panel.knobs) == {"steps", "increment"}  # from the registry's tunables, made from the field types
    panel.knobs["steps"].value = 5
    panel.knobs["increment"].value = 2.0
    result = panel.run().wait(30)
    assert (result.status, result.total, result.steps_done) == ("finished", 10.0, 5)
    assert panel.result is result and panel.run_folder == tmp_path / "run-1"
    assert panel.status.bar.value == panel.status.bar.max == 5 and "finished" in panel.status.line.value
    assert panel.resume_button.disabled

    GATE.clear()  # the next run waits after its first step until the gate opens
    run = panel.run()
    deadline = time.monotonic() + 30
    while run.last_event is None or run.last_event.kind != "step":
        assert time.monotonic() < deadline, "the toy run never made its first step"
        time.sleep(0.01)
    panel.stop_button.click()
    GATE.set()
    stopped = run.wait(30)
    assert (stopped.status, stopped.steps_done) == ("stopped", 1)
    assert "stopped" in panel.status.line.value and not panel.resume_button.disabled
    assert panel.run_folder == tmp_path / "run-2" and "Resume continues it" in panel.note.value

    panel.resume_button.click()  # continues run-2 from its folder, with the stopped run's settings
    resumed = panel.run_handle.wait(30)
    assert (resumed.status, resumed.total, resumed.steps_done) == ("finished", 10.0, 5)
    assert json.loads((tmp_path / "run-2" / "state.json").read_text()) == {"done": 5, "total": 10.0}
    panel.resume_button.click()  # a finished run has nothing to resume: one readable line, no new run
    assert "nothing to resume" in panel.error.value and panel.run_handle.status == "finished"
