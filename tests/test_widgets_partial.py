"""The partial-channel widgets, driven headlessly (no kernel, no browser)."""

import dataclasses

import pytest
import torch

from toolkit.config import SearchConfig
from toolkit.data import balanced_subset, load_dataset
from toolkit.errors import ToolkitError
from toolkit.partial import PartialChannelEdge
from toolkit.space import SearchSpace
from widgets.partial import EdgeExplorer, KSweep, ModeComparison, channel_chart, edge_channel_chart


def test_channel_chart_highlights_the_selected_channels():
    fig = channel_chart([0.2, 0.9, 0.4, 0.8], [1, 3])
    colors = list(fig.data[0].marker.color)
    assert colors[1] == colors[3] != colors[0] == colors[2]
    assert list(fig.data[0].y) == [0.2, 0.9, 0.4, 0.8]


def test_edge_explorer_follows_the_k_slider_and_the_mode():
    explorer = EdgeExplorer(C=8, ops=("skip_connect", "sep_conv_3x3"), batch=2, size=4)
    saved = {}
    for k in (1, 2, 4, 8):
        explorer.k.value = k
        saved[k] = explorer.saved_bytes
        assert f"{8 // k} of 8 channels enter the op" in explorer.summary
        orange = sum(c == "#ff7f0e" for c in explorer.figure.data[0].marker.color)
        assert orange == (8 // k if k > 1 else 8)
    assert saved[1] > saved[2] > saved[4] > saved[8]
    explorer.mode.value = "random"
    explorer.k.value = 4
    assert "(0, 1)" in explorer.summary  # PC-DARTS: the first C/K channels
    explorer.mode.value = "none"
    assert "8 of 8" in explorer.summary


def test_edge_channel_chart_needs_a_forward_first():
    edge = PartialChannelEdge(4, 1, ("skip_connect",), "attention", k=2)
    with pytest.raises(ToolkitError, match="has not run yet"):
        edge_channel_chart(edge)
    edge(torch.rand(2, 4, 3, 3), torch.tensor([1.0]))
    fig = edge_channel_chart(edge)
    assert len(fig.data[0].y) == 4 and "2 of 4" in fig.layout.title.text


@pytest.fixture(scope="module")
def tiny():
    data = load_dataset("digits")
    data = dataclasses.replace(data, train=balanced_subset(data.train, per_class=4, seed=0))
    config = SearchConfig(dataset="digits", channels=4, cells=3, batch_size=8, epochs=2, k=2,
                          space=SearchSpace(("skip_connect", "sep_conv_3x3", "max_pool_3x3"), nodes=2))
    return config, data


def test_k_sweep_fills_both_charts(tiny):
    config, data = tiny
    sweep = KSweep(config, data, ks=(1, 2, 4), methods=("pcdarts",), steps=2)
    rows = sweep.run().wait(timeout=120)
    assert [r["k"] for r in rows] == [1, 2, 4]
    mem = sweep.memory.points("PC-DARTS")
    assert mem[0] == [1, 2, 4] and mem[1][0] > mem[1][1] > mem[1][2]
    assert len(sweep.time.points("PC-DARTS")[1]) == 3
    assert "PC-DARTS    4" in sweep.table()
    assert sweep.controls.stop_button.disabled and sweep.controls.status.bar.value == 3
    assert sweep.controls.status.line.value == "finished: 3 of 3 points measured"


def test_mode_comparison_runs_each_method_and_plots_skips_per_epoch(tiny):
    config, data = tiny
    comparison = ModeComparison(config, data)
    results = comparison.run().wait(timeout=120)
    assert list(results) == ["darts", "pcdarts", "adarts"]
    for method, result in results.items():
        label = {"darts": "DARTS", "pcdarts": "PC-DARTS", "adarts": "ADARTS"}[method]
        xs, ys = comparison.skips.points(f"{label} normal")
        assert [round(x) for x in xs] == [1, 2] and ys == [h["skip_normal"] for h in result.history]
        assert "<svg" in comparison.views[method].value or "cannot draw" in comparison.views[method].value
    assert comparison.config_for("darts").k == 1 and comparison.config_for("adarts").k == 2
    assert "ADARTS" in comparison.table.value
    assert comparison.controls.status.line.value == "finished: DARTS 2 epoch(s), PC-DARTS 2 epoch(s), ADARTS 2 epoch(s)"


def test_the_stop_button_ends_a_mode_comparison_with_a_partial_result(tiny):
    config, data = tiny
    comparison = ModeComparison(dataclasses.replace(config, epochs=50), data)
    stopped = {}
    follow = comparison.listener

    def listener(method):  # the comparison's own listener, and a press of Stop at the first step
        inner = follow(method)

        def on_event(event):
            inner(event)
            if event.kind == "step" and not stopped:
                assert not comparison.controls.stop_button.disabled
                stopped["at"] = event["step"]
                comparison.controls.stop_button.click()
        return on_event

    comparison.listener = listener
    run = comparison.run()
    results = run.wait(timeout=120)
    assert run.status == "stopped" and list(results) == ["darts"] and len(results["darts"].history) <= 1
    assert comparison.controls.stop_button.disabled
    assert comparison.controls.status.line.value.startswith("stopped: DARTS ")
    assert comparison.controls.status.line.value.endswith("PC-DARTS not run, ADARTS not run")
