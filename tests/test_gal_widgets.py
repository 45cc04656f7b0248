"""Headless tests of widgets.gal: the live view follows GAL events, drawings and the sweep plot hold the data."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from toolkit import PUBLISHED, EvalNetwork, Genotype, NetworkSizes, ToolkitError
from toolkit.data import DatasetSplits
from toolkit.events import EventBus
from toolkit.gal import GalConfig, GalResult, SweepPoint, prune_network
from widgets.gal import (
    GalLiveView,
    GalPanel,
    GalView,
    SweepProgress,
    node_labels,
    pruning_view,
    removed_nodes,
    sweep_plot,
)

DARTS_V2 = PUBLISHED["DARTS_V2"]
HAND = Genotype.from_text(
    "conv_1x1(1)+skip_connect(0) | conv_1x1(2)+max_pool_3x3(1) | conv_1x1(3)+skip_connect(3) ; 2,3,4")


def test_live_view_plots_masks_and_the_four_losses():
    view = GalLiveView()
    bus = EventBus([view])
    masks = [[1.0, 1.0], [1.0, 1.0]]
    bus.emit("run_start", name="gal masks", kind="prune", epochs=1, total_steps=2, masks=masks,
             cell_types=["normal", "reduction"])
    for step, value in ((1, 0.5), (2, 0.0)):
        bus.emit("masks", epoch=1, step=step, steps=2, iteration=step, masks=[[value, 1.0], [1.0, 0.25]],
                 kept=[[1], [0, 1]], d_loss=-0.1, adv_loss=0.2, data_loss=3.0 * step, reg_loss=40.0)
    bus.emit("run_end", status="finished", epochs_done=1, masks=[[0.0, 1.0], [1.0, 0.25]], kept=[[1], [0, 1]])
    # one line per node, nothing else, named in DARTS numbering
    assert view.masks.plot.labels == ["cell 1 node 2", "cell 1 node 3", "cell 2 node 2", "cell 2 node 3"]
    assert view.masks.plot.points("cell 1 node 2") == ([0.5, 1.0], [0.5, 0.0])
    assert view.generator.points("data_loss")[1] == [3.0, 6.0]
    assert view.adversarial.points("d_loss")[1] == [-0.1, -0.1]
    heat = view.heatmap.figure.data[0]
    assert [list(r) for r in heat.z] == [[0.0, 1.0], [1.0, 0.25]] and list(heat.y) == ["1 normal", "2 reduction"]


def test_accuracy_plot_gives_every_stage_its_own_band():
    view = GalLiveView(status=False)
    bus = EventBus([view])
    for name, epochs, acc in (("baseline", 2, 0.9), ("gal masks", 1, 0.85), ("retrain", 2, 0.8)):
        bus.emit("run_start", name=name, kind="train", epochs=epochs, total_steps=1, config={"lam": 12.0})
        for epoch in range(1, epochs + 1):
            bus.emit("epoch_end", epoch=epoch, lr=0.1, train_loss=1.0, train_acc=acc, test_loss=1.0, test_acc=acc)
    assert view.accuracy.plot.points("baseline") == ([1, 2], [0.9, 0.9])
    assert view.accuracy.plot.points("masks λ=12") == ([3], [0.85])  # after the baseline's epochs, not on them
    assert view.accuracy.plot.points("retrain λ=12") == ([4, 5], [0.8, 0.8])
    bands = [(shape.x0, shape.x1) for shape in view.accuracy.figure.layout.shapes]
    assert bands == [(0.5, 2.5), (2.5, 3.5), (3.5, 5.5)]
    assert [a.text for a in view.accuracy.figure.layout.annotations] == ["baseline", "masks", "retrain"]
    view.reset()  # a new run starts from an empty chart
    assert view.accuracy.plot.points("baseline") == ([], []) and not view.accuracy.figure.layout.shapes


def test_status_line_names_the_stage_and_a_collapse():
    view = GalLiveView()
    bus = EventBus([view])
    bus.emit("run_start", name="baseline", kind="train", epochs=3, total_steps=3, config={"lam": 12.0})
    bus.emit("epoch_end", epoch=1, lr=0.1, train_loss=1.0, train_acc=0.5, test_loss=1.0, test_acc=0.5)
    assert "stage 1/3: baseline training" in view.status.line.value and "epoch 1/3" in view.status.line.value
    bus.emit("run_start", name="gal masks", kind="prune", epochs=2, total_steps=2, masks=[[1.0]], config={"lam": 12.0})
    assert "stage 2/3: mask training (λ=12)" in view.status.line.value
    bus.emit("run_end", status="collapsed", epochs_done=1, masks=[[0.0]], kept=[[]], message="try --lam 3 <now>")
    assert "try --lam 3 &lt;now&gt;" in view.status.line.value


def test_mask_lines_name_every_line_on_hover_and_have_a_key():
    view = GalLiveView(status=False)
    EventBus([view]).emit("run_start", name="gal masks", kind="prune", epochs=1, total_steps=1,
                          masks=[[1.0, 1.0], [1.0, 1.0]])
    templates = [trace.hovertemplate for trace in view.masks.plot.figure.data]
    assert len(templates) == 4 and templates[3].startswith("cell 2 node 3: mask")
    assert "cell 1" in view.masks.caption.value and "node 3 dot" in view.masks.caption.value


def test_sweep_progress_counts_the_lambdas():
    progress = SweepProgress([4.0, 8.0])
    bus = EventBus([progress])
    for lam in (4.0, 8.0):
        bus.emit("run_start", name="gal masks", kind="prune", epochs=1, total_steps=1, config={"lam": lam})
        assert f"(λ={lam:g}) · mask training" in progress.line.value
        bus.emit("run_end", status="finished", epochs_done=1)
        bus.emit("run_start", name="retrain", kind="train", epochs=1, total_steps=1, config={"lam": lam})
        bus.emit("run_end", status="finished", epochs_done=1)
    assert progress.bar.value == 2 and "done" in progress.line.value


def test_node_labels_and_removed_nodes():
    assert node_labels([[1, 1], [1]]) == ["cell 1 node 2", "cell 1 node 3", "cell 2 node 2"]
    assert removed_nodes(DARTS_V2.normal, [3]) == {0, 1, 2}  # node 5 read node 2, but node 2's mask is 0
    assert removed_nodes(HAND, [0, 2]) == {1, 2}  # node 4 reads only node 3: orphaned


def test_pruning_view_draws_every_cell_before_and_after():
    baseline = EvalNetwork(DARTS_V2.stack(3, (2,)), NetworkSizes(C=4, in_channels=1))
    keep = [(0, 1), (), (3,)]
    result = GalResult(baseline, masks=[[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0.7]], keep=keep,
                       network=prune_network(baseline.network, keep))
    view = pruning_view(result)
    assert len(view.children) == 3
    before, after = (box.children[0] for box in view.children[2].children)
    assert "cell 3 (normal) before" in before.value and "<svg" in before.value and "0.70" in before.value
    assert "kept 5" in after.value  # original number, not renumbered
    with pytest.raises(ToolkitError, match="stopped before pruning"):
        pruning_view(GalResult(baseline))


def test_sweep_plot_has_one_point_per_lambda_and_the_baseline():
    points = [SweepPoint(lam, 1000, after, 1 - after / 1000, 0.99, acc, ())
              for lam, after, acc in ((1.0, 900, 0.99), (10.0, 600, 0.985), (20.0, 600, 0.985))]
    fig = sweep_plot(points)
    assert list(fig.data[0].x) == [600, 900] and list(fig.data[0].y) == [0.985, 0.99]
    assert list(fig.data[0].text) == ["λ=10, 20", "λ=1"]
    assert list(fig.data[1].x) == [1000]
    with pytest.raises(ToolkitError):
        sweep_plot([])


def test_panel_builds_its_config_from_the_controls():
    panel = GalPanel(GalConfig(reductions=(2, 3)), DARTS_V2)
    assert set(panel.knobs) == {"lam", "gal_epochs", "epochs", "retrain"}  # the registry's tunables of 'gal'
    panel.knobs["lam"].value = 20.0
    panel.knobs["gal_epochs"].value = 2
    panel.knobs["retrain"].value = "inherit"
    assert panel.config == replace(GalConfig(reductions=(2, 3)), lam=20.0, gal_epochs=2, retrain="inherit")
    assert "nas-run-panel" in panel._dom_classes and isinstance(panel.view, GalView)
    assert statuses(panel) == [panel.view.status] == [panel.status]  # one status line: the stage-naming one


def statuses(widget) -> list:
    """Every status line below ``widget`` (a page reads the first one it finds)."""
    from widgets.live import RunStatus

    found = [widget] if isinstance(widget, RunStatus) else []
    return found + [s for child in getattr(widget, "children", ()) for s in statuses(child)]


def test_panel_runs_in_the_background_and_shows_the_report():
    images = torch.utils.data.TensorDataset(torch.randn(40, 1, 8, 8), torch.arange(40) % 10)
    data = DatasetSplits(images, images, 10, 1, 8, "fake")
    config = GalConfig(channels=4, cells=3, reductions=(2,), epochs=1, batch_size=20, gal_epochs=1, gal_batch_size=20,
                       device="cpu", d_hidden=8, lam=100.0)
    panel = GalPanel(config, DARTS_V2, data=data)
    result = panel.run().wait(timeout=120)
    assert panel.result is result  # the report is in place when wait() returns
    assert result.report is not None and "kept nodes" in panel.view.report.value
    assert len(panel.view.cells.children[0].children) == 3
    assert panel.view._baseline is result.baseline  # the next run with the same training settings reuses it
    assert (panel.run_folder / "report.json").is_file()  # each run has its own folder (a temporary one here)
    panel.knobs["lam"].value = 50.0
    second = panel.run()  # the previous run's table and drawings go at once
    assert "appear when this run (λ=50) finishes" in panel.view.report.value and panel.view.cells.children == ()
    assert second.wait(timeout=120).baseline is result.baseline


def test_a_report_cut_off_in_retraining_says_it_is_partial():
    from toolkit.gal import GalReport
    from widgets.gal import partial_note, report_text

    config = GalConfig(dataset="digits", epochs=4)
    report = GalReport(rows=(), parameters_before=100, parameters_after=60, acc_before=0.99, acc_after=0.98, lam=12)
    stopped = GalResult(None, report=report, history={"retrain": [{}, {}, {}]}, status="stopped")
    assert partial_note(stopped, config).startswith("partial: the retraining was stopped after 3 of 4 epoch(s)")
    assert report_text(stopped, config).endswith(partial_note(stopped, config))
    finished = replace(stopped, status="finished", history={"retrain": [{}] * 4})
    assert partial_note(finished, config) == "" and "partial" not in report_text(finished, config)
    assert report_text(GalResult(None, status="stopped"), config) == "stopped before pruning: no report"
