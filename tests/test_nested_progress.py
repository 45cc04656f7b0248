"""Nested runs show one overall progress plus the current child run, in the console and the notebook."""

from __future__ import annotations

import io

from toolkit.events import EventBus, ProgressBar
from toolkit.run_tree import RunTree
from widgets.gal import GalLiveView, SweepProgress
from widgets.live import RunStatus

TRAIN_EPOCH = {"lr": 0.1, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.0, "test_acc": 0.5}


def child_run(bus, name, steps, probe=None):
    """One training child run of ``steps`` steps in one epoch; ``probe()`` is called after every step."""
    bus.emit("run_start", name=name, kind="train", total_steps=steps, epochs=1, config={"lam": 12.0})
    bus.emit("epoch_start", epoch=1, lr=0.1)
    for step in range(1, steps + 1):
        bus.emit("step", epoch=1, step=step, steps=steps, loss=1.0 / step)
        if probe:
            probe()
    bus.emit("epoch_end", epoch=1, **TRAIN_EPOCH)
    bus.emit("run_end", status="finished", epochs_done=1)


def parent_with_two_children(listener, probe=None):
    """A root run of 5 steps made of two child runs of 2 and 3 steps."""
    root = EventBus([listener])
    root.emit("run_start", name="gal", kind="gal", total_steps=5)
    child_run(root.child("baseline"), "baseline", 2, probe)
    child_run(root.child("retrain"), "retrain", 3, probe)
    root.emit("run_end", status="finished", epochs_done=0)
    return root


def test_run_tree_counts_every_descendant_step_for_the_root():
    tree = RunTree()
    progress = []
    parent_with_two_children(tree, lambda: progress.append((tree.root.done, tree.current.name, tree.current.done)))
    assert progress == [(1, "baseline", 1), (2, "baseline", 2), (3, "retrain", 1), (4, "retrain", 2),
                        (5, "retrain", 3)]
    assert tree.current is tree.root and not tree.nested and tree.root.status == "finished"
    assert [c.name for c in tree.root.children] == ["baseline", "retrain"]


def test_run_tree_labels_a_grandchild_by_its_path():
    tree = RunTree()
    root = EventBus([tree])
    root.emit("run_start", name="population", kind="population", total_steps=4)
    member = root.child("member 3")
    member.emit("run_start", name="member 3", kind="population", total_steps=4)
    stage = member.child("stage 2")
    stage.emit("run_start", name="stage 2", kind="search", total_steps=4)
    stage.emit("step", epoch=1, step=1, steps=4, loss=1.0)
    assert tree.current_label() == "member 3 › stage 2 · 1/4 steps"
    assert (tree.root.done, tree.runs[member.run_id].done) == (1, 1)


def test_console_bar_is_one_bar_over_the_whole_tree():
    bar = ProgressBar(file=io.StringIO())
    seen = []
    parent_with_two_children(bar, lambda: seen.append((bar.bar.n, bar.bar.total, bar.bar.desc)))
    assert [n for n, _, _ in seen] == [1, 2, 3, 4, 5]  # never restarts at a child's run_start
    assert {total for _, total, _ in seen} == {5}
    assert seen[1][2].startswith("gal · baseline · 2/2 steps") and seen[2][2].startswith("gal · retrain · 1/3 steps")
    assert bar.bar is None  # closed by the root's run_end, not by the children's


def test_console_bar_of_a_child_whose_parent_is_unknown_restarts_as_before():
    bar = ProgressBar(file=io.StringIO())
    orphan = EventBus([bar], parent="a run this listener never saw")
    orphan.emit("run_start", name="retrain", kind="train", total_steps=3)
    orphan.emit("step", epoch=1, step=1, steps=3, loss=1.0)
    assert (bar.bar.n, bar.bar.total, bar.bar.desc) == (1, 3, "retrain")
    orphan.emit("run_end", status="finished", epochs_done=1)
    assert bar.bar is None


def test_notebook_status_keeps_one_bar_and_names_the_current_child():
    status = RunStatus()
    seen = []

    def probe():
        seen.append((status.bar.max, status.line.value))

    root = EventBus([status])
    root.emit("run_start", name="gal", kind="gal", total_steps=5)
    child_run(root.child("baseline"), "baseline", 2, probe)
    assert status.bar.max == 5 and status.bar.value == 2 and status.bar.bar_style == ""
    assert "baseline finished" in status.line.value
    retrain = root.child("retrain")
    retrain.emit("run_start", name="retrain", kind="train", total_steps=3, epochs=1)
    assert status.bar.value == 2 and "retrain · 0/3 steps · starting" in status.line.value
    retrain.emit("step", epoch=1, step=1, steps=3, loss=0.5)
    retrain.emit("epoch_end", epoch=1, **TRAIN_EPOCH)
    assert status.bar.value == 3 and "retrain · 1/3 steps · epoch 1/1 done" in status.line.value
    root.emit("run_end", status="finished", epochs_done=0)
    assert status.bar.value == 5 and status.bar.bar_style == "success"
    assert {m for m, _ in seen} == {5}


def test_notebook_status_of_single_runs_restarts_per_run_as_before():
    status = RunStatus()
    bus = EventBus([status])
    child_run(bus, "baseline", 2)
    assert (status.bar.max, status.bar.value, status.bar.bar_style) == (2, 2, "success")
    bus.emit("run_start", name="retrain", kind="train", total_steps=4, epochs=1)
    assert (status.bar.max, status.bar.value, status.bar.bar_style) == (4, 0, "")
    assert status.line.value == "retrain: starting"


def test_gal_view_under_a_parent_run_names_the_stage_and_draws_no_band_for_the_parent():
    view = GalLiveView()
    parent_with_two_children(view)
    assert view.status.bar.bar_style == "success" and view.status.bar.max == 5
    assert view.status.line.value == "finished after 0 epoch(s)"  # the whole run's end names no stage
    assert [a.text for a in view.accuracy.figure.layout.annotations] == ["baseline", "retrain"]
    root = EventBus([view])
    root.emit("run_start", name="gal", kind="gal", total_steps=4)
    masks = root.child("gal masks")
    masks.emit("run_start", name="gal masks", kind="prune", total_steps=4, epochs=1, config={"lam": 12.0},
               masks=[[1.0]])
    assert "stage 2/3: mask training (λ=12)</b> · 0/4 steps · starting" in view.status.line.value
    assert view.status.bar.max == 4 and view.status.bar.value == 0


def test_sweep_progress_counts_each_lambda_once_when_runs_have_a_parent():
    progress = SweepProgress([3.0, 12.0])
    for _ in range(2):
        parent_with_two_children(progress)
    assert progress.done == 2 and progress.bar.bar_style == "success"
