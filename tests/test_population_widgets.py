"""The population widgets and the lineage library, driven headlessly by synthetic typed event sequences."""

import html
from dataclasses import replace

import pytest

from toolkit import PUBLISHED
from toolkit.errors import ToolkitError
from toolkit.events import Event, EventBus
from toolkit.genotype import CellPair, Genotype
from toolkit.lineage import Lineage, draw_lineage, lineage, node_label

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from plotly.callbacks import Points  # noqa: E402

from widgets.live import FULL_WIDTH  # noqa: E402
from widgets.population import (  # noqa: E402
    GAP,
    BestSoFar,
    PopulationScatter,
    PopulationView,
    architecture,
    architecture_changes,
    cell_changes,
    cell_origins,
    draw_crossover,
    draw_mutation,
    drawing_width,
    fit_range,
    front_line,
    generation_color,
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
    assert {(p.id, c.id) for p, c in tree.edges} == {("e", "g"), ("f", "g"), ("a", "e"), ("b", "e"), ("b", "f"),
                                                    ("a", "f")}
    assert tree.member.id == "g" and tree.member.metrics["val_acc"] == 0.90
    assert sorted(n.id for n in tree.nodes) == ["a", "b", "e", "f", "g"]  # a and b once, though both parents twice
    assert [n.id for n in tree.parents_of(tree.nodes[1])] == ["a", "b"]  # e's parents, in the order recorded


def test_a_survivor_is_one_member_born_where_it_first_appears():
    tree = lineage(GENERATIONS, "h")  # h <- a; a is in generations 0 and 1 (its own parent in 1: ignored)
    assert [(p.id, c.id) for p, c in tree.edges] == [("a", "h")]
    a = tree.nodes[1]
    assert (a.generation, a.last_generation, a.metrics["val_acc"]) == (0, 1, 0.72)  # latest metrics
    assert node_label(a, ["val_acc"]) == "a · gen 0–1\nval_acc 0.72"
    assert lineage(GENERATIONS, "a").edges == []


def test_lineage_from_run_records():
    records = [{"id": 1, "metrics": {}, "genotype": {}}, {"id": 2, "metrics": {}, "genotype": {}, "parents": [1, 9]}]
    tree = Lineage(records).ancestry(2)
    assert [(p.id, p.recorded) for p in tree.parents_of(tree.member)] == [(1, True), (9, False)]
    assert "not recorded" in node_label(tree.nodes[-1])
    # a run folder's lineage: {id: parents} (ME-DARTS) or {id: {generation, parents, metrics...}} (TS-ENAS)
    assert [(p.id, c.id) for p, c in lineage({"s1-0": [], "s1-1": [], "s2-0": ["s1-0", "s1-1"]}, "s2-0").edges] == [
        ("s1-0", "s2-0"), ("s1-1", "s2-0")]
    tree = lineage({"g0-0": {"generation": 0, "parents": [], "accuracy": 0.5, "stage": "rough"},
                    "g1-0": {"generation": 1, "parents": ["g0-0"], "accuracy": 0.7, "N": 5}}, "g1-0")
    assert tree.member.metrics == {"accuracy": 0.7, "N": 5} and tree.nodes[1].generation == 0
    stages = [{"index": 1, "members": GENERATIONS[0]["population"]}]  # a stage record's 'members'
    assert Lineage(stages).find("b").generation == 1
    with pytest.raises(ToolkitError, match="no member 'z'"):
        lineage(GENERATIONS, "z")
    with pytest.raises(ToolkitError, match="neither 'population'"):
        Lineage([{"index": 0}])


def test_lineage_accepts_generation_events():
    seen = []
    run_events([seen.append])
    tree = Lineage(seen).ancestry("g")  # every event kind but 'generation' is skipped
    assert len(tree.edges) == 6


def chain(generations: int, width: int = 3) -> list[dict]:
    """Generations of ``width`` members; each member's parents are two members of the previous one."""
    return [{"index": g, "population": [
        member(f"g{g}-{i}", 0.5 + 0.01 * g, 1000 + i,
               [f"g{g - 1}-{i}", f"g{g - 1}-{(i + 1) % width}"] if g else None) for i in range(width)]}
        for g in range(generations)]


def test_ancestry_depth_cuts_earlier_generations():
    gens = chain(6)
    full = lineage(gens, "g5-0")
    assert full.depth == 5 and full.cut == [] and len(full.nodes) == 1 + 2 + 3 * 4
    two = lineage(gens, "g5-0", depth=2)
    assert two.depth == 2 and sorted(n.id for n in two.nodes) == ["g3-0", "g3-1", "g3-2", "g4-0", "g4-1", "g5-0"]
    assert sorted(n.id for n in two.cut) == ["g3-0", "g3-1", "g3-2"]  # their parents are left out
    pytest.importorskip("graphviz")
    assert draw_lineage(two).source.count("earlier…") == 3


def test_lineage_view_fits_the_notebook_width():
    pytest.importorskip("graphviz")
    view = PopulationView()
    for gen in chain(8):
        view(Event("generation", gen))
    view.show_lineage("g7-0")  # eight generations of three: too wide left to right, they fit top to bottom
    text = html.unescape(view.lineage_view.value)  # graphviz writes '-' as '&#45;'
    assert "lineage of g7-0 (in generation 7)" in text and "g0-0 · gen 0" in text and "earlier…" not in text
    assert drawing_width(view.lineage_view.value) <= FULL_WIDTH
    wide = PopulationView()
    for gen in chain(8, width=7):
        wide(Event("generation", gen))
    wide.show_lineage("g7-0")  # seven ancestors a generation fit neither way: the earliest generations are cut
    text = html.unescape(wide.lineage_view.value)
    assert "lineage of g7-0 (in generation 7) · last " in text and "earlier…" in text and "g0-0" not in text
    assert drawing_width(wide.lineage_view.value) <= FULL_WIDTH


def test_lineage_drawing_labels_every_node_with_id_and_metrics():
    pytest.importorskip("graphviz")
    tree = lineage(GENERATIONS, "g")
    source = draw_lineage(tree, metrics=("val_acc", "parameters")).source
    for label in ("g · gen 2", "e · gen 1", "a · gen 0–1", "val_acc 0.9", "parameters 3000"):
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
    assert [t.opacity for t in members] == [pytest.approx(0.65), pytest.approx(0.65), 1.0]  # older faded
    assert len(fronts) == 3
    assert list(fronts[1].x) == [1000, 2500, 3500] and list(fronts[1].y) == [0.72, 0.78, 0.85]  # sorted by x
    assert fronts[1].line.shape == "hv"
    assert fig.layout.title.text == ("val_acc vs parameters, one colour per generation · "
                                     "the Pareto front ringed and joined")
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


def test_many_generations_get_a_sequential_colour_scale_and_a_short_legend():
    scatter = PopulationScatter()
    for gen in chain(12):
        scatter.add(gen)
    scatter.flush()
    members = [t for t in scatter.figure.data if t.mode == "markers"]
    assert scatter.figure.layout.title.text == "val_acc vs parameters, one colour per generation"  # no front
    colors = [t.marker.color for t in members]
    assert len(set(colors)) == 12 and colors[0] == generation_color(0, 12) != generation_color(0, 3)
    assert [t.name for t in members if t.showlegend] == ["generation 0", "generation 8", "generation 9",
                                                         "generation 10", "generation 11"]


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
    best.add(worse[0])
    assert best.figure.layout.yaxis.range == (pytest.approx(0.85), pytest.approx(0.95))  # one point: a narrow axis
    best.add(worse[1])
    assert best.figure.layout.yaxis.range == (pytest.approx(0.45), pytest.approx(0.95))  # the data, not -0.5..1
    assert best.plot.points("best so far")[1] == [0.9, 0.9]
    assert best.plot.points("generation best")[1] == [0.9, 0.5]
    assert [list(t.y) for t in best.figure.data] == [[0.9, 0.9], [0.9, 0.5]]


def test_accuracy_axes_fit_the_data_within_0_and_1():
    assert fit_range([0.97, 0.97, 0.97]) == (pytest.approx(0.92), 1.0)  # a flat best: a narrow band, never above 1
    assert fit_range([0.02, 0.5]) == (0.0, pytest.approx(0.55))
    assert fit_range([1.5, 2.0]) == (pytest.approx(1.45), pytest.approx(2.05))  # not an accuracy: no clamp


def test_a_mutation_lists_what_it_changed_in_every_cell():
    cell = Genotype.from_text("sep_conv_3x3(1)+skip_connect(0) | max_pool_3x3(2)+conv_1x1(1) ; 2,3")
    changed = Genotype.from_text("sep_conv_5x5(1)+skip_connect(0) | max_pool_3x3(0)+conv_1x1(1) ; 2,3")
    assert cell_changes(cell, changed) == [
        "node 2: sep_conv_3x3(1) + skip_connect(0) → sep_conv_5x5(1) + skip_connect(0)",
        "node 3: max_pool_3x3(2) + conv_1x1(1) → max_pool_3x3(0) + conv_1x1(1)"]
    net = DARTS.stack(3, (2,))
    cells = list(net.cells)
    cells[2] = replace(cells[2], genotype=changed)
    after = replace(net, cells=tuple(cells))
    assert architecture_changes(net, after)[0].startswith("cell 3 · node 2: ")
    grid = draw_mutation(net, after.to_dict(), labels=["before", "after"])
    assert "changed: cell 3 · node 2" in grid.children[1].value and "<svg" in grid.children[1].value
    assert "no change" in draw_mutation(net, net).children[1].value


def test_a_run_stopped_before_its_first_generation_says_there_is_no_lineage():
    view = PopulationView()
    bus = EventBus([view])
    bus.emit("run_start", name="ts-enas", kind="population", total_steps=4, epochs=3)
    assert "drawn when the run ends" in view.lineage_view.value
    bus.emit("run_end", status="stopped", epochs_done=0)
    assert "lineage: none, the run stopped before its first generation ended" in view.lineage_view.value


def test_a_members_end_names_the_member_not_the_method():
    view = PopulationView(x="para_aug", label="stage", plan=[2, 2])
    bus = EventBus([view])
    bus.emit("run_start", name="me-darts", kind="population", total_steps=4)
    run = bus.child("search darts")
    run.emit("run_start", name="search darts", kind="search", total_steps=2, epochs=2)
    run.emit("run_end", status="finished", epochs_done=2)
    assert view.status.line.value == "stage 1/2 · member 1/2 finished"


def test_steps_of_the_root_run_say_generation_not_epoch():
    view = PopulationView()  # TS-ENAS: the root's epochs count generations, each step is one member evaluated
    bus = EventBus([view])
    bus.emit("run_start", name="ts-enas", kind="population", total_steps=12, epochs=3)  # generations 0, 1, 2
    bus.emit("step", epoch=2, step=1, steps=4, loss=0.5, acc=0.8125)
    assert view.status.line.value == "generation 1/2 · 1/4 evaluated · val_acc 0.812"


def test_status_names_stage_and_member_and_the_bar_covers_the_tree():
    # ME-DARTS' shape: member runs are children of the root, one generation event per stage.
    view = PopulationView(x="para_aug", label="stage", plan=[4, 3, 2])
    lines = []
    bus = EventBus([view, lambda e: lines.append(view.status.line.value)])
    bus.emit("run_start", name="me-darts", kind="population", total_steps=18)
    assert view.status.bar.max == 18
    for stage, members in ((1, 4), (2, 3)):
        for m in range(1, members + 1):
            run = bus.child(f"ind_{stage}{m}")
            run.emit("run_start", name=f"ind_{stage}{m}", kind="search", total_steps=2, epochs=1)
            run.emit("step", epoch=1, step=1, steps=2, loss=0.5)
            if stage == 2 and m == 3:
                break
            run.emit("step", epoch=1, step=2, steps=2, loss=0.5)
            run.emit("run_end", status="finished", epochs_done=1)
        else:
            bus.emit("generation", **(GENERATIONS[0] | {"index": stage}))
            assert view.status.line.value == "stage 1/3 done · 4 members · front 2 · best val_acc 0.800 (b)"
    assert "stage 2/3 · member 3/3 (ind_23) · 0/2 steps · starting" in lines  # steps redraw at most 10 times/s
    assert view.status.tree.root.done == 4 * 2 + 2 * 2 + 1
    assert any(line.startswith("stage 1/3 · member 4/4 (ind_14)") for line in lines)
    bus.emit("run_end", status="stopped", epochs_done=1)
    assert view.status.line.value == "stopped after 1 stage(s) · best val_acc 0.800 (b)"
    assert view.status.bar.bar_style == "warning"


def test_status_counts_member_runs_of_a_kind_below_stage_runs():
    view = PopulationView(member_kind="train")
    lines = []
    run_events([view, lambda e: lines.append(view.status.line.value)], stages=2)
    assert "generation 1 · member 2 · 0/2 steps · starting" in lines  # no '(member 2/2)': the name says it
    assert not any("member 3" in line for line in lines)  # the count restarts at each generation
    plain = PopulationView()  # no plan, no member kind: child runs are named, not counted
    lines.clear()
    run_events([plain, lambda e: lines.append(plain.status.line.value)], stages=1)
    assert lines[1] == "first generation · stage 1/1 · 0/4 steps · starting"
    assert lines[2] == "first generation · stage 1/1 › member 1/2 · 0/2 steps · starting"
    assert "member 1 " not in " ".join(lines)


def test_view_draws_the_best_members_lineage_when_the_run_ends():
    pytest.importorskip("graphviz")
    view = PopulationView()
    assert "drawn when the run ends" in view.lineage_view.value
    run_events([view])
    assert view.best_member() == "g"
    svg = view.lineage_view.value
    assert "<svg" in svg and "lineage of g (in generation 2)" in svg
    assert view.pick.value == "g" and view.pick.options[0] == ("g · generation 2 · val_acc 0.9", "g")
    assert [v for _, v in view.pick.options][:3] == ["g", "h", "e"]  # latest generation first, best first
    view.show_lineage("h")
    assert "lineage of h" in view.lineage_view.value
    view.pick.value = "e"  # choosing in the dropdown draws
    assert "lineage of e (in generation 1)" in view.lineage_view.value
    markers = [t for t in view.scatter.figure.data if t.mode == "markers"]
    assert all(t._click_callbacks for t in markers)  # clicking a point picks its member
    view.scatter._clicked(markers[0], Points(point_inds=[1]))
    assert view.pick.value == "b" and "lineage of b (in generation 0)" in view.lineage_view.value
    run_events([view], stages=1)  # a new root run clears the previous run's population
    assert [t.name for t in view.scatter.figure.data if t.mode == "markers"] == ["generation 0"]
    assert [v for _, v in view.pick.options] == ["b", "d", "a", "c"] and view.pick.value == "b"


def test_draw_crossover_of_cell_pairs_and_networks():
    pytest.importorskip("graphviz")
    p1, p2 = DARTS, PUBLISHED["DARTS_V1"]
    g3, g4 = CellPair(p1.normal, p2.reduce), CellPair(p2.normal, p1.reduce)
    grid = draw_crossover([member("p1", 0.8, 10, genotype=p1.to_dict()), p2],
                          [member("g3", 0.7, 10, ["p1", "p2"], g3.to_dict()), g4])
    assert drawing_width(grid.children[0].value) > FULL_WIDTH // 2  # a cell pair: two do not fit side by side
    assert grid.layout.grid_template_columns == "repeat(1, max-content)"  # so one below the other
    captions = [v.caption for v in grid.children]
    assert captions[0].startswith("parent p1<br>") and captions[1] == "parent"
    assert captions[2].startswith("child g3 · from p1, p2") and captions[3].startswith("child")
    assert captions[2].endswith("<i>normal cell of p1 · reduction cell of parent 2</i>")
    assert captions[3].endswith("<i>normal cell of parent 2 · reduction cell of p1</i>")
    foreign = CellPair(p1.normal, PUBLISHED["NASNet_A"].reduce)  # a reduction cell of neither parent
    assert cell_origins(foreign, [p1, p2], ["a", "b"]) == ""
    assert [v.architecture for v in grid.children] == [p1, p2, g3, g4]
    assert all("<svg" in v.value for v in grid.children)
    net = DARTS.stack(5)
    before_after = draw_mutation(net, net.to_dict(), labels=["before <mutation>", "after"])
    assert before_after.layout.grid_template_columns == "repeat(2, max-content)"  # networks run downwards: one row
    assert 2 * drawing_width(before_after.children[0].value) + 2 * GAP <= FULL_WIDTH
    two = draw_crossover([net], [net, net])  # the parent's row is padded: the children start the next row
    assert two.layout.grid_template_columns == "repeat(2, max-content)"
    assert [c.value == "" for c in two.children] == [False, True, False, False]
    three = draw_crossover([net, net], [net, net, net])  # three do not fit in a row: two per row, in order
    assert three.layout.grid_template_columns == "repeat(2, max-content)" and len(three.children) == 5
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


def test_a_stage_method_says_stage_everywhere():
    pytest.importorskip("graphviz")
    view = PopulationView(label="stage")
    run_events([view])
    text = html.unescape(view.lineage_view.value)
    assert "lineage of g (in stage 2)" in text and "e · stage 1" in text and "gen " not in text
    assert [t.name for t in view.scatter.figure.data if t.mode == "markers"][-1] == "stage 2"
    assert view.best.figure.layout.xaxis.title.text == "stage"


def _statuses(widget) -> list:
    from widgets.live import RunStatus

    found = [widget] if isinstance(widget, RunStatus) else []
    return found + [s for child in getattr(widget, "children", ()) for s in _statuses(child)]


def test_me_darts_panel_knobs_choose_the_member_search_and_the_stage_plan():
    from toolkit.config import SearchConfig
    from toolkit.medarts import MeDartsConfig, Stage, StagePlan, stage_plan
    from widgets import run_panel
    from widgets.population import StagedPopulationView

    plan = StagePlan(Stage("init", cells=3, channels=4, epochs=1, train_samples=100, population=2),
                     Stage("mid", cells=3, channels=4, epochs=1, train_samples=100, population=2, parents=2),
                     Stage("final", cells=3, channels=4, epochs=1, train_samples=100, population=1, parents=1))
    config = MeDartsConfig(SearchConfig(dataset="digits"), stages=plan)
    panel = run_panel("me-darts", config)
    assert set(panel.knobs) == {"method", "preset"} and panel.knobs["preset"].label == "the plan given"
    assert panel.config == config and isinstance(panel.view, StagedPopulationView)
    assert _statuses(panel) == [panel.status] and panel.status.plan == {1: 2, 2: 2, 3: 1}
    panel.knobs["method"].value = "pcdarts"
    panel.knobs["preset"].value = "paper"
    assert panel.config.search.method == "pcdarts" and panel.config.stages == stage_plan("paper")
    assert panel.view.prepare(panel.config, {}) == {} and panel.status.plan == {
        k: s.population for k, s in enumerate(stage_plan("paper"), start=1)}


def test_ts_enas_panel_knobs_set_population_and_generations():
    from toolkit.tsenas import ts_enas_config
    from widgets import run_panel
    from widgets.population import PopulationView

    config = ts_enas_config("cpu-small", population=4, rough_generations=2, fine_generations=1)
    panel = run_panel("ts-enas", config)
    assert set(panel.knobs) == {"population", "rough_generations", "fine_generations"}
    assert [panel.knobs[n].value for n in ("population", "rough_generations", "fine_generations")] == [4, 2, 1]
    panel.knobs["population"].value = 6
    panel.knobs["fine_generations"].value = 3
    assert (panel.config.population, panel.config.fine_generations) == (6, 3)
    assert isinstance(panel.view, PopulationView) and _statuses(panel) == [panel.status]
    assert panel.run_button.description == "Run" and panel.resume_button.disabled



# ---- members drawn as they finish ---------------------------------------------------------------------

def me_darts_member(id, acc, para_aug, parents=()):
    return {"id": id, "metrics": {"val_acc": acc, "para_aug": para_aug}, "genotype": PAIR, "parents": list(parents)}


def search_member(stage_bus, index, record):
    """One member's search run inside its stage's run, as ME-DARTS runs it, then the ``member`` event
    that the stage's run emits when the member's result comes back."""
    run = stage_bus.child(record["id"])
    run.emit("run_start", name="search darts", kind="search", total_steps=1, epochs=1)
    run.emit("step", epoch=1, step=1, steps=1, loss=0.5)
    run.emit("run_end", status="finished", epochs_done=1)
    stage_bus.emit("member", index=index, member=record)


def markers(scatter):
    return [t for t in scatter.figure.data if t.mode == "markers"]


def fronts(scatter):
    return [t for t in scatter.figure.data if t.mode == "lines+markers"]


def test_each_member_is_drawn_when_it_finishes_and_the_front_when_its_stage_ends():
    view = PopulationView(x="para_aug", x_better="higher", label="stage", plan=[2, 2], member_kind="search")
    bus = EventBus([view])
    bus.emit("run_start", name="me-darts darts", kind="me-darts", total_steps=4, epochs=2)
    stage = bus.child("init")
    stage.emit("run_start", name="stage 1/2 init", kind="stage", total_steps=2, epochs=1)
    first, second = me_darts_member("init-0", 0.70, 5000), me_darts_member("init-1", 0.60, 9000)
    search_member(stage, 1, first)
    # before its stage ends: exactly the first member's point, in stage 1's trace, and no front yet
    [trace] = markers(view.scatter)
    assert (list(trace.x), list(trace.y), list(trace.customdata)) == ([5000.0], [0.70], ["init-0"])
    assert trace.name == "stage 1 (so far)" and fronts(view.scatter) == []
    assert view.best.plot.points("stage best") == ([1], [0.70])
    assert view.status.line.value == "stage 1/2 · member 1/2 finished"
    search_member(stage, 1, second)  # within the throttle's interval: held back, nothing lost
    assert len(markers(view.scatter)[0].x) == 1 and view.scatter.running["ids"] == ["init-0", "init-1"]
    view.scatter.flush()
    assert list(markers(view.scatter)[0].x) == [5000.0, 9000.0]
    stage.emit("run_end", status="finished", epochs_done=1)
    bus.emit("generation", index=1, population=[first, second], pareto_front=["init-0", "init-1"])
    view.scatter.flush()  # what the next event does once the throttle allows
    [trace], [front] = markers(view.scatter), fronts(view.scatter)
    assert trace.name == "stage 1" and view.scatter.running is None
    assert (list(front.x), list(front.y)) == ([5000.0, 9000.0], [0.70, 0.60])
    # the next stage's first member: its own trace, the earlier stage and its front still drawn, faded
    stage = bus.child("mid")
    stage.emit("run_start", name="stage 2/2 mid", kind="stage", total_steps=2, epochs=1)
    search_member(stage, 2, me_darts_member("mid-0", 0.80, 6000, ["init-0"]))
    view.scatter.flush()
    assert [t.name for t in markers(view.scatter)] == ["stage 1", "stage 2 (so far)"]
    assert [t.opacity for t in markers(view.scatter)] == [pytest.approx(0.65), 1.0]
    assert [t.name for t in fronts(view.scatter)] == ["Pareto front, stage 1"]
    assert view.best.plot.points("best so far") == ([1, 2], [0.70, 0.80])
    view.scatter._clicked(markers(view.scatter)[1], Points(point_inds=[0]))
    drawn = view.lineage_view.value  # a point of the running stage: its lineage is known (graphviz writes - as &#45;)
    assert view.pick.value == "mid-0" and "<svg" in drawn and "mid&#45;0" in drawn and "init&#45;0" in drawn
    bus.emit("run_end", status="stopped", epochs_done=1)  # forces the last redraw: the finished member stays
    assert [len(t.x) for t in markers(view.scatter)] == [2, 1]


def test_a_generations_candidates_are_drawn_as_evaluated_then_its_survivors():
    scatter = PopulationScatter(min_interval=0)  # TS-ENAS: candidates are evaluated, selection keeps survivors
    bus = EventBus([scatter])
    bus.emit("run_start", name="ts-enas", kind="ts-enas", total_steps=5, epochs=2)
    bus.emit("generation", **GENERATIONS[0])
    bus.emit("member", index=1, member=member("e", 0.85, 3500, ["a", "b"]))
    bus.emit("member", index=1, member=member("x", 0.50, 9000, ["c"]))
    assert [(t.name, list(t.customdata)) for t in markers(scatter)] == [
        ("generation 0", ["a", "b", "c", "d"]), ("generation 1 (so far)", ["e", "x"])]
    bus.emit("generation", index=1, population=[member("a", 0.70, 1000), member("e", 0.85, 3500, ["a", "b"])])
    assert [(t.name, list(t.customdata)) for t in markers(scatter)] == [
        ("generation 0", ["a", "b", "c", "d"]), ("generation 1", ["a", "e"])]  # x was not selected


def test_best_so_far_moves_per_member_within_the_throttle():
    best = BestSoFar(label="stage", min_interval=3600)
    bus = EventBus([best])
    bus.emit("run_start", name="me-darts", kind="me-darts", total_steps=3)
    bus.emit("member", index=1, member=me_darts_member("init-0", 0.6, 10))  # the first redraw is due at once
    assert [list(t.y) for t in best.figure.data] == [[0.6], [0.6]]
    bus.emit("member", index=1, member=me_darts_member("init-1", 0.9, 10))
    assert [list(t.y) for t in best.figure.data] == [[0.6], [0.6]] and best.best == 0.9  # held back
    bus.emit("generation", index=1, population=[me_darts_member("init-0", 0.6, 10),
                                                me_darts_member("init-1", 0.9, 10)])
    assert [list(t.y) for t in best.figure.data] == [[0.9], [0.9]]  # a stage's end redraws at once
    bus.emit("member", index=2, member=me_darts_member("mid-0", 0.7, 10))
    bus.emit("run_end", status="stopped", epochs_done=1)
    assert best.plot.points("best so far") == ([1, 2], [0.9, 0.9])
    assert best.plot.points("stage best") == ([1, 2], [0.9, 0.7])
    assert [list(t.y) for t in best.figure.data] == [[0.9, 0.9], [0.9, 0.7]]


def test_a_tiny_me_darts_run_draws_each_member_before_its_stage_ends():
    from toolkit.config import SearchConfig
    from toolkit.data import load_dataset
    from toolkit.medarts import MeDartsConfig, Stage, StagePlan, run_me_darts
    from widgets.population import StagedPopulationView

    tiny = {"cells": 3, "channels": 4, "epochs": 1, "train_samples": 60, "batch_size": 16}
    config = MeDartsConfig(SearchConfig(dataset="digits", device="cpu", seed=0), stages=StagePlan(
        Stage("init", population=2, **tiny), Stage("mid", population=2, parents=2, **tiny),
        Stage("final", population=1, parents=1, **tiny)))
    view, seen = StagedPopulationView(config), []

    def snapshot(event):  # after the view took the event: what the charts show once the throttle allows
        if event.kind in ("member", "generation"):
            view.scatter.flush()
            seen.append((event.kind, [(t.name, len(t.x)) for t in view.scatter.figure.data]))

    result = run_me_darts(config, data=load_dataset("digits", seed=0), listeners=(view, snapshot))
    assert result.status == "finished"
    front = len(result.stages[0]["pareto_front"])
    assert seen[:3] == [("member", [("stage 1 (so far)", 1)]), ("member", [("stage 1 (so far)", 2)]),
                        ("generation", [("stage 1", 2), ("Pareto front, stage 1", front)])]
    assert [kind for kind, _ in seen] == ["member", "member", "generation"] * 2 + ["member", "generation"]
    assert seen[3][1][-1] == ("stage 2 (so far)", 1) and seen[3][1][0] == ("stage 1", 2)
    first, drawn = result.stages[0]["members"][0]["metrics"], view.scatter.generations[0]
    assert view.best.plot.points("stage best")[0] == [1, 2, 3]
    assert (drawn["x"][0], drawn["y"][0]) == (first["para_aug"], first["val_acc"])
