"""A cell-drawing widget: an inline SVG that can be redrawn from any thread.

``IPython.display`` output cannot be replaced reliably from a background thread, but a widget's
value can, so live views keep their drawing in an ``HTML`` widget and swap its SVG text.
"""

from __future__ import annotations

import re

import ipywidgets as w

from toolkit import draw
from toolkit.errors import ToolkitError
from toolkit.events import Event
from toolkit.genotype import CellPair, Genotype, Network
from toolkit.space import SearchSpace


def drawing_for(architecture, **overlay):
    """The drawing of a cell, a cell pair or a network (overlays as in :mod:`toolkit.draw`)."""
    if isinstance(architecture, Genotype):
        return draw.draw_cell(architecture, **overlay)
    if isinstance(architecture, CellPair):
        return draw.draw_pair(architecture, **overlay)
    if isinstance(architecture, Network):
        return draw.draw_network(architecture, **overlay)
    raise ToolkitError(f"cannot draw a {type(architecture).__name__}; give a Genotype, CellPair or Network")


def svg_html(graph, max_width: str = "100%") -> str:
    """A graphviz drawing as inline SVG that shrinks to its container."""
    svg = draw.to_svg(graph)
    svg = svg[svg.index("<svg"):]  # drop the XML prologue and doctype
    return re.sub(r"<svg ", f'<svg style="max-width:{max_width};height:auto" ', svg, count=1)


class CellView(w.HTML):
    """Shows one architecture drawing; :meth:`show` replaces it.

    As an event listener it redraws the derived cells at each search ``epoch_end``, with
    softmax(α) of every kept op written on its edge.
    """

    def __init__(self, architecture=None, caption: str = "", **overlay):
        super().__init__(layout=w.Layout(overflow="auto", min_height="60px"))
        self.add_class("nas-cell-view")
        self.caption = caption
        self.architecture = None
        self.space: SearchSpace | None = None
        if architecture is not None:
            self.show(architecture, **overlay)

    def show(self, architecture, **overlay) -> None:
        """Draw ``architecture`` (Genotype, CellPair or Network) with optional overlays."""
        graph = drawing_for(architecture, **overlay)  # bad input raises here
        self.architecture = architecture
        try:
            html = svg_html(graph)
        except ToolkitError as e:  # no dot program: say how to install it, in the widget
            html = f'<div class="nas-error" style="color:#b30000">cannot draw the cell: {e}</div>'
        head = f"<div style='font-weight:600;margin:4px 0'>{self.caption}</div>" if self.caption else ""
        self.value = head + html

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and "ops" in event.data:
            self.space = SearchSpace(tuple(event["ops"]), event["nodes"])
        elif event.kind == "epoch_end" and "genotype" in event.data:
            pair = CellPair.from_dict(dict(event["genotype"]))
            overlay = {}
            if self.space is not None and "alphas" in event.data:
                alphas = event["alphas"]
                overlay["edge_weights"] = {kind: draw.alpha_overlay(getattr(pair, kind), alphas[kind], self.space)
                                           for kind in ("normal", "reduce")}
            self.caption = f"derived cells after epoch {event['epoch']}"
            self.show(pair, **overlay)


def show_cell(architecture, *, caption: str = "", **overlay) -> CellView:
    """A widget showing a cell, a cell pair or a network; redraw it later with ``.show(...)``.

    Example:
        >>> from toolkit import PUBLISHED
        >>> view = show_cell(PUBLISHED["DARTS_V2"], caption="DARTS V2")  # doctest: +SKIP
    """
    return CellView(architecture, caption, **overlay)
