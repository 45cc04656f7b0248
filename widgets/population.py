"""Live views of an evolutionary search (ME-DARTS, TS-ENAS): the population of every generation,
its Pareto front, the best accuracy so far, a member's lineage and crossover/mutation drawings.

:class:`PopulationView` is an ipywidgets box and an event listener at once: pass it to a run's
listeners and it follows the ``generation`` events (:class:`toolkit.event_types.Generation`):

* a progress bar over the whole run and a line naming the current child run, e.g.
  ``stage 2/3 · member 3/4 · 12/40 steps`` when the method names its child runs that way
  (``bus.child("stage 2/3")``, then ``stage_bus.child("member 3/4")``);
* a scatter of every member, x = one metric (parameters), y = another (accuracy), one trace per
  generation (older generations faded), the members of the Pareto front ringed and joined by a
  step line, hover text naming the member and its architecture ("TS-ENAS", Fig. 4b);
* the best accuracy per generation and so far ("TS-ENAS", Fig. 4a);
* the lineage of the best member, drawn when the run ends (or any member, :meth:`show_lineage`).

:func:`draw_crossover` shows parents and children drawn side by side (an α crossover of
"ME-DARTS", a mutation or pruning of "TS-ENAS").

Papers: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo; "TS-ENAS: Two-Stage Evolution for Cell-based Network Architecture
Search", J. Zou, S. Wu, Y. Xia, W. Jiang, Z. Wu, J. Zheng.

Example:
    >>> view = PopulationView(x="para_aug", x_better="higher")  # doctest: +SKIP
    >>> run = start_me_darts(config, listeners=[view]); view  # doctest: +SKIP
"""

from __future__ import annotations

import html
import textwrap
import threading
from collections.abc import Mapping, Sequence
from numbers import Real

import ipywidgets as w
import plotly.graph_objects as go

from toolkit.errors import ToolkitError
from toolkit.events import Event
from toolkit.genotype import CellPair, Genotype, Network
from toolkit.lineage import Lineage, draw_lineage, format_metric

from .cells import CellView, svg_html, waiting_html
from .live import FULL_WIDTH, HALF_WIDTH, RunStatus
from .plots import PALETTE, LinePlot, Throttle, base_layout, show_waiting

WAITING_GENERATION = "waiting for the first generation…"
FADED = 0.35
HOVER_LINES, HOVER_WIDTH = 8, 72  # lines and characters of an architecture's text in a hover label


def architecture(genotype: Mapping):
    """A member's genotype dict as a Network, CellPair or Genotype (None when it is none of them)."""
    if not isinstance(genotype, Mapping) or not genotype:
        return None
    d = dict(genotype)
    kind = Network if "cells" in d else CellPair if "normal" in d else Genotype
    try:
        return kind.from_dict(d)
    except (ToolkitError, KeyError, TypeError, ValueError, AttributeError):  # not a valid description
        return None


def _number(value) -> float | None:
    return float(value) if isinstance(value, Real) and not isinstance(value, bool) else None


def _hover(member: Mapping, x: str, y: str) -> str:
    metrics = member.get("metrics") or {}
    lines = [f"<b>{html.escape(str(member['id']))}</b>"]
    lines += [html.escape(format_metric(k, metrics[k])) for k in (y, x) if k in metrics]
    lines += [html.escape(format_metric(k, v)) for k, v in metrics.items()
              if k not in (x, y) and _number(v) is not None]
    if member.get("parents"):
        lines.append("parents " + html.escape(", ".join(str(p) for p in member["parents"])))
    arch = architecture(member.get("genotype") or {})
    if arch is not None:
        text = [part for line in str(arch).splitlines()
                for part in textwrap.wrap(line, HOVER_WIDTH, subsequent_indent="  ", break_on_hyphens=False)]
        shown = text[:HOVER_LINES] + ([f"… {len(text) - HOVER_LINES} more lines"] if len(text) > HOVER_LINES else [])
        lines += [html.escape(t) for t in shown]
    return "<br>".join(lines)


def front_line(points: Sequence[tuple[float, float]], x_better: str) -> tuple[list, list, str]:
    """The Pareto front's points sorted by x and the plotly line shape of its staircase (the edge of
    the region it dominates): 'hv' when lower x is better, 'vh' when higher x is better; accuracy is
    always better higher."""
    xs, ys = zip(*sorted(points)) if points else ((), ())
    return list(xs), list(ys), "hv" if x_better == "lower" else "vh"


class PopulationScatter:
    """A scatter of every generation's members, x and y two of their metrics.

    Args:
        x, y: the metrics plotted (keys of each member's ``metrics``).
        x_better: 'lower' (fewer parameters is better) or 'higher' (ME-DARTS maximises para_aug);
            sets the shape of the Pareto front's step line.
        label: what a generation is called in the legend ('generation', 'stage').
        x_title, y_title: axis titles (default: the metric names). title, height, width: layout.
        min_interval: seconds between browser updates.

    Attributes:
        figure: the ``FigureWidget`` to display. generations: the generation records received.
    """

    def __init__(self, x: str = "parameters", y: str = "val_acc", *, x_better: str = "lower",
                 label: str = "generation", x_title: str | None = None, y_title: str | None = None,
                 title: str | None = "population · Pareto front ringed", height: int = 400,
                 width: int | None = FULL_WIDTH, min_interval: float = 0.5):
        if x_better not in ("lower", "higher"):
            raise ToolkitError(f"x_better must be 'lower' or 'higher', got {x_better!r}")
        self.x, self.y, self.x_better, self.label = x, y, x_better, label
        self.figure = go.FigureWidget(layout=base_layout(title, x_title or x, y_title or y, height, width))
        self.figure.update_layout(legend={"itemclick": "toggle"}, hovermode="closest")
        self.generations: list[dict] = []
        self._lock = threading.Lock()
        self._throttle = Throttle(min_interval)
        self._dirty = False
        self._waiting: str | None = WAITING_GENERATION
        show_waiting(self.figure, self._waiting)

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.parent is None:
            self.clear()
        elif event.kind == "generation":
            self.add(event.data)
            return
        if self._dirty:
            self._maybe_flush(event.kind == "run_end")

    def add(self, generation: Mapping, flush: bool | None = None) -> None:
        """Take one generation record ``{index, population, pareto_front}`` (redrawn when the
        throttle allows, or now with ``flush=True``)."""
        with self._lock:
            self.generations.append({"index": generation["index"], "population": list(generation["population"]),
                                     "pareto_front": list(generation.get("pareto_front") or ())})
            self._dirty = True
        self._maybe_flush(bool(flush))

    def _maybe_flush(self, force: bool) -> None:
        if self._throttle.ready(force):
            self.flush()

    def points(self, index: int) -> tuple[list, list, list]:
        """x, y and ids of the members of generation ``index`` that have both metrics."""
        gen = next(g for g in self.generations if g["index"] == index)
        rows = [(_number(m["metrics"].get(self.x)), _number(m["metrics"].get(self.y)), m["id"])
                for m in gen["population"]]
        rows = [r for r in rows if r[0] is not None and r[1] is not None]
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    def front(self, index: int) -> tuple[list, list, list]:
        """x, y and ids of generation ``index``'s Pareto front, sorted by x."""
        gen = next(g for g in self.generations if g["index"] == index)
        xs, ys, ids = self.points(index)
        on = set(gen["pareto_front"])
        rows = sorted((x, y, i) for x, y, i in zip(xs, ys, ids, strict=True) if i in on)
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    def flush(self) -> None:
        """Redraw every generation (one batched browser update)."""
        with self._lock:
            if not self._dirty:
                return
            gens = [dict(g) for g in self.generations]
            self._dirty = False
        traces = []
        last = len(gens) - 1
        for k, gen in enumerate(gens):
            color, faded = PALETTE[k % len(PALETTE)], k != last
            name = f"{self.label} {gen['index']}"
            members = [m for m in gen["population"] if _number((m.get("metrics") or {}).get(self.x)) is not None
                       and _number((m.get("metrics") or {}).get(self.y)) is not None]
            traces.append(go.Scatter(
                x=[float(m["metrics"][self.x]) for m in members], y=[float(m["metrics"][self.y]) for m in members],
                mode="markers", name=name, legendgroup=name, opacity=FADED if faded else 1.0,
                marker={"color": color, "size": 8 if faded else 10, "line": {"width": 0.5, "color": "white"}},
                hovertext=[_hover(m, self.x, self.y) for m in members], hovertemplate="%{hovertext}<extra></extra>",
                customdata=[str(m["id"]) for m in members]))
            on = set(gen["pareto_front"])
            front = [m for m in members if m["id"] in on]
            if front:
                xs, ys, shape = front_line([(float(m["metrics"][self.x]), float(m["metrics"][self.y]))
                                            for m in front], self.x_better)
                traces.append(go.Scatter(
                    x=xs, y=ys, mode="lines+markers", name=f"Pareto front, {name}", legendgroup=name,
                    showlegend=not faded, opacity=FADED if faded else 1.0, hoverinfo="skip",
                    line={"color": color, "shape": shape, "width": 1.5 if faded else 2.5},
                    marker={"symbol": "circle-open", "size": 16, "color": "#252525" if not faded else color,
                            "line": {"width": 2}}))
        missing = bool(gens) and not any(t.x for t in traces)
        with self.figure.batch_update():
            self.figure.data = ()
            self.figure.add_traces(traces)
            text = None if traces and not missing else WAITING_GENERATION if not gens else self._no_metric(gens)
            if text != self._waiting:
                self._waiting = text
                show_waiting(self.figure, text)

    def _no_metric(self, gens: list[dict]) -> str:
        names = sorted({k for g in gens for m in g["population"] for k in (m.get("metrics") or {})})
        return (f"no member has both metrics '{self.x}' (x) and '{self.y}' (y); "
                f"the members' metrics are {', '.join(names) or 'none'}")

    def clear(self) -> None:
        """Forget every generation (a new run starts)."""
        with self._lock:
            self.generations.clear()
            self._dirty = True
        self.flush()


def best_plot(y: str = "val_acc", *, label: str = "generation", width: int | None = HALF_WIDTH) -> LinePlot:
    """An empty chart for the best ``y`` so far (a line) and per generation (rings), fed by :class:`BestSoFar`."""
    rings = {"mode": "markers", "marker": {"size": 11, "symbol": "circle-open", "line": {"width": 2}}}
    return LinePlot([], kinds=(), x=label, title=f"best {y} per {label}", xaxis_title=label, yaxis_title=y,
                    width=width, height=300, styles={f"{label} best": rings}, layout={"xaxis": {"dtick": 1}},
                    waiting=WAITING_GENERATION)


class BestSoFar:
    """The best value of metric ``y`` in each generation and the best so far, as a :class:`LinePlot`
    (higher is better, as for accuracy).

    Attributes:
        plot: the LinePlot (``plot.figure`` to display). best: the best value so far (None before any).
    """

    def __init__(self, y: str = "val_acc", *, label: str = "generation", width: int | None = HALF_WIDTH):
        self.y, self.label = y, label
        self.plot = best_plot(y, label=label, width=width)
        self.best: float | None = None

    @property
    def figure(self) -> go.FigureWidget:
        return self.plot.figure

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.parent is None:
            self.best = None
            self.plot.clear()
        elif event.kind == "generation":
            self.add(event.data)
        elif event.kind == "run_end":
            self.plot.flush()

    def add(self, generation: Mapping) -> None:
        values = [v for m in generation["population"]
                  if (v := _number((m.get("metrics") or {}).get(self.y))) is not None]
        if not values:
            return
        self.best = max(values) if self.best is None else max(self.best, *values)
        self.plot.stream(generation["index"], {"best so far": self.best, f"{self.label} best": max(values)})
        self.plot.flush()


class PopulationStatus(RunStatus):
    """A :class:`RunStatus` whose line names every level of the current child run
    (``stage 2/3 · member 3/4 · 12/40 steps``) and summarises each generation."""

    def __init__(self, y: str = "val_acc", label: str = "generation"):
        super().__init__()
        self.y, self.label = y, label
        self.generations, self.best = 0, None  # generations seen, (best y, member id) so far

    def where(self) -> str:
        if not self.tree.nested:
            return ""
        run = self.tree.current
        return html.escape(" · ".join(run.path) + f" · {min(run.done, run.total)}/{run.total} steps") + " · "

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.parent is None:
            self.generations, self.best = 0, None
        if event.kind == "run_end" and event.parent is None and self.generations:
            super().__call__(event)
            best = f" · best {self.y} {self.best[0]:.3f} ({html.escape(str(self.best[1]))})" if self.best else ""
            self.set_text(f"{event['status']} after {self.generations} {self.label}(s){best}")
            return
        if event.kind != "generation":
            super().__call__(event)
            return
        if self.tree(event) is None:
            return
        self.generations += 1
        population = event["population"]
        scored = [(v, m["id"]) for m in population if (v := _number(m["metrics"].get(self.y))) is not None]
        best = max(scored, key=lambda s: s[0]) if scored else None
        if best and (self.best is None or best[0] > self.best[0]):
            self.best = best
        front = f" · front {len(event['pareto_front'])}" if event.get("pareto_front") else ""
        shown = f" · best {self.y} {best[0]:.3f} ({html.escape(str(best[1]))})" if best else ""
        self.set_text(f"{self.where()}{self.label} {event['index']} done · {len(population)} members{front}{shown}")


class LineageView(w.HTML):
    """A lineage drawing (an SVG in an HTML widget, so it can be replaced from a run's thread)."""

    def __init__(self, waiting: str = "lineage: drawn when the run ends"):
        super().__init__(waiting_html(waiting), layout=w.Layout(overflow="auto", max_width="100%"))
        self.add_class("nas-lineage-view")

    def show(self, lineage: Lineage, member_id, generation: int | None = None, *, metrics=None) -> None:
        tree = lineage.ancestry(member_id, generation)
        gen = tree.member.generation
        title = f"lineage of {tree.member.id}" + (f" (generation {gen})" if gen is not None else "")
        try:
            self.value = svg_html(draw_lineage(tree, metrics=metrics, title=title))
        except ToolkitError as e:  # no dot program: say how to install it
            self.value = (f'<div class="nas-error" style="color:#b30000">cannot draw the lineage: '
                          f'{html.escape(str(e))}</div>')


class PopulationView(w.VBox):
    """Everything an evolutionary search shows while it runs, as one widget and one event listener.

    Args:
        x, y: the member metrics on the scatter's axes (x e.g. 'parameters' or ME-DARTS' 'para_aug';
            y e.g. 'val_acc'); the best-so-far chart and the status line follow ``y`` (higher is better).
        x_better: 'lower' or 'higher' x is better (the Pareto front's staircase).
        label: 'generation' or 'stage', as the method calls one ``generation`` event.
        x_title, y_title: axis titles. lineage_metrics: metrics printed in the lineage nodes
            (default: x and y).

    Attributes:
        status, scatter, best, lineage_view: the parts. lineage: every member seen (a :class:`Lineage`).
    """

    def __init__(self, x: str = "parameters", y: str = "val_acc", *, x_better: str = "lower",
                 label: str = "generation", x_title: str | None = None, y_title: str | None = None,
                 lineage_metrics: Sequence[str] | None = None):
        self.status = PopulationStatus(y, label)
        self.scatter = PopulationScatter(x, y, x_better=x_better, label=label, x_title=x_title, y_title=y_title)
        self.best = BestSoFar(y, label=label)
        self.lineage_view = LineageView()
        self.lineage = Lineage()
        self.y = y
        self.lineage_metrics = tuple(lineage_metrics) if lineage_metrics is not None else (y, x)
        super().__init__([self.status, self.scatter.figure, self.best.figure, self.lineage_view])
        self.add_class("nas-population-view")

    @property
    def listeners(self) -> list:
        return [self.status, self.scatter, self.best]

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.parent is None:
            self.lineage = Lineage()
            self.lineage_view.value = waiting_html("lineage: drawn when the run ends")
        elif event.kind == "generation":
            for member in event["population"]:
                self.lineage.add(member, event["index"])
        for listener in self.listeners:
            listener(event)
        if event.kind == "run_end" and event.parent is None and self.lineage.nodes:
            self.show_lineage()

    def best_member(self):
        """(id, generation) of the member with the best ``y`` in the latest generation."""
        last = max((n.generation for n in self.lineage.nodes.values() if n.generation is not None), default=None)
        members = [n for n in self.lineage.nodes.values() if n.generation == last]
        scored = [n for n in members if _number(n.metrics.get(self.y)) is not None] or members
        best = max(scored, key=lambda n: _number(n.metrics.get(self.y)) or 0.0)
        return best.id, best.generation

    def show_lineage(self, member_id=None, generation: int | None = None) -> None:
        """Draw the lineage of ``member_id`` (default: the best member of the latest generation)."""
        if member_id is None:
            member_id, generation = self.best_member()
        self.lineage_view.show(self.lineage, member_id, generation, metrics=self.lineage_metrics)


def _individual(item, role: str, caption: str | None) -> tuple[object, str]:
    """(architecture, caption) of a member record or an architecture; ``role`` starts the caption."""
    if isinstance(item, Mapping) and "genotype" in item:
        arch = architecture(item["genotype"])
        if arch is None:
            raise ToolkitError(f"member {item.get('id')!r}: its genotype is not a cell, cell pair or network "
                               "description")
        metrics = ", ".join(format_metric(k, v) for k, v in (item.get("metrics") or {}).items()
                            if _number(v) is not None)
        parents = f" · from {', '.join(str(p) for p in item['parents'])}" if item.get("parents") else ""
        head = html.escape(f"{role} {item.get('id', '')}{parents}") + (f"<br>{html.escape(metrics)}" if metrics else "")
        return arch, caption or head
    if isinstance(item, Mapping):
        arch = architecture(item)
        if arch is None:
            raise ToolkitError("not a cell, cell pair or network description: give a Genotype, CellPair, Network "
                               "or a member record {id, metrics, genotype}")
        return arch, caption or html.escape(role)
    return item, caption or html.escape(role)


def draw_crossover(parents: Sequence, children: Sequence, *, labels: Sequence[str] | None = None,
                   roles: tuple[str, str] = ("parent", "child")) -> w.GridBox:
    """Parents in the top row, the children made from them in the row below, drawn as in
    :mod:`toolkit.draw` at its one scale (a box too narrow for a row scrolls sideways).

    Works for cell pairs (ME-DARTS' crossover of normal and reduction α: ``g3 = (normal1, reduce2)``
    under ``g1``, ``g4 = (normal2, reduce1)`` under ``g2``) and for whole networks (TS-ENAS: every
    cell and the earlier cells it reads, drawn top to bottom); one parent and one child are shown
    side by side, e.g. a mutation or a pruning before and after (:func:`draw_mutation`).

    Args:
        parents, children: Genotype, CellPair or Network objects, their dicts, or member records
            ``{id, metrics, genotype, parents}`` (captioned with the id, parents and metrics).
        labels: captions, parents' first then children's (default: the role, and for member records
            the id, parents and metrics).
        roles: the words that start the default captions.

    Returns:
        an ipywidgets ``GridBox`` of :class:`~widgets.cells.CellView` drawings.
    """
    items = [*parents, *children]
    if not parents or not children:
        raise ToolkitError("draw_crossover needs at least one parent and one child")
    if labels is not None and len(labels) != len(items):
        raise ToolkitError(f"draw_crossover: {len(labels)} labels for {len(items)} drawings (parents, then children)")
    views = []
    for i, item in enumerate(items):
        arch, caption = _individual(item, roles[0] if i < len(parents) else roles[1],
                                    html.escape(labels[i]) if labels else None)
        overlay = {"rankdir": "TB"} if isinstance(arch, Network) else {}  # networks run downwards: rows fit
        view = CellView(arch, caption, **overlay)
        view.layout = w.Layout(overflow="visible", margin="0 16px 8px 0")
        views.append(view)
    one_row = len(parents) == 1 and len(children) == 1
    columns = len(views) if one_row else max(len(parents), len(children))
    if not one_row:  # children start a new row
        views = views[:len(parents)] + [w.HTML("")] * (columns - len(parents)) + views[len(parents):]
    grid = w.GridBox(views, layout=w.Layout(grid_template_columns=f"repeat({columns}, max-content)",
                                            overflow="auto", max_width="100%"))
    grid.add_class("nas-crossover")
    return grid


def draw_mutation(before, after, *, labels: Sequence[str] | None = None) -> w.GridBox:
    """One individual before and after a mutation or pruning, side by side (see :func:`draw_crossover`)."""
    return draw_crossover([before], [after], labels=labels, roles=("before", "after"))


def population_view(**options) -> PopulationView:
    """A live population view; pass it as a listener of an evolutionary run."""
    return PopulationView(**options)
