"""The population widgets and the lineage library, driven headlessly by synthetic typed event sequences."""

import pytest

from toolkit import PUBLISHED
from toolkit.errors import ToolkitError
from toolkit.events import EventBus
from toolkit.genotype import CellPair
from toolkit.lineage import Lineage, draw_lineage, lineage, node_label

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from widgets.population import (  # noqa: E402
    BestSoFar,
    PopulationScatter,
    PopulationView,
    architecture,
    draw_crossover,
    draw_mutation,
    front_line,
)

DARTS = PUBLISHED["DARTS_V2"]
PAIR = DARTS.to_dict()


def member(id, acc, params, parents=None, genotype=PAIR):
    return {"id": id, "metrics": {"val_acc": acc, "parameters": params}, "genotype": genotype,
            "parents": parents}


# Three generations; ids are unique except 'a', which survives from generation 0 into generation 1.
GENERATIONS = [
    {"index": 0, "population": [member("a", 0.70, 1000), member("b", 0.80, 3000), member("c", 0.60, 2000),
                                member("d", 0.75, 4000)], "pareto_front": ["a", "b"]},
    {"index": 1, "population": [member("a", 0.72, 1000, ["a"]), member("e", 0.85, 3500, ["a", "b"]),
                                member("f", 0.78, 2500, ["b", "a"])], "pareto_front": ["a", "f", "e"]},
    {"index": 2, "population": [member("g", 0.90, 3000, ["e", "f"]), member("h", 0.83, 1500, ["a"])],
     "pareto_front": ["h", "g"]},
]


def run_events(listeners, generations=GENERATIONS, stages=3, members=2, steps=2):
    """A root run, one child run per stage, one grandchild run per member (with steps), a generation
    event per stage (emitted by the stage's run), and the root's run_end."""
    bus = EventBus(listeners)
    bus.emit("run_start", name="evolution", kind="population", total_steps=stages * members * steps)
    for s, gen in enumerate(generations[:stages], start=1):
        stage = bus.child(f"stage {s}/{stages}")
        stage.emit("run_start", name=f"stage {s}/{stages}", kind="population", total_steps=members * steps)
        for m in range(1, members + 1):
            run = stage.child(f"member {m}/{members}")
            run.emit("run_start", name=f"member {m}/{members}", kind="train", total_steps=steps, epochs=1)
            for k in range(1, steps + 1):
                run.emit("step", epoch=1, step=k, steps=steps, loss=1.0 / k)
            run.emit("run_end", status="finished", epochs_done=1)
        stage.emit("generation", **gen)
        stage.emit("run_end", status="finished", epochs_done=1)
    bus.emit("run_end", status="finished", epochs_done=stages)
    return bus


# ---- library: lineage -------------------------------------------------------------------------------

def test_lineage_of_a_hand_made_population():
    tree = lineage(GENERATIONS, "g")
    edges = {((p.id, p.generation), (c.id, c.generation)) for p, c in tree.edges}
    assert edges == {(("e", 1), ("g", 2)), (("f", 1), ("g", 2)),
                     (("a", 0), ("e", 1)), (("b", 0), ("e", 1)), (("b", 0), ("f", 1)), (("a", 0), ("f", 1))}
    assert tree.member.key == (2, "g")
    assert sorted(n.key for n in tree.nodes) == [(0, "a"), (0, "b"), (1, "e"), (1, "f"), (2, "g")]  # b, a once


def test_a_surviving_id_links_to_its_previous_generation():
    tree = lineage(GENERATIONS, "h")  # h <- a (generation 1) <- a (generation 0)
    assert [((p.id, p.generation), (c.id, c.generation)) for p, c in tree.edges] == [
        (("a", 1), ("h", 2)), (("a", 0), ("a", 1))]
    assert tree.member.metrics["val_acc"] == 0.83
    assert lineage(GENERATIONS, "a", generation=0).edges == []


def test_lineage_from_flat_member_records_and_unrecorded_parents():
    records = [{"id": 1, "metrics": {}, "genotype": {}}, {"id": 2, "metrics": {}, "genotype": {}, "parents": [1, 9]}]
    tree = Lineage(records).ancestry(2)
    assert [(p.id, p.recorded) for p in tree.parents_of(tree.member)] == [(1, True), (9, False)]
    assert "not recorded" in node_label(tree.nodes[-1])
    with pytest.raises(ToolkitError, match="no member 'z'"):
        lineage(GENERATIONS, "z")
    with pytest.raises(ToolkitError, match="neither 'population'"):
        Lineage([{"index": 0}])


def test_lineage_accepts_generation_events():
    seen = []
    run_events([seen.append])
    tree = Lineage(seen).ancestry("g")  # every event kind but 'generation' is skipped
    assert len(tree.edges) == 6


def test_lineage_drawing_labels_every_node_with_id_and_metrics():
    pytest.importorskip("graphviz")
    tree = lineage(GENERATIONS, "g")
    source = draw_lineage(tree, metrics=("val_acc", "parameters")).source
    for label in ("g · gen 2", "e · gen 1", "b · gen 0", "val_acc 0.9", "parameters 3000"):
        assert label in source
    assert source.count("->") == len(tree.edges) == 6


# ---- widgets ------------------------------------------------------------------------------------------

def test_scatter_one_trace_per_generation_and_front_as_step_line():
    view = PopulationView()
    run_events([view])
    fig = view.scatter.figure
    members = [t for t in fig.data if t.mode == "markers"]
    fronts = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in members] == ["generation 0", "generation 1", "generation 2"]
    assert [len(t.x) for t in members] == [4, 3, 2]
    assert [t.opacity for t in members] == [pytest.approx(0.35), pytest.approx(0.35), 1.0]  # older faded
    assert len(fronts) == 3
    assert list(fronts[1].x) == [1000, 2500, 3500] and list(fronts[1].y) == [0.72, 0.78, 0.85]  # sorted by x
    assert fronts[1].line.shape == "hv"
    assert [t.showlegend for t in fronts] == [False, False, True]  # only the latest front in the legend
    assert "<b>e</b>" in members[1].hovertext[1] and "parents a, b" in members[1].hovertext[1]
    assert "sep_conv_3x3" in members[1].hovertext[1]  # the genotype text, wrapped
    assert max(len(line) for line in members[1].hovertext[1].split("<br>")) <= 80


def test_scatter_redraws_at_most_once_per_interval_and_at_run_end():
    scatter = PopulationScatter(min_interval=3600)
    bus = EventBus([scatter])
    bus.emit("run_start", name="evolution", kind="population", total_steps=1)
    bus.emit("generation", **GENERATIONS[0])  # the first redraw is due at once
    assert len([t for t in scatter.figure.data if t.mode == "markers"]) == 1
    bus.emit("generation", **GENERATIONS[1])
    assert len([t for t in scatter.figure.data if t.mode == "markers"]) == 1  # held back
    assert len(scatter.generations) == 2
    bus.emit("run_end", status="finished", epochs_done=1)
    assert len([t for t in scatter.figure.data if t.mode == "markers"]) == 2


def test_front_staircase_follows_which_x_is_better():
    assert front_line([(3, 0.9), (1, 0.5)], "lower") == ([1, 3], [0.5, 0.9], "hv")
    assert front_line([(1, 0.9), (3, 0.5)], "higher")[2] == "vh"
    scatter = PopulationScatter(x="para_aug", x_better="higher")
    scatter.add({"index": 0, "population": [{"id": 1, "metrics": {"para_aug": 5, "val_acc": 0.5}},
                                            {"id": 2, "metrics": {"para_aug": 2, "val_acc": 0.8}}],
                 "pareto_front": [1, 2]}, flush=True)
    assert scatter.figure.data[1].line.shape == "vh"
    with pytest.raises(ToolkitError, match="x_better"):
        PopulationScatter(x_better="more")


def test_scatter_says_which_metrics_exist_when_x_is_missing():
    scatter = PopulationScatter(x="parameters")
    scatter.add({"index": 0, "population": [{"id": 1, "metrics": {"para_aug": 5, "val_acc": 0.5}}]}, flush=True)
    texts = [a.text for a in scatter.figure.layout.annotations]
    assert any("'parameters'" in t and "para_aug, val_acc" in t for t in texts)


def test_best_so_far_per_generation():
    best = BestSoFar()
    run_events([best])
    assert best.plot.points("best so far") == ([0, 1, 2], [0.80, 0.85, 0.90])
    assert best.plot.points("generation best") == ([0, 1, 2], [0.80, 0.85, 0.90])
    worse = [{"index": 0, "population": [member("x", 0.9, 1)]}, {"index": 1, "population": [member("y", 0.5, 1)]}]
    best = BestSoFar()
    for gen in worse:
        best.add(gen)
    assert best.plot.points("best so far")[1] == [0.9, 0.9]
    assert best.plot.points("generation best")[1] == [0.9, 0.5]
    assert [list(t.y) for t in best.figure.data] == [[0.9, 0.9], [0.9, 0.5]]


def test_status_names_stage_and_member_and_the_bar_covers_the_tree():
    view = PopulationView()
    lines = []
    bus = EventBus([view, lambda e: lines.append(view.status.line.value)])
    bus.emit("run_start", name="evolution", kind="population", total_steps=8)
    stage = bus.child("stage 2/3")
    stage.emit("run_start", name="stage 2/3", kind="population", total_steps=4)
    run = stage.child("member 3/4")
    run.emit("run_start", name="member 3/4", kind="train", total_steps=2, epochs=1)
    assert "stage 2/3 · member 3/4" in lines[-1]
    run.emit("step", epoch=1, step=1, steps=2, loss=0.5)
    assert view.status.tree.root.done == 1 and view.status.bar.max == 8
    stage.emit("generation", **GENERATIONS[0])
    assert "generation 0 done · 4 members · front 2 · best val_acc 0.800 (b)" in view.status.line.value
    run.emit("run_end", status="finished", epochs_done=1)
    stage.emit("run_end", status="finished", epochs_done=1)
    bus.emit("run_end", status="stopped", epochs_done=1)
    assert view.status.line.value == "stopped after 1 generation(s) · best val_acc 0.800 (b)"
    assert view.status.bar.bar_style == "warning"


def test_view_draws_the_best_members_lineage_when_the_run_ends():
    pytest.importorskip("graphviz")
    view = PopulationView()
    assert "drawn when the run ends" in view.lineage_view.value
    run_events([view])
    assert view.best_member() == ("g", 2)
    svg = view.lineage_view.value
    assert "<svg" in svg and "lineage of g (generation 2)" in svg
    view.show_lineage("h")
    assert "lineage of h" in view.lineage_view.value
    run_events([view], stages=1)  # a new root run clears the previous run's population
    assert [t.name for t in view.scatter.figure.data if t.mode == "markers"] == ["generation 0"]


def test_draw_crossover_of_cell_pairs_and_networks():
    pytest.importorskip("graphviz")
    p1, p2 = DARTS, PUBLISHED["DARTS_V1"]
    g3, g4 = CellPair(p1.normal, p2.reduce), CellPair(p2.normal, p1.reduce)
    grid = draw_crossover([member("p1", 0.8, 10, genotype=p1.to_dict()), p2],
                          [member("g3", 0.7, 10, ["p1", "p2"], g3.to_dict()), g4])
    assert grid.layout.grid_template_columns == "repeat(2, max-content)"  # parents above their children
    captions = [v.caption for v in grid.children]
    assert captions[0].startswith("parent p1<br>") and captions[1] == "parent"
    assert captions[2].startswith("child g3 · from p1, p2") and captions[3] == "child"
    assert [v.architecture for v in grid.children] == [p1, p2, g3, g4]
    assert all("<svg" in v.value for v in grid.children)
    three = draw_crossover([p1, p2], [g3, g4, g3])  # an empty slot pads the parents' row
    assert len(three.children) == 6 and three.children[2].value == ""
    net = DARTS.stack(5)
    before_after = draw_mutation(net, net.to_dict(), labels=["before <mutation>", "after"])
    assert before_after.layout.grid_template_columns == "repeat(2, max-content)"  # one row
    drawing = before_after.children[1].value
    assert "classifier" in drawing and "cell 5" in drawing
    assert "before &lt;mutation&gt;" in before_after.children[0].value
    with pytest.raises(ToolkitError, match="labels"):
        draw_crossover([p1], [g3], labels=["only one"])
    with pytest.raises(ToolkitError, match="not a cell"):
        draw_crossover([{"id": 1, "genotype": {"x": 1}}], [g3])
    with pytest.raises(ToolkitError, match="at least one parent"):
        draw_crossover([], [g3])


def test_architecture_of_member_genotypes():
    assert isinstance(architecture(PAIR), CellPair)
    assert architecture(DARTS.stack(3).to_dict()).cells[0].genotype == DARTS.normal
    assert architecture({}) is None and architecture({"cells": "bad"}) is None
