"""A cell-drawing widget: an inline SVG that can be redrawn from any thread.

``IPython.display`` output cannot be replaced reliably from a background thread, but a widget's
value can, so live views keep their drawing in an ``HTML`` widget and swap its SVG text.

Drawings are embedded at their natural size (the one scale of :mod:`toolkit.draw`, never shrunk
to the box, so labels stay readable); a drawing wider than its box scrolls.
"""

from __future__ import annotations

import html
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


def svg_html(graph) -> str:
    """A graphviz drawing as inline SVG at its natural size (1 pt of the drawing = 1 pt on screen)."""
    svg = draw.to_svg(graph)
    svg = svg[svg.index("<svg"):]  # drop the XML prologue and doctype
    return re.sub(r"<svg ", '<svg style="max-width:none;height:auto" ', svg, count=1)


def waiting_html(text: str) -> str:
    """A grey line saying what will appear here."""
    return f"<div class='nas-waiting' style='color:#737373;font-style:italic;margin:6px 0'>{html.escape(text)}</div>"


class CellView(w.HTML):
    """Shows one architecture drawing; :meth:`show` replaces it, :meth:`reset` clears it.

    As an event listener it clears itself when a search starts and redraws the derived cells at
    each ``epoch_end``, captioned with the epoch, with softmax(α) of every kept op on its edge.

    Args:
        architecture: what to draw first (None: show ``waiting``).
        caption: a line above the drawing saying what it shows.
        waiting: the line shown while there is nothing to draw.
    """

    def __init__(self, architecture=None, caption: str = "", *, waiting: str = "", **overlay):
        super().__init__(layout=w.Layout(overflow="auto", min_height="40px", max_width="100%"))
        self.add_class("nas-cell-view")
        self.caption = caption
        self.waiting = waiting
        self.architecture = None
        self.space: SearchSpace | None = None
        if architecture is not None:
            self.show(architecture, **overlay)
        else:
            self.reset()

    def reset(self, waiting: str | None = None) -> None:
        """Drop the drawing (e.g. a previous run's cells) and show the waiting line instead."""
        self.waiting = self.waiting if waiting is None else waiting
        self.architecture = None
        self.value = waiting_html(self.waiting) if self.waiting else ""

    def show(self, architecture, **overlay) -> None:
        """Draw ``architecture`` (Genotype, CellPair or Network) with optional overlays."""
        graph = drawing_for(architecture, **overlay)  # bad input raises here
        self.architecture = architecture
        try:
            drawing = svg_html(graph)
        except ToolkitError as e:  # no dot program: say how to install it, in the widget
            drawing = f'<div class="nas-error" style="color:#b30000">cannot draw the cell: {html.escape(str(e))}</div>'
        head = f"<div style='font-weight:600;margin:4px 0'>{self.caption}</div>" if self.caption else ""
        self.value = head + drawing

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and "ops" in event.data:
            self.space = SearchSpace(tuple(event["ops"]), event["nodes"])
            self.reset()
        elif event.kind == "epoch_end" and "genotype" in event.data:
            pair = CellPair.from_dict(dict(event["genotype"]))
            overlay = {}
            if self.space is not None and "alphas" in event.data:
                alphas = event["alphas"]
                overlay["edge_weights"] = {kind: draw.alpha_overlay(getattr(pair, kind), alphas[kind], self.space)
                                           for kind in ("normal", "reduce")}
            self.caption = (f"derived cells after epoch {event['epoch']} · numbers on edges: softmax(α) of the "
                            "kept op")
            self.show(pair, **overlay)


def show_cell(architecture, *, caption: str = "", **overlay) -> CellView:
    """A widget showing a cell, a cell pair or a network; redraw it later with ``.show(...)``.

    Example:
        >>> from toolkit import PUBLISHED
        >>> view = show_cell(PUBLISHED["DARTS_V2"], caption="DARTS V2")  # doctest: +SKIP
    """
    return CellView(architecture, caption, **overlay)
