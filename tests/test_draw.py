"""Graphviz drawings: structure of the drawn graphs, overlays, rendering and the missing-dot message."""

import re
import shutil

import pytest
import torch

from toolkit import draw
from toolkit.draw import (
    alpha_overlay,
    draw_alphas,
    draw_before_after,
    draw_cell,
    draw_network,
    draw_pair,
    render,
)
from toolkit.errors import ToolkitError
from toolkit.genotype import PUBLISHED, CellSpec, Genotype, Network
from toolkit.partial import partial_edge
from toolkit.space import SearchSpace, derive_cell
from toolkit.supernet import Supernet

pytest.importorskip("graphviz")
V2 = PUBLISHED["DARTS_V2"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz 'dot' program is not installed")


def edges_of(graph, prefix=""):
    """Visible edges of a drawing as {(source, target, label or None): attribute text}."""
    found = {}
    for line in graph.body:
        line = re.sub(r"in:p(\d):e\b", r"in\1", line)  # the inputs are ports of one table node
        m = re.match(r"\s*(\w+) -> (\w+)(?: \[(.*)\])?", line, re.S)
        if m and "invis" not in (m.group(3) or "") and m.group(1).startswith(prefix):
            label = re.search(r'label="?([\w.]+)(?:\n(\d+x\d+|connect))?', m.group(3) or "")  # op on two lines
            op = "_".join(filter(None, label.groups())) if label else None
            found[(m.group(1)[len(prefix):], m.group(2)[len(prefix):], op)] = m.group(3)
    return found


def node_line(graph, name):
    return next(line for line in graph.body if re.match(rf"\s*{name} \[", line))


def test_cell_drawing_has_one_arrow_per_edge_and_concat():
    g = draw_cell(V2.normal, title="DARTS V2")
    edges = edges_of(g)
    expected = {(f"in{s}" if s < 2 else f"n{s - 2}", f"n{n - 2}", op) for n, op, s in V2.normal.edges}
    expected |= {(f"n{c - 2}", "out", None) for c in V2.normal.concat}
    assert set(edges) == expected
    assert "DARTS V2" in g.source and "k-2" in g.source and "k-1" in g.source


def test_cell_inputs_in_concat_and_empty_cells_are_drawn():
    pruned_away = Genotype(nodes=(), concat=(1,))  # a DARTS-GAL cell with every node pruned
    assert set(edges_of(draw_cell(pruned_away))) == {("in1", "out", None)}


def test_edge_weights_label_and_thicken_edges():
    weights = [0.1 * (i + 1) for i in range(len(V2.normal.edges))]
    edges = edges_of(draw_cell(V2.normal, edge_weights=weights))
    node, op, src = V2.normal.edges[-1]
    attrs = edges[(f"n{src - 2}" if src >= 2 else f"in{src}", f"n{node - 2}", op)]
    assert "0.80" in attrs and "penwidth=3.40" in attrs  # 1 + 3 * 0.8
    by_key = edges_of(draw_cell(V2.normal, edge_weights={(2, 1): 0.25}))  # keyed as in genotype.edges
    assert "0.25" in by_key[("in1", "n0", "sep_conv_3x3")]
    assert "0.25" not in by_key[("in0", "n0", "sep_conv_3x3")]


def test_overlays_naming_missing_nodes_or_edges_fail_clearly():
    with pytest.raises(ToolkitError, match="edge_weights has 3 values but the cell has 8 edges"):
        draw_cell(V2.normal, edge_weights=[0.1, 0.2, 0.3])
    with pytest.raises(ToolkitError, match=r"node_values names position\(s\) \[7\].*0\.\.3.*nodes 2, 3, 4, 5"):
        draw_cell(V2.normal, node_values={7: 0.5})
    with pytest.raises(ToolkitError, match=r"pruned names position\(s\) \[-1\]"):
        draw_cell(V2.normal, pruned=[-1])
    with pytest.raises(ToolkitError, match=r"edge_weights names edge\(s\) \[\(0, 1\)\]"):
        draw_cell(V2.normal, edge_weights={(0, 1): 0.5})  # node 0 is c_{k-2}, it has no incoming edge


def test_mask_values_and_pruned_nodes():
    g = draw_cell(V2.normal, node_values={0: 0.91, 1: 0.0}, pruned=[1])
    assert "0.91" in node_line(g, "n0") and "0.00" in node_line(g, "n1")
    assert "dashed" in node_line(g, "n1") and "dashed" not in node_line(g, "n0")
    edges = edges_of(g)
    into_pruned = [attrs for (s, t, _), attrs in edges.items() if "n1" in (s, t)]
    assert into_pruned and all("style=dashed" in a for a in into_pruned)
    hidden = draw_cell(V2.normal, pruned=[1], hide_pruned=True)
    assert not any("n1" in (s, t) for s, t, _ in edges_of(hidden))
    assert not any(re.match(r"\s*n1 \[", line) for line in hidden.body)
    assert len(edges_of(hidden)) == len(edges) - 3  # two inputs of node 1 and its concat arrow


def test_pair_and_before_after_draw_both_cells():
    g = draw_pair(V2, title="V2", edge_weights={"reduce": [0.5] * len(V2.reduce.edges)})
    assert "cluster_normal" in g.source and "cluster_reduce" in g.source
    assert len(edges_of(g, "normal_")) == len(V2.normal.edges) + len(V2.normal.concat)
    assert all("0.50" in a for (s, t, op), a in edges_of(g, "reduce_").items() if op)
    pruned = Genotype.from_text("sep_conv_3x3(0)+sep_conv_3x3(1) | sep_conv_3x3(1)+skip_connect(0) ; 2,3")
    ba = draw_before_after(V2.normal, pruned, pruned=[1, 3], node_values={0: 1.0, 1: 0.0, 2: 0.7, 3: 0.0})
    assert len(edges_of(ba, "after_")) == 6 and len(edges_of(ba, "before_")) == 12
    implicit = draw_before_after(V2.normal, pruned=[1, 3])
    assert {s for s, t, _ in edges_of(implicit, "after_")} == {"in0", "in1", "n0", "n2"}


def test_network_drawing_shows_cells_types_and_input_states():
    g = draw_network(V2, cells=8)
    assert set(edges_of(g)) == ({("s0", "s1", None), ("s0", "s2", None), ("s1", "s2", None)}
                                | {(f"s{k - j}", f"s{k}", None) for k in range(3, 9) for j in (1, 2)}
                                | {("s8", "head", None)})
    assert "reduce" in node_line(g, "s3") and "normal" in node_line(g, "s4")
    cell = V2.normal
    ts_enas = Network((CellSpec(cell, False, (0, 0)), CellSpec(cell, True, (0, 1)), CellSpec(cell, False, (0, 2)),
                       CellSpec(V2.reduce, False, (1, 3))))
    edges = set(edges_of(draw_network(ts_enas)))
    assert {("s0", "s3", None), ("s1", "s4", None), ("s3", "s4", None)} <= edges
    assert ("s2", "s4", None) not in edges


def test_alpha_view_keeps_exactly_the_edges_darts_derives():
    space = SearchSpace(nodes=4)
    torch.manual_seed(3)
    weights = torch.softmax(2 * torch.randn(space.edges_per_cell, len(space.ops)), dim=-1)
    derived = derive_cell(weights, space)
    g = draw_alphas(weights, space)
    solid = {(s, t, op) for (s, t, op), a in edges_of(g).items() if op and "dashed" not in a}
    assert solid == {(f"in{s}" if s < 2 else f"n{s - 2}", f"n{n - 2}", op) for n, op, s in derived.edges}
    assert len([k for k in edges_of(g) if k[2]]) == space.edges_per_cell  # every supernet edge is drawn
    both = draw_alphas({"normal": weights, "reduce": weights.tolist()}, space)
    assert "cluster_normal" in both.source and "cluster_reduce" in both.source
    with pytest.raises(ToolkitError, match="needs 14x8"):
        draw_alphas(weights[:5], space)


def test_alpha_overlay_reads_the_chosen_op_of_each_edge():
    space = SearchSpace(nodes=3)
    weights = torch.softmax(torch.randn(space.edges_per_cell, len(space.ops)), dim=-1)
    cell = derive_cell(weights, space)
    values = alpha_overlay(cell, weights, space)
    expected = [float(weights[space.edge_index(n, s), space.ops.index(op)]) for n, op, s in cell.edges]
    assert values == pytest.approx(expected)
    assert [space.edge_index(n, s) for n, s in space.edges] == list(range(space.edges_per_cell))


def solid_edges(graph, prefix=""):
    """The (node, op, input) edges a drawing of α marks as kept (solid, coloured), in DARTS numbering."""
    return {(int(t[1:]) + 2, op, int(s[2:]) if s.startswith("in") else int(s[1:]) + 2)
            for (s, t, op), a in edges_of(graph, prefix).items() if op and "dashed" not in a}


def test_alpha_drawing_of_a_pcdarts_supernet_marks_the_edges_its_genotype_keeps():
    """β (edge normalisation) decides which edges are kept: the drawing must mark those, not α's."""
    space = SearchSpace(nodes=3)
    torch.manual_seed(0)
    net = Supernet(space, C=4, cells=3, edge=partial_edge("random", 4), edge_norm=True)
    node4 = space.node_rows(4)
    with torch.no_grad():
        for kind in ("normal", "reduce"):
            getattr(net, f"alpha_{kind}").normal_(0, 1)
            alpha_rows = getattr(net, f"alpha_{kind}")[node4.start : node4.stop]
            alpha_rows[:, 4] = torch.tensor([4.0, 3.0, 2.0, 1.0])  # by α alone node 4 keeps inputs 0 and 1
            getattr(net, f"beta_{kind}")[node4.start : node4.stop] = torch.tensor([-6.0, -6.0, 3.0, 3.0])
    genotype = net.genotype()
    alphas, betas = net.alpha_weights(), net.edge_weights()
    g = draw_alphas(alphas, space, betas=betas)
    for kind in ("normal", "reduce"):
        cell = getattr(genotype, kind)
        assert {(n, s) for n, _, s in cell.edges if n == 4} == {(4, 2), (4, 3)}
        assert derive_cell(alphas[kind], space).nodes[2] != cell.nodes[2]  # β really changes the choice
        assert solid_edges(g, f"{kind}_") == set(cell.edges)


@needs_dot
def test_render_writes_png_and_svg(tmp_path):
    png = render(draw_pair(V2), tmp_path / "pair.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = render(draw_cell(V2.normal), tmp_path / "cell", format="svg")
    assert svg.suffix == ".svg" and "<svg" in svg.read_text()
    with pytest.raises(ToolkitError, match="cannot render to 'gif'"):
        render(draw_cell(V2.normal), tmp_path / "cell.gif")


def test_missing_dot_names_the_install_commands(monkeypatch, tmp_path):
    monkeypatch.setattr(draw.shutil, "which", lambda name: None)
    with pytest.raises(ToolkitError, match="apt-get install graphviz.*brew install graphviz.*conda install"):
        render(draw_cell(V2.normal), tmp_path / "cell.svg")
    with pytest.raises(ToolkitError, match="apt-get install graphviz"):
        draw_cell(V2.normal)._repr_mimebundle_()
    assert not (tmp_path / "cell.svg").exists()


def node_label(graph, name):
    return re.search(r"label=(?:<)?\"?([^\s\"\]]+)", node_line(graph, name)).group(1)


def test_nodes_carry_the_darts_numbers_of_the_genotype_text():
    assert V2.normal.node_ids == (2, 3, 4, 5)
    g = draw_cell(V2.normal, node_values={0: 0.91})
    assert [node_label(g, f"n{i}") for i in range(4)] == ["2", "3", "4", "5"]
    assert "2\n0.91" in node_line(g, "n0")  # mask values are keyed by position, shown at the node's number
    ba = draw_before_after(V2.normal, pruned=[1])
    assert node_label(ba, "before_n1") == "3" and node_label(ba, "after_n2") == "4"
    space = SearchSpace(nodes=3)
    alphas = draw_alphas(torch.full((space.edges_per_cell, len(space.ops)), 1 / len(space.ops)), space)
    assert [node_label(alphas, f"n{i}") for i in range(3)] == ["2", "3", "4"]
    for graph in (g, alphas):  # the inputs say which number the genotype text gives them
        assert "0 · c<SUB>k-2</SUB>" in graph.source and "1 · c<SUB>k-1</SUB>" in graph.source


def test_inputs_are_one_table_with_c_k_minus_2_on_top():
    """Two separate input nodes were swapped by dot in about a third of random cells; ports cannot swap."""
    for graph, prefix in ((draw_cell(V2.reduce), ""), (draw_pair(V2), "normal_"), (draw_pair(V2), "reduce_")):
        table = node_line(graph, f"{prefix}in")
        assert table.index('PORT="p0"') < table.index("k-2") < table.index('PORT="p1"') < table.index("k-1")
        sources = {s for s, _, _ in edges_of(graph, prefix)}
        assert {"in0", "in1"} <= sources and f"{prefix}in0" not in graph.source


@needs_dot
def test_one_scale_and_readable_labels_in_every_cell_drawing():
    """No drawing is scaled down to a width, and every label is at least 9 pt (12 px at 100% zoom)."""
    from toolkit.draw import to_svg

    pruned = Genotype.from_text("sep_conv_3x3(0)+sep_conv_3x3(1) | sep_conv_3x3(1)+skip_connect(0) ; 2,3")
    space = SearchSpace(nodes=4)
    graphs = [draw_cell(V2.normal), draw_pair(V2), draw_before_after(V2.normal, pruned, pruned=[1, 3]),
              draw_alphas(torch.softmax(torch.randn(space.edges_per_cell, len(space.ops)), -1), space),
              draw_network(V2, cells=20)]
    for graph in graphs:
        svg = to_svg(graph)
        assert "scale(1 1)" in svg
        sizes = [float(x) for x in re.findall(r'font-size="([\d.]+)"', svg)]
        assert sizes and min(sizes) >= 9.0
    widths = {name: svg_width(draw_pair(pair)) for name, pair in PUBLISHED.items()}
    for seed in range(6):  # 4-node cells, the default, fit JupyterLab's output area at a 1280 px window (848 px)
        torch.manual_seed(seed)
        weights = torch.softmax(2 * torch.randn(space.edges_per_cell, len(space.ops)), -1)
        widths[f"derived {seed}"] = svg_width(draw_cell(derive_cell(weights, space)))
        widths[f"alphas {seed}"] = svg_width(draw_alphas(weights, space))
    assert max(widths.values()) <= 630, widths  # points: 630 pt = 840 px
    cells = [to_svg(g) for g in (draw_cell(V2.normal), draw_cell(pruned))]
    widths = [float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1)) for svg in cells]
    assert widths[0] > widths[1]  # a smaller cell is a smaller drawing, not the same box at a larger scale


def svg_width(graph) -> float:
    from toolkit.draw import to_svg

    return float(re.search(r'<svg width="([\d.]+)pt"', to_svg(graph)).group(1))
