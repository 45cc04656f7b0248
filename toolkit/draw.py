"""Graphviz drawings of cells, cell pairs, supernet α and whole networks.

Every ``draw_*`` function returns a ``graphviz.Digraph``; Jupyter shows it as an SVG and
:func:`render` writes it to a file. Cells are drawn as in the DARTS paper: the two cell inputs on
the left, ``c_{k-2}`` always above ``c_{k-1}``, the intermediate nodes in the middle, the output
``c_{k}`` on the right, one arrow per kept edge labelled with its op.

Every drawing uses one style at one scale (1 unit = 1 pt, never shrunk to fit a width), so cells
drawn side by side, before and after pruning, or live during a search compare at a glance; edge
labels are at least 9 pt (12 px in a browser at 100% zoom).

Overlays (all optional) show what a method learned on top of the architecture:

* ``edge_weights``: a number (or text) per edge, e.g. softmax(α) of the chosen op; the number is
  printed under the op name and sets the line width.
* ``node_values``: a number per intermediate node, e.g. a DARTS-GAL soft mask value.
* ``pruned``: intermediate nodes drawn grey and dashed (or left out with ``hide_pruned=True``).

Node numbers are the DARTS numbering of :mod:`toolkit.genotype`: the inputs are nodes 0
(``c_{k-2}``) and 1 (``c_{k-1}``) and the intermediate nodes are labelled with
``genotype.node_ids`` (2, 3, ...), the numbers of the genotype text. Overlays that give one value
per intermediate node (``node_values``, ``pruned``) are keyed by *position* in ``genotype.nodes``
(0-based), the order of mask values and of ``node_scale``; the drawing shows each at its node's
number.

The Python ``graphviz`` package is imported only inside these functions, so ``import toolkit``
works without it; rendering needs the ``dot`` program.

Example:
    >>> from toolkit import PUBLISHED
    >>> g = draw_cell(PUBLISHED["DARTS_V2"].normal, title="DARTS V2 normal")  # doctest: +SKIP
    >>> render(g, "cell.png")  # doctest: +SKIP
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from .errors import ToolkitError
from .genotype import CellPair, Genotype, Network
from .space import derive_cell, edge_choices

INSTALL_DOT = ("the Graphviz 'dot' program is not installed; install it with 'apt-get install graphviz' "
               "(Debian/Ubuntu), 'brew install graphviz' (macOS) or 'conda install -c conda-forge graphviz'")
FORMATS = ("svg", "png", "pdf")

# Colours: one hue per op family so a cell's make-up reads at a glance.
INPUT_STYLE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#c7e9c0", "color": "#41ab5d"}
NODE_STYLE = {"shape": "circle", "style": "filled", "fillcolor": "#c6dbef", "color": "#4292c6",
              "fixedsize": "true", "width": "0.55"}
OUTPUT_STYLE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#fdd49e", "color": "#ef6548"}
PRUNED_COLOR = "#bdbdbd"
FONT = "Helvetica"
# Font sizes in points (a browser shows 1 pt as 4/3 px at 100% zoom): every label at least 12 px.
EDGE_FONT, FAINT_EDGE_FONT, NODE_FONT = "9", "9", "13"


def op_color(op: str) -> str:
    """Edge colour of an op family: convolutions blue/purple, pooling green, skip dark grey."""
    if op == "skip_connect":
        return "#525252"
    if op == "none":
        return PRUNED_COLOR
    if "pool" in op:
        return "#238b45"
    if op.startswith("sep_conv"):
        return "#2171b5"
    if op.startswith("dil_conv"):
        return "#6a51a3"
    return "#cb181d"  # plain and factorised convolutions


@lru_cache(maxsize=1)
def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise ToolkitError("drawing needs the Python 'graphviz' package: pip install graphviz "
                           "(and the dot program: " + INSTALL_DOT.split("; ", 1)[1] + ")") from None
    return graphviz


def require_dot() -> None:
    """Raise a ToolkitError naming the install command when the ``dot`` program is missing."""
    if shutil.which("dot") is None:
        raise ToolkitError(INSTALL_DOT)


@lru_cache(maxsize=1)
def _digraph_class():
    graphviz = _graphviz()

    class Drawing(graphviz.Digraph):
        """A Digraph whose notebook display explains how to install ``dot`` when it is missing."""

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            require_dot()
            return super()._repr_mimebundle_(include, exclude, **kwargs)

    Drawing.__module__, Drawing.__qualname__ = __name__, "Drawing"
    return Drawing


def new_graph(title: str | None = None, rankdir: str = "LR"):
    """An empty drawing with the toolkit's fonts and layout, at the one scale every drawing uses."""
    g = _digraph_class()(graph_attr={"rankdir": rankdir, "fontname": FONT, "fontsize": "14", "nodesep": "0.3",
                                     "ranksep": "0.2", "bgcolor": "white", "pad": "0.1",
                                     "newrank": "true"},
                         node_attr={"fontname": FONT, "fontsize": NODE_FONT},
                         edge_attr={"fontname": FONT, "fontsize": EDGE_FONT, "arrowsize": "0.7"})
    if title:
        g.attr(label=title, labelloc="t")
    return g


def _sub(base: str, index: str) -> str:
    return f"<{base}<SUB>{index}</SUB>>"


def _edge_overlay(genotype: Genotype, edge_weights) -> list:
    """Per-edge overlay values aligned with ``genotype.edges`` (None where there is none)."""
    edges = genotype.edges
    if edge_weights is None:
        return [None] * len(edges)
    if isinstance(edge_weights, Mapping):
        unknown = set(edge_weights) - {(node, src) for node, _, src in edges}
        if unknown:
            raise ToolkitError(f"edge_weights names edge(s) {sorted(unknown)} that the cell does not have; "
                               "key them (node, input) as in genotype.edges, e.g. (2, 0) for node 2 reading c_{k-2}")
        return [edge_weights.get((node, src)) for node, _, src in edges]
    values = list(edge_weights)
    if len(values) != len(edges):
        raise ToolkitError(f"edge_weights has {len(values)} values but the cell has {len(edges)} edges "
                           "(give one per edge, in the order of genotype.edges)")
    return values


def _check_nodes(genotype: Genotype, indices: Iterable[int], what: str) -> set[int]:
    indices = {int(i) for i in indices}
    n = len(genotype.nodes)
    bad = sorted(i for i in indices if not 0 <= i < n)
    if bad:
        raise ToolkitError(f"{what} names position(s) {bad}, but the cell has {n} intermediate node(s): "
                           f"give positions 0..{n - 1} in genotype.nodes (drawn as nodes "
                           f"{', '.join(map(str, genotype.node_ids))})")
    return indices


def _width(value) -> str:
    return f"{1.0 + 3.0 * max(0.0, min(float(value), 1.0)):.2f}"


def op_label(op: str) -> str:
    """An op name on two lines at its last underscore (``sep_conv`` over ``3x3``): narrower drawings."""
    head, _, tail = op.rpartition("_")
    return f"{head}\n{tail}" if head else op


def _edge_attrs(op: str, value, grey: bool) -> dict:
    name = op_label(op)
    label = name if value is None else f"{name}\n{value:.3f}" if isinstance(value, float | int) else f"{name}\n{value}"
    attrs = {"label": label, "color": op_color(op), "fontcolor": op_color(op), "penwidth": "1.5"}
    if isinstance(value, float | int):
        attrs["penwidth"] = _width(value)
    if grey:
        attrs.update(color=PRUNED_COLOR, fontcolor=PRUNED_COLOR, style="dashed", penwidth="1")
    return attrs


def _inputs_label() -> str:
    """Both cell inputs in one two-row table: ``0 · c_{k-2}`` above ``1 · c_{k-1}``, ports p0 and p1."""
    cell = ('<TR><TD PORT="p{i}" BORDER="1" STYLE="rounded" BGCOLOR="{fill}" COLOR="{line}" CELLPADDING="7">'
            '{i} · c<SUB>{sub}</SUB></TD></TR>')
    rows = "".join(cell.format(i=i, sub=sub, fill=INPUT_STYLE["fillcolor"], line=INPUT_STYLE["color"])
                   for i, sub in ((0, "k-2"), (1, "k-1")))
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="14">{rows}</TABLE>>'


def _add_io(g, prefix: str, adds: bool = False) -> dict[int, str]:
    """The cell inputs and the output c_{k}; returns the names edges use for inputs 0 and 1.

    ``adds``: the output sums its inputs (a TS-ENAS ``"add"`` cell) and is labelled ``c_k = sum``.

    The two inputs are ports of one table node, so c_{k-2} is always drawn above c_{k-1}: as two
    separate nodes, dot's crossing minimisation swaps them in about a third of cells.
    """
    g.node(f"{prefix}in", _inputs_label(), shape="plaintext", margin="0")
    g.node(f"{prefix}out", "<c<SUB>k</SUB> = sum>" if adds else _sub("c", "k"), **OUTPUT_STYLE)
    return {0: f"{prefix}in:p0:e", 1: f"{prefix}in:p1:e"}


def add_cell(g, genotype: Genotype, prefix: str = "", *, edge_weights=None, node_values: Mapping | None = None,
             pruned: Iterable[int] = (), hide_pruned: bool = False) -> None:
    """Add one cell's nodes and edges to ``g`` (node names start with ``prefix``); see :func:`draw_cell`."""
    node_values = dict(node_values or {})
    _check_nodes(genotype, node_values, "node_values")
    pruned = _check_nodes(genotype, pruned, "pruned")
    overlay = _edge_overlay(genotype, edge_weights)
    name = _add_io(g, prefix, genotype.output == "add")
    for i, number in enumerate(genotype.node_ids):
        name[i + 2] = f"{prefix}n{i}"
        if i in pruned and hide_pruned:
            continue
        label = str(number) if i not in node_values else f"{number}\n{float(node_values[i]):.2f}"
        style = dict(NODE_STYLE)
        if i in node_values:
            style["width"] = "0.75"
        if i in pruned:
            style.update(fillcolor="#f0f0f0", color=PRUNED_COLOR, fontcolor="#969696", style="filled,dashed")
        g.node(name[i + 2], label, **style)
    out = f"{prefix}out"
    for (node, op, src), value in zip(genotype.edges, overlay, strict=True):
        hidden = {node - 2, src - 2} & pruned
        if hidden and hide_pruned:
            continue
        g.edge(name[src], name[node], **_edge_attrs(op, value, bool(hidden)))
    for c in genotype.concat:
        grey = c - 2 in pruned
        if grey and hide_pruned:
            continue
        g.edge(name[c], out, color=PRUNED_COLOR if grey else "#737373", style="dashed" if grey else "solid",
               arrowhead="normal")


def draw_cell(genotype: Genotype, *, title: str | None = None, edge_weights=None,
              node_values: Mapping[int, float] | None = None, pruned: Iterable[int] = (),
              hide_pruned: bool = False):
    """Draw one cell with optional overlays.

    Args:
        genotype: the cell.
        title: a caption above the drawing.
        edge_weights: per-edge numbers or texts, either a sequence in the order of
            ``genotype.edges`` or a mapping ``{(node, input): value}`` keyed as in ``genotype.edges``
            (DARTS numbering: ``(2, 0)`` is the edge from ``c_{k-2}`` into node 2). Numbers in [0, 1] also
            set the line width (e.g. softmax(α) of the chosen op) and are printed with 3 decimals, as
            α after a short search differs from uniform only in the third.
        node_values: ``{position: value}`` shown inside the nodes (e.g. DARTS-GAL mask values);
            ``position`` indexes ``genotype.nodes`` (0-based, the order of the masks).
        pruned: positions of nodes drawn grey and dashed, with their edges.
        hide_pruned: leave pruned nodes and their edges out instead.

    Returns:
        A ``graphviz.Digraph``.

    Raises:
        ToolkitError: an overlay names a node or edge the cell does not have.
    """
    g = new_graph(title)
    _stack(g, [("cell", "", lambda c: add_cell(c, genotype, edge_weights=edge_weights, node_values=node_values,
                                                pruned=pruned, hide_pruned=hide_pruned))])
    return g


def _stack(g, parts) -> None:
    """Draw cells top to bottom, each in its own frame.

    Args:
        parts: ``(name, label, draw)`` in display order; ``draw(subgraph)`` adds one cell. An empty
            label draws the cell without a frame.
    """
    for name, label, draw in reversed(parts):  # dot stacks LR clusters in reverse definition order
        with g.subgraph(name=f"cluster_{name}") as c:
            if label:
                # the title at the top left, clear of an edge label routed over the cells
                c.attr(label=label, labeljust="l", style="rounded", color="#d9d9d9", fontsize="13")
            else:
                c.attr(label="", peripheries="0")
            draw(c)


def _per_type(value, kind: str):
    return value.get(kind) if isinstance(value, Mapping) and kind in value else None


def draw_pair(pair: CellPair, *, title: str | None = None, edge_weights=None, node_values=None, pruned=None,
              hide_pruned: bool = False):
    """Draw the normal cell above the reduction cell of a search result.

    Overlays are mappings ``{'normal': ..., 'reduce': ...}`` of the per-cell overlays of
    :func:`draw_cell`.
    """
    g = new_graph(title)
    _stack(g, [(kind, label, lambda c, kind=kind: add_cell(
        c, getattr(pair, kind), f"{kind}_", edge_weights=_per_type(edge_weights, kind),
        node_values=_per_type(node_values, kind), pruned=_per_type(pruned, kind) or (), hide_pruned=hide_pruned))
        for kind, label in (("normal", "normal cell"), ("reduce", "reduction cell"))])
    return g


def draw_before_after(before: Genotype, after: Genotype | None = None, *, pruned: Iterable[int] = (),
                      node_values: Mapping[int, float] | None = None, title: str | None = None,
                      labels: tuple[str, str] = ("before", "after")):
    """A cell before (top) and after (bottom) pruning, as in DARTS-GAL paper Fig. 3.

    Args:
        before: the unpruned cell.
        after: the pruned cell (renumbered); when omitted, ``before`` with the pruned nodes removed
            is drawn instead.
        pruned: positions (0-based, in ``before.nodes``) of the nodes pruning removes (drawn grey
            and dashed in the top drawing).
        node_values: values shown in the nodes of ``before`` by position (e.g. the learned masks).
    """
    pruned = tuple(pruned)
    g = new_graph(title)
    if after is None:
        draw_after = lambda c: add_cell(c, before, "after_", pruned=pruned, hide_pruned=True)  # noqa: E731
    else:
        draw_after = lambda c: add_cell(c, after, "after_")  # noqa: E731
    _stack(g, [("before", labels[0], lambda c: add_cell(c, before, "before_", node_values=node_values,
                                                        pruned=pruned)),
               ("after", labels[1], draw_after)])
    return g


def draw_network(network: Network | CellPair, *, cells: int = 8, title: str | None = None, rankdir: str = "LR"):
    """Draw a whole network: the stem, every cell with its type, the states it reads, the classifier.

    DARTS networks read the two previous cells; TS-ENAS networks may read any earlier cell, and the
    arrows show exactly which. Hovering a cell in the SVG shows its genotype text.

    Args:
        network: a network description, or a cell pair stacked into ``cells`` cells.
        cells: cells when stacking a cell pair.
    """
    if isinstance(network, CellPair):
        network = network.stack(cells)
    g = new_graph(title, rankdir)
    g.node("s0", "stem", shape="box", style="rounded,filled", fillcolor="#e0e0e0", color="#737373")
    for k, cell in enumerate(network.cells, start=1):
        kind = "reduce" if cell.reduction else "normal"
        style = OUTPUT_STYLE if cell.reduction else NODE_STYLE | {"shape": "box", "style": "rounded,filled",
                                                                  "fixedsize": "false", "width": "0"}
        nodes = len(cell.genotype.nodes)
        g.node(f"s{k}", f"cell {k}\n{kind} · {nodes} node{'s' if nodes != 1 else ''}", tooltip=str(cell.genotype),
               **style)
        for src in dict.fromkeys(cell.inputs):  # a cell reading the stem twice gets one arrow
            g.edge(f"s{src}", f"s{k}", color="#737373")
    g.node("head", "classifier", shape="box", style="rounded,filled", fillcolor="#e0e0e0", color="#737373")
    g.edge(f"s{len(network.cells)}", "head", color="#737373")
    return g


def alpha_overlay(genotype: Genotype, weights, space) -> list[float]:
    """softmax(α) of each kept edge's op, in the order of ``genotype.edges`` (for ``edge_weights``).

    Args:
        genotype: a cell derived from the same supernet.
        weights: softmax(α), shape (edges, ops), as a tensor or nested lists; rows follow
            :attr:`toolkit.space.SearchSpace.edges`.
        space: the search space whose ops index the columns.
    """
    rows = _rows(weights)
    return [float(rows[space.edge_index(node, src)][space.ops.index(op)]) for node, op, src in genotype.edges]


def _rows(weights) -> list[list[float]]:
    return weights.detach().cpu().tolist() if hasattr(weights, "detach") else [list(r) for r in weights]


def draw_alphas(alphas, space, *, betas=None, title: str | None = None, edges_per_node: int = 2):
    """The supernet seen through α (and β): every edge with its strongest non-'none' op and strength.

    The edges DARTS keeps (:func:`toolkit.space.derive_cell`, the discretisation
    ``Supernet.genotype()`` uses) are solid and coloured; the others are thin, grey and dashed.
    Each edge shows its op's softmax(α) weight, times the edge's β weight when ``betas`` is given
    (PC-DARTS edge normalisation): the strength that decides which edges are kept.

    Args:
        alphas: softmax(α) of one cell type, shape (edges, ops), or a mapping
            ``{'normal': ..., 'reduce': ...}`` (as in an ``epoch_end`` event) to draw both.
        space: the search space (ops and nodes) α belongs to.
        betas: the per-node softmax of β (``Supernet.edge_weights()``), shaped like ``alphas``'s
            rows: one tensor, or a mapping per cell type; None without edge normalisation.

    Example:
        >>> draw_alphas(net.alpha_weights(), net.space, betas=net.edge_weights())  # doctest: +SKIP
    """
    g = new_graph(title)
    if isinstance(alphas, Mapping):
        _stack(g, [(kind, label, lambda c, kind=kind: _add_alpha_cell(c, alphas[kind], space, f"{kind}_",
                                                                      edges_per_node, _per_type(betas, kind)))
                   for kind, label in (("normal", "normal cell"), ("reduce", "reduction cell")) if kind in alphas])
    else:
        _stack(g, [("cell", "", lambda c: _add_alpha_cell(c, alphas, space, "", edges_per_node, betas))])
    return g


def _add_alpha_cell(g, weights, space, prefix: str, edges_per_node: int, betas=None) -> None:
    choices = edge_choices(weights, space, betas)  # per supernet edge: strongest op, strength (α·β)
    derived = derive_cell(weights, space, betas, edges_per_node)
    kept = {(node, src) for node, _, src in derived.edges}
    inputs = _add_io(g, prefix)
    for node in space.node_ids:
        g.node(f"{prefix}n{node - 2}", str(node), **NODE_STYLE)
    for (node, src), (op, w) in zip(space.edges, choices, strict=True):
        target, source = f"{prefix}n{node - 2}", inputs[src] if src < 2 else f"{prefix}n{src - 2}"
        if (node, src) in kept:
            g.edge(source, target, **_edge_attrs(op, w, False))
        else:
            g.edge(source, target, label=f"{op_label(op)}\n{w:.3f}", color="#d9d9d9", fontcolor="#969696",
                   style="dashed", penwidth="0.8", fontsize=FAINT_EDGE_FONT)
    for node in space.node_ids:
        g.edge(f"{prefix}n{node - 2}", f"{prefix}out", color="#737373")


def render(graph, path: str | Path, format: str | None = None, dpi: int = 110) -> Path:
    """Write a drawing to ``path`` as SVG, PNG or PDF and return the path.

    Args:
        graph: a drawing from one of the ``draw_*`` functions (any ``graphviz.Digraph``).
        path: output file; its suffix picks the format when ``format`` is None.
        format: 'svg', 'png' or 'pdf'.
        dpi: resolution of PNG output.

    Raises:
        ToolkitError: unknown format, or the ``dot`` program is missing (the message says how to
            install it).
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise ToolkitError(f"cannot render to '{fmt}'; choose one of: {', '.join(FORMATS)}")
    if path.suffix.lstrip(".").lower() != fmt:
        path = path.with_name(path.name + f".{fmt}")
    require_dot()
    graph = graph.copy()
    if fmt == "png":
        graph.attr(dpi=str(dpi))
    data = graph.pipe(format=fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def to_svg(graph) -> str:
    """The drawing as SVG text (what notebooks and widgets embed)."""
    require_dot()
    return graph.pipe(format="svg", encoding="utf-8")
