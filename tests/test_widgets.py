"""Headless widget tests: set control values, click buttons, check configs, figure data and run state."""

import dataclasses
import threading
import time

import pytest
import torch

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from toolkit import PUBLISHED  # noqa: E402
from toolkit.cli import build_parser  # noqa: E402
from toolkit.cli.search import config_from_args  # noqa: E402
from toolkit.config import SearchConfig  # noqa: E402
from toolkit.errors import ToolkitError  # noqa: E402
from toolkit.events import EventBus  # noqa: E402
from toolkit.genotype import Genotype  # noqa: E402
from toolkit.methods import METHODS, Method, register  # noqa: E402
from toolkit.space import TS_ENAS_OPS, SearchSpace  # noqa: E402
from widgets import (  # noqa: E402
    BackgroundRun,
    LinePlot,
    RunPanel,
    live_curves,
    search_panel,
    show_cell,
    start_search,
)
from widgets.live import edge_labels  # noqa: E402

TINY = SearchConfig(dataset="fake", epochs=2, channels=4, cells=3, batch_size=64, space=SearchSpace(nodes=2),
                    device="cpu")



@dataclasses.dataclass(frozen=True)
class PruneConfig:  # a made-up method's settings
    lam: float = 1.0
    rounds: int = 2


def run_prune(config, *, listeners=(), stop=None):
    return config


def explode(config, *, listeners=(), stop=None):
    raise RuntimeError("out of memory on the imaginary GPU")


RELEASE = threading.Event()


def block(config, *, listeners=(), stop=None):
    RELEASE.wait(30)
    return config


@pytest.fixture
def extra_method():
    """Register made-up methods (their loops are this module's functions) for one test."""
    added = []

    def add(name, loop, tunables=()):
        register(Method(name, name, "prune", {}, f"{__name__}:{loop}", tunables=tunables))
        added.append(name)

    yield add
    for name in added:
        METHODS.pop(name, None)


def wait_for(condition, timeout=60.0):
    end = time.time() + timeout
    while not condition():
        assert time.time() < end, "condition not reached in time"
        time.sleep(0.02)


def test_panel_builds_the_config_the_cli_builds():
    panel = search_panel()
    c = panel.controls
    c["dataset"].value = "fake"
    c["method"].value = "pcdarts"
    c["preset"].value = "ts_enas"
    c["nodes"].value, c["cells"].value, c["channels"].value = 2, 3, 8
    c["epochs"].value, c["batch_size"].value, c["seed"].value = 2, 32, 3
    panel.knobs["k"].value = 2
    args = build_parser().parse_args(["search", "pcdarts", "--dataset", "fake", "--space", "ts_enas", "--nodes", "2",
                                      "--cells", "3", "--channels", "8", "--epochs", "2", "--batch-size", "32",
                                      "--seed", "3", "--k", "2"])
    assert panel.config == config_from_args(args)
    assert panel.config.space.ops == TS_ENAS_OPS
    c["method"].value = "darts"
    args = build_parser().parse_args(["search", "darts", "--dataset", "fake", "--space", "ts_enas", "--nodes", "2",
                                      "--cells", "3", "--channels", "8", "--epochs", "2", "--batch-size", "32",
                                      "--seed", "3"])
    assert panel.config == config_from_args(args)


def test_panel_starts_from_a_config_and_keeps_fields_it_has_no_control_for():
    config = SearchConfig(dataset="fake", method="adarts", k=8, channels=16, lr=0.1, device="cpu", order=2,
                          space=SearchSpace(TS_ENAS_OPS, 3), epochs=300)  # beyond the slider's usual range
    panel = search_panel(config)
    assert panel.controls["preset"].value == "ts_enas"
    assert panel.config == config


def test_presets_and_op_checkboxes_choose_the_space():
    panel = search_panel()
    assert sum(box.value for box in panel.op_boxes.values()) == 8
    panel.controls["preset"].value = "ts_enas"
    assert panel.config.space.ops == TS_ENAS_OPS
    panel.op_boxes["sep_conv_7x7"].value = False
    panel.op_boxes["none"].value = True
    assert panel.config.space.ops == tuple(o for o in TS_ENAS_OPS if o != "sep_conv_7x7") + ("none",)
    for box in panel.op_boxes.values():
        box.value = box.description in ("none", "skip_connect")
    with pytest.raises(ToolkitError, match="at least one op with weights"):
        _ = panel.config


def test_method_knobs_show_only_with_their_methods(extra_method):
    panel = search_panel()
    shown = lambda: {n for n, k in panel.knobs.items() if k.layout.display != "none"}  # noqa: E731
    assert shown() == {"order"}
    panel.controls["method"].value = "adarts"
    assert shown() == {"k", "order"} and panel.config.k == 4 and panel.config.method == "adarts"
    extra_method("prune", "run_prune", ("lam", "rounds"))
    panel = RunPanel("prune", PruneConfig())  # any method of the registry, knobs from its tunables
    assert shown() == {"lam", "rounds"} and panel.controls == {} and not hasattr(panel, "_space_box")
    panel.knobs["lam"].value = 0.1
    panel.knobs["rounds"].value = 5  # a field without a tailored control gets one made from its type
    assert panel.config == PruneConfig(lam=pytest.approx(0.1), rounds=5)
    with pytest.raises(ToolkitError, match="needs the run's config"):
        RunPanel("prune")


def test_invalid_values_show_an_error_and_start_nothing():
    panel = search_panel(TINY)
    panel.controls["method"].value = "pcdarts"
    panel.controls["channels"].value = 6
    panel.knobs["k"].value = 4
    panel.run_button.click()
    assert "K=4 does not divide the 6 channels" in panel.error.value
    assert panel.run_handle is None and not panel.run_button.disabled


def test_run_from_the_panel_fills_curves_heatmap_skips_and_cell_drawing():
    panel = search_panel(TINY)
    panel.run_button.click()
    assert panel.run_handle is not None and panel.run_button.disabled and not panel.stop_button.disabled
    result = panel.run_handle.wait(120)
    wait_for(lambda: not panel.run_button.disabled)  # the done callback re-enables Run
    assert panel.run_handle.status == "finished" and panel.stop_button.disabled
    view = panel.view
    steps = 2 * len(result.history)  # fake: 128 images in the w-half, batch 64
    batch_x, batch_y = view.loss.points("batch loss")
    assert len(batch_x) == steps and batch_x[-1] == pytest.approx(2.0)
    figure_traces = {t.name: t for t in view.loss.figure.data}
    assert list(figure_traces["val loss"].y) == pytest.approx([h["val_loss"] for h in result.history])
    assert list(view.accuracy.figure.data[2].y) == pytest.approx([h["val_acc"] for h in result.history])
    assert list(view.skips.figure.data[0].y) == [h["skip_normal"] for h in result.history]
    heat = view.alpha_view.heatmap.figure.data
    final = result.model.alpha_weights()
    assert heat[0].y == tuple(edge_labels(TINY.space)) == ("0→2", "1→2", "0→3", "1→3", "2→3")
    assert heat[0].x == TINY.space.ops
    assert torch.tensor(heat[0].z).numpy() == pytest.approx(final["normal"].detach().numpy(), abs=1e-6)
    assert torch.tensor(heat[1].z).numpy() == pytest.approx(final["reduce"].detach().numpy(), abs=1e-6)
    assert "<svg" in view.cell_view.value and "epoch 2" in view.cell_view.value
    assert panel.status.bar.value == panel.status.bar.max == steps
    assert "finished after 2 epoch(s)" in panel.status.line.value
    view.alpha_view.epoch.value = 1  # scrub back: the heatmap shows the first epoch's α
    shown = [list(row) for row in view.alpha_view.heatmap.figure.data[0].z]
    assert shown == view.alpha_view.history[0]["normal"] != view.alpha_view.history[1]["normal"]


def test_stop_button_ends_a_long_run_at_the_next_step():
    panel = search_panel(SearchConfig(**{**TINY.to_dict(), "space": TINY.space, "epochs": 50}))
    run = panel.run()
    wait_for(lambda: run.last_event is not None and run.last_event.kind == "step")
    panel.stop_button.click()
    result = run.wait(60)
    assert run.status == "stopped" == result.status
    assert len(result.history) < 50
    assert "stopped" in panel.status.line.value
    wait_for(lambda: not panel.run_button.disabled)
    assert panel.stop_button.disabled


def test_interrupting_await_panel_run_ends_the_run_like_stop(tmp_path, capsys):
    """Kernel ▸ Interrupt during ``result = await panel.run()`` (ipykernel cancels the cell): the partial result."""
    import asyncio

    panel = search_panel(SearchConfig(**{**TINY.to_dict(), "space": TINY.space, "epochs": 50}), run_dir=tmp_path)

    async def cell():
        run = panel.run()
        waiting = asyncio.ensure_future(_await(run))
        while run.last_event is None or run.last_event.kind != "step":
            await asyncio.sleep(0.01)
        waiting.cancel()
        return await waiting

    async def _await(run):
        return await run

    result = asyncio.run(asyncio.wait_for(cell(), timeout=60))
    assert result.status == "stopped" and len(result.history) < 50
    assert capsys.readouterr().out.startswith("interrupted: stopped after ")
    wait_for(lambda: not panel.run_button.disabled)
    assert "stopped" in panel.status.line.value and not panel.resume_button.disabled  # Resume, as after Stop


def test_resume_continues_a_stopped_search_from_its_run_folder(tmp_path):
    panel = search_panel(SearchConfig(**{**TINY.to_dict(), "space": TINY.space, "epochs": 3}), run_dir=tmp_path)
    run = panel.run()
    wait_for(lambda: run.last_event is not None and run.last_event.kind == "step")
    panel.stop_button.click()
    stopped = run.wait(60)
    assert stopped.status == "stopped" and len(stopped.history) < 3 and not panel.resume_button.disabled
    panel.resume_button.click()
    resumed = panel.run_handle.wait(120)
    assert resumed.status == "finished" and [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert panel.run_folder == tmp_path / "run-1" and (tmp_path / "run-1" / "genotype.json").is_file()
    assert panel.resume_button.disabled and panel.result is resumed


def test_failures_in_the_run_appear_in_the_panel(extra_method):
    extra_method("explode", "explode")
    panel = RunPanel("explode", PruneConfig())
    panel.run_button.click()
    with pytest.raises(RuntimeError):
        panel.run_handle.wait(10)
    assert "imaginary GPU" in panel.error.value  # the done callback ran before wait() returned
    assert panel.run_handle.status == "failed" and "failed" in panel.status.line.value
    assert panel.run_handle.message == "RuntimeError: out of memory on the imaginary GPU"
    assert panel.resume_button.disabled  # nothing stopped, nothing to resume


def test_background_run_wait_timeout_result_and_callbacks():
    release = threading.Event()
    done = []
    run = BackgroundRun(lambda listeners, stop: release.wait(10) and "result")
    run.add_done_callback(done.append)
    with pytest.raises(TimeoutError):
        run.wait(0.05)
    assert run.status == "running" and not run.done
    release.set()
    assert run.wait(10) == "result" and run.status == "finished" and done == [run]
    run.add_done_callback(done.append)  # after the end: called at once
    assert done == [run, run]
    bad = BackgroundRun(lambda listeners, stop: SearchConfig(epochs=0))
    with pytest.raises(ToolkitError):
        bad.wait(10)
    assert bad.message == "epochs must be at least 1, got 0"


def test_start_search_with_a_standalone_live_view():
    view = live_curves()
    run = start_search(TINY, listeners=[view])
    result = run.wait(120)
    assert len(view.alpha_view.history) == len(result.history) == 2
    assert "finished" in view.status.line.value
    assert view.loss.points("train loss")[0] == [1, 2]


def test_line_plot_takes_any_metric_from_events_and_by_hand():
    bus = EventBus()
    masks = LinePlot(kinds=("masks",), x="epoch")  # every numeric field, list fields element-wise
    losses = LinePlot(["d_loss", "adv_loss"])
    bus.subscribe(masks)
    bus.subscribe(losses)
    for epoch in (1, 2, 3):
        bus.emit("masks", epoch=epoch, step=1, steps=1, iteration=epoch, masks=[1.0, 0.5 / epoch], kept=[0, 1],
                 d_loss=0.5, adv_loss=0.25, data_loss=0.125, reg_loss=0.0)
        bus.emit("epoch_end", epoch=epoch, d_loss=1.0 / epoch, adv_loss=2.0, genotype_text="text")
    assert masks.labels == ["step", "steps", "iteration", "masks[0]", "masks[1]", "kept[0]", "kept[1]", "d_loss",
                            "adv_loss", "data_loss", "reg_loss"]
    assert list(masks.figure.data[4].y) == pytest.approx([0.5, 0.25, 0.5 / 3])
    assert list(losses.figure.data[0].x) == [1, 2, 3] and list(losses.figure.data[1].y) == [2.0] * 3
    memory = LinePlot(["peak_mb"], x="k")
    memory.add(1, peak_mb=120.0)
    memory.add(4, peak_mb=45.0, time_s=3.0)
    assert list(memory.figure.data[0].y) == [120.0, 45.0] and memory.labels == ["peak_mb", "time_s"]


def test_step_updates_are_throttled_but_nothing_is_lost():
    plot = LinePlot([("batch loss", "step", "loss")], min_interval=3600)
    bus = EventBus([plot])
    for step in range(1, 101):
        bus.emit("step", epoch=1, step=step, steps=100, loss=1.0 / step)
    assert len(plot.figure.data[0].y) == 1  # only the first point reached the browser so far
    bus.emit("run_end", status="finished", epochs_done=1)
    assert len(plot.figure.data[0].y) == 100 and plot.figure.data[0].x[-1] == pytest.approx(1.0)


def test_show_cell_draws_cells_pairs_and_networks():
    pair = PUBLISHED["DARTS_V2"]
    view = show_cell(pair.normal, caption="normal", node_values={0: 0.5})
    assert "<svg" in view.value and "normal" in view.value and "0.50" in view.value
    view.show(pair)
    assert "reduction cell" in view.value
    view.show(pair.stack(5))
    assert "cell 5" in view.value
    with pytest.raises(ToolkitError, match="cannot draw a str"):
        view.show("DARTS_V2")


def test_cell_view_explains_a_missing_dot_program(monkeypatch):
    from toolkit import draw

    monkeypatch.setattr(draw.shutil, "which", lambda name: None)
    view = show_cell(PUBLISHED["DARTS_V2"].normal)
    assert "apt-get install graphviz" in view.value and "<svg" not in view.value


OUTPUT_AREA_PX = 848  # JupyterLab's output area at a 1280 px wide window (measured by tests/test_browser.py)


def figures_with_boxes(widget, box_px=OUTPUT_AREA_PX):
    """(figure, width of the narrowest fixed-width box around it) for every plotly figure in a widget tree."""
    import plotly.graph_objects as go

    width = widget.layout.width if hasattr(widget, "layout") and widget.layout is not None else None
    if isinstance(width, str) and width.endswith("px"):
        box_px = min(box_px, int(float(width[:-2])))
    if isinstance(widget, go.FigureWidget):
        return [(widget, box_px)]
    return [pair for child in getattr(widget, "children", ()) for pair in figures_with_boxes(child, box_px)]


def is_waiting(figure):
    texts = [a.text for a in figure.layout.annotations]
    return any("waiting" in t for t in texts) and figure.layout.xaxis.visible is False


def fake_search_events(bus, epochs=1, nodes=2, ops=("skip_connect", "sep_conv_3x3")):
    """The events of a tiny search, emitted by hand (no training needed)."""
    space = SearchSpace(ops, nodes)
    bus.emit("run_start", name="search darts", kind="search", epochs=epochs, total_steps=epochs, ops=list(ops),
             nodes=nodes)
    cell = Genotype(((("skip_connect", 0), ("sep_conv_3x3", 1)), (("skip_connect", 2),)), (2, 3)).to_dict()
    pair = {"normal": cell, "reduce": cell}
    rows = [[1 / len(ops)] * len(ops) for _ in range(space.edges_per_cell)]
    for epoch in range(1, epochs + 1):
        bus.emit("step", epoch=epoch, step=1, steps=1, loss=2.0, acc=0.25)
        bus.emit("epoch_end", epoch=epoch, lr=0.025, train_loss=2.0, train_acc=0.3, val_loss=2.1, val_acc=0.2,
                 skip_normal=1, skip_reduce=1, alphas={"normal": rows, "reduce": rows}, genotype=pair)
    bus.emit("run_end", status="finished", epochs_done=epochs)


def test_views_wait_for_the_first_epoch_instead_of_showing_empty_axes():
    view = live_curves()
    figures = [view.loss.figure, view.accuracy.figure, view.skips.figure, view.alpha_view.heatmap.figure]
    assert all(is_waiting(f) for f in figures)  # no -1..6 ticks, no accuracy axis going to -1
    assert "waiting for the first epoch" in view.cell_view.value and "<svg" not in view.cell_view.value
    fake_search_events(EventBus([view]))
    assert not any(is_waiting(f) for f in figures)
    assert view.accuracy.figure.layout.yaxis.range == (0, 1.02)
    heat = view.alpha_view.heatmap.figure
    assert view.alpha_view.scale.value == "relative"  # by default α's small moves show
    assert "after epoch 1" in heat.layout.title.text
    assert "RELATIVE: stretched to 0.500..0.500" in heat.layout.title.text and heat.data[0].zmax == 0.5
    assert heat.data[0].y == ("0→2", "1→2", "0→3", "1→3", "2→3")  # DARTS numbering, as in the genotype text
    view.alpha_view.scale.value = "fixed"  # colours mean the same at every epoch
    assert (heat.data[1].zmin, heat.data[1].zmax) == (0.0, 1.0) and "fixed 0..1" in heat.layout.title.text
    labels = [label for label, _ in view.alpha_view.scale.options]
    assert all(len(label) <= 12 for label in labels), labels  # each fits its 100 px button


def test_a_new_run_clears_the_previous_runs_views():
    view = live_curves()
    bus = EventBus([view])
    fake_search_events(bus, epochs=2)
    assert "after epoch 2" in view.cell_view.value and len(view.alpha_view.history) == 2
    bus.emit("run_start", name="search darts", kind="search", epochs=3, total_steps=3, ops=["sep_conv_3x3"], nodes=2)
    assert "after epoch" not in view.cell_view.value and "waiting" in view.cell_view.value
    assert view.alpha_view.history == [] and view.loss.points("val loss") == ([], [])
    assert is_waiting(view.loss.figure) and is_waiting(view.alpha_view.heatmap.figure)
    assert "after epoch" not in view.alpha_view.heatmap.figure.layout.title.text


def test_the_panel_clears_the_old_views_as_soon_as_run_is_pressed(extra_method):
    from widgets.live import LiveSearchView
    from widgets.panel import VIEWS, register_view

    extra_method("block", "block")
    register_view("block", lambda config: LiveSearchView(status=False))  # a live view, keyed by method name
    try:
        panel = RunPanel("block", PruneConfig())
    finally:
        VIEWS.pop("block")
    fake_search_events(EventBus([panel.view]))  # what a previous run left on screen
    assert "after epoch 1" in panel.view.cell_view.value
    RELEASE.clear()
    run = panel.run()  # this run emits nothing until it is released
    assert "after epoch" not in panel.view.cell_view.value and is_waiting(panel.view.loss.figure)
    RELEASE.set()
    run.wait(30)


def test_every_figure_fits_its_box_at_a_1280_px_window():
    from widgets.partial import KSweep, ModeComparison

    for widget in (live_curves(), search_panel(), KSweep(TINY), ModeComparison(TINY)):
        pairs = figures_with_boxes(widget)
        assert pairs
        for figure, box in pairs:
            assert figure.layout.width is not None and figure.layout.width <= box, (figure.layout.title.text, box)


def test_every_line_has_a_legend_entry_or_hover_label():
    from widgets.partial import ModeComparison

    comparison = ModeComparison(TINY)
    for plot in (live_curves().loss, live_curves().skips, comparison.skips):
        for trace in plot.figure.data:
            assert trace.name and trace.name in (trace.hovertemplate or "")
    styles = {(t.line.color, t.line.dash, t.marker.symbol) for t in comparison.skips.figure.data}
    assert len(styles) == len(comparison.skips.figure.data) == 6  # the six skip-count lines look different
