import io
import random

import numpy as np
import pytest
import torch

from toolkit.errors import ToolkitError
from toolkit.events import EventBus, ProgressBar, StopSignal
from toolkit.runtime import autocast, pick_device, rng_state, set_rng_state


def test_a_failing_listener_warns_once_and_others_still_receive():
    seen = []

    def broken(event):
        raise RuntimeError("plot died")

    bus = EventBus([broken, seen.append])
    with pytest.warns(UserWarning, match="plot died"):
        bus.emit("step", epoch=1, step=1, steps=2, loss=1.0)
    bus.emit("step", epoch=1, step=2, steps=2, loss=0.5)  # no second warning
    assert [e["loss"] for e in seen] == [1.0, 0.5]


def test_event_data_is_a_copy():
    values = {"normal": [[0.5, 0.5]]}
    event = EventBus().emit("epoch_end", epoch=1, alphas=values)
    values["normal"][0][0] = 9.0
    assert event["alphas"]["normal"][0][0] == 0.5


def test_progress_bar_follows_a_run():
    bar = ProgressBar(file=io.StringIO())
    bus = EventBus([bar])
    bus.emit("run_start", total_steps=2, name="x", kind="train")
    bus.emit("step", epoch=1, step=1, steps=2, loss=1.0)
    assert bar.bar.n == 1
    bus.emit("run_end", status="finished", epochs_done=1)
    assert bar.bar is None


def test_stop_signal():
    stop = StopSignal()
    assert not stop.requested
    stop.stop()
    assert stop.requested


def test_devices_and_amp_validation():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ToolkitError, match="unknown device"):
        pick_device("tpu9")
    if not torch.cuda.is_available():
        with pytest.raises(ToolkitError, match="no CUDA GPU"):
            pick_device("cuda")
    with pytest.raises(ToolkitError, match="unknown amp"):
        autocast(torch.device("cpu"), "fp8")
    with autocast(torch.device("cpu"), "bf16"):
        y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16


def test_rng_state_round_trip():
    state = rng_state()
    a = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    set_rng_state(state)
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == a
