"""Live views of an evolutionary search (ME-DARTS, TS-ENAS): the population of every generation,
its Pareto front, the best validation accuracy so far, a member's lineage and crossover/mutation drawings.

:class:`PopulationView` is an ipywidgets box and an event listener at once: pass it to a run's
listeners (the run panel, :func:`widgets.panel.run_panel`, shows it for TS-ENAS, and
:class:`StagedPopulationView` for ME-DARTS) and it follows the ``member`` events (one member evaluated,
:class:`toolkit.event_types.MemberDone`) and the ``generation`` events
(:class:`toolkit.event_types.Generation`):

* a progress bar over the whole run and a line saying which generation and member is being
  trained, e.g. ``stage 2/3 · member 3/4 (s2-3) · 12/40 steps`` (totals from ``plan``);
* a scatter of every member, x = one metric (parameters), y = another (validation accuracy, what selects), one trace per
  generation (older generations faded), each member's point added as soon as its ``member`` event
  comes, the members of the Pareto front (the non-dominated members of "ME-DARTS" section III.C.3)
  ringed and joined by a step line when the generation ends, hover text naming the
  member, its metrics, parents and architecture (the trajectory plot of "TS-ENAS", Fig. 4b);
* the best validation accuracy per generation and so far ("TS-ENAS", Fig. 4a), moved by each member;
* the lineage of the best member, drawn when the run ends (or any member, :meth:`show_lineage`).

:func:`draw_crossover` shows parents above the children made from them (an α crossover of
"ME-DARTS"), :func:`draw_mutation` one individual before and after (a mutation or pruning of "TS-ENAS").

Papers: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo; "TS-ENAS: Two-Stage Evolution for Cell-based Network Architecture
Search", J. Zou, S. Wu, Y. Xia, W. Jiang, Z. Wu, J. Zheng.

Example:
    >>> me_darts = PopulationView(x="para_aug", x_better="higher", label="stage", plan=[8, 6, 4])  # doctest: +SKIP
    >>> ts_enas = PopulationView(x="parameters", y="val_acc")  # doctest: +SKIP
    >>> panel = run_panel("me-darts", config, data=data)  # the run panel shows StagedPopulationView  # doctest: +SKIP
"""

from __future__ import annotations

import html
import math
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from numbers import Real

import ipywidgets as w
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from toolkit.errors import ToolkitError
from toolkit.events import Event
from toolkit.genotype import CellPair, Genotype, Network
from toolkit.lineage import Lineage, draw_lineage, format_metric

from .cells import CellView, svg_html, waiting_html
from .figure import LiveFigure
from .live import FULL_WIDTH, HALF_WIDTH, RunStatus
from .plots import PALETTE, LinePlot, Throttle, ThrottledRedraw, base_layout, show_waiting

WAITING_GENERATION = "waiting for the first generation…"
FADED = 0.65  # earlier generations: lighter than the latest, still legible on white
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


GAP = 16  # px between drawings side by side


def drawing_width(value: str) -> int | None:
    """The width in px of the first SVG drawing in a widget's HTML (graphviz sizes are in pt)."""
    match = re.search(r"<svg[^>]*\swidth=\"([\d.]+)(pt|px)?\"", value)
    if match is None:
        return None
    return math.ceil(float(match.group(1)) * (4 / 3 if match.group(2) in (None, "pt") else 1))


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


def generation_color(k: int, n: int) -> str:
    """Colour of the k-th of n generations: the toolkit's palette, or a sequential scale (Viridis
    from dark blue to green; its pale yellow end is left out, it hardly shows on white) when there
    are more generations than palette colours."""
    if n <= len(PALETTE):
        return PALETTE[k]
    return sample_colorscale("Viridis", [0.85 * k / (n - 1)])[0]


def front_line(points: Sequence[tuple[float, float]], x_better: str) -> tuple[list, list, str]:
    """The Pareto front's points sorted by x and the plotly line shape of its staircase (the edge of
    the region it dominates): 'hv' when lower x is better, 'vh' when higher x is better; accuracy is
    always better higher."""
    xs, ys = zip(*sorted(points)) if points else ((), ())
    return list(xs), list(ys), "hv" if x_better == "lower" else "vh"


class PopulationScatter(ThrottledRedraw):
    """A scatter of every generation's members, x and y two of their metrics.

    Args:
        x, y: the metrics plotted (keys of each member's ``metrics``).
        x_better: 'lower' (fewer parameters is better) or 'higher' (ME-DARTS maximises para_aug);
            sets the shape of the Pareto front's step line.
        label: what a generation is called in the legend ('generation', 'stage').
        x_title, y_title: axis titles (default: the metric names).
        title: the chart's title (default: what is plotted, and whether a Pareto front is ringed).
        height, width: figure size in pixels.
        min_interval: seconds between browser updates.

    A ``member`` event (:class:`toolkit.event_types.MemberDone`) puts that member's point in its
    generation's trace at once; the generation's Pareto front is ringed when its ``generation``
    event comes, the only time the front is known.

    Attributes:
        figure: the ``FigureWidget`` to display. generations: the generation records received.
        running: the record of the generation being evaluated, its members so far (None between generations).
    """

    def __init__(self, x: str = "parameters", y: str = "val_acc", *, x_better: str = "lower",
                 label: str = "generation", x_title: str | None = None, y_title: str | None = None,
                 title: str | None = None, height: int = 400,
                 width: int | None = FULL_WIDTH, min_interval: float = 0.5):
        if x_better not in ("lower", "higher"):
            raise ToolkitError(f"x_better must be 'lower' or 'higher', got {x_better!r}")
        self.x, self.y, self.x_better, self.label = x, y, x_better, label
        self.title = title
        self.figure = LiveFigure(layout=base_layout(title or self._title(False), x_title or x, y_title or y,
                                                         height, width))
        self.figure.update_layout(legend={"itemclick": "toggle"}, hovermode="closest")
        self.generations: list[dict] = []
        self.running: dict | None = None
        self.on_pick: list[Callable[[object], None]] = []  # called with a member id when its point is clicked
        self._init_redraw(min_interval)
        self._waiting: str | None = WAITING_GENERATION
        show_waiting(self.figure, self._waiting)

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.parent is None:
            self.clear()
        elif event.kind == "generation":
            self.add(event.data)
            return
        elif event.kind == "member":
            self.add_member(event["index"], event["member"])
            return
        if self._dirty:
            self._maybe_flush(event.kind == "run_end")

    def add(self, generation: Mapping, flush: bool | None = None) -> None:
        """Take one generation record ``{index, population, pareto_front}`` (redrawn when the
        throttle allows, or now with ``flush=True``); it replaces the points its members' events put."""
        record = self._record(generation["index"], generation["population"], generation.get("pareto_front"))
        with self._lock:  # hover texts are made once here, not at every redraw
            self.generations.append(record)
            self.running = None
            self._dirty = True
        self._maybe_flush(bool(flush))

    def add_member(self, index: int, member: Mapping, flush: bool = False) -> None:
        """Take one member of generation ``index`` as soon as it is evaluated: its point joins that
        generation's trace (redrawn when the throttle allows, or now with ``flush=True``)."""
        part = self._record(index, [member], ())
        with self._lock:
            old = self.running
            if old is not None and old["index"] == index:  # new lists: a redraw may be reading the old ones
                part = {**part, **{k: old[k] + part[k] for k in ("x", "y", "ids", "hover")},
                        "metrics": sorted({*old["metrics"], *part["metrics"]})}
            self.running = {**part, "running": True}
            self._dirty = True
        self._maybe_flush(flush)

    def _record(self, index: int, population: Sequence[Mapping], front: Sequence | None) -> dict:
        """The points, ids, hover texts and front points of ``population`` (members without both metrics left out)."""
        members = [m for m in population if _number((m.get("metrics") or {}).get(self.x)) is not None
                   and _number((m.get("metrics") or {}).get(self.y)) is not None]
        on = set(front or ())
        points = [(float(m["metrics"][self.x]), float(m["metrics"][self.y])) for m in members]
        return {"index": index, "x": [p[0] for p in points], "y": [p[1] for p in points],
                "ids": [m["id"] for m in members], "hover": [_hover(m, self.x, self.y) for m in members],
                "front": [p for p, m in zip(points, members, strict=True) if m["id"] in on],
                "metrics": sorted({k for m in population for k in (m.get("metrics") or {})})}

    def _snapshot(self) -> list[dict]:
        return list(self.generations) + ([self.running] if self.running is not None else [])

    def _draw(self, gens: list[dict]) -> None:
        """Redraw every generation (one batched browser update)."""
        traces, n = [], len(gens)
        for k, gen in enumerate(gens):
            faded, name, color = k != n - 1, f"{self.label} {gen['index']}", generation_color(k, n)
            legend = n <= len(PALETTE) or k == 0 or k >= n - 4  # many generations: the first and the latest
            traces.append(go.Scatter(
                x=gen["x"], y=gen["y"], mode="markers", legendgroup=name, showlegend=legend,
                name=name + (" (so far)" if gen.get("running") else ""),
                opacity=FADED if faded else 1.0, hovertext=gen["hover"], hovertemplate="%{hovertext}<extra></extra>",
                marker={"color": color, "size": 8 if faded else 10,
                        "line": {"width": 0.5, "color": "white"}},
                customdata=gen["ids"]))
            if gen["front"]:
                xs, ys, shape = front_line(gen["front"], self.x_better)
                traces.append(go.Scatter(
                    x=xs, y=ys, mode="lines+markers", name=f"Pareto front, {name}", legendgroup=name,
                    showlegend=not faded, opacity=FADED if faded else 1.0, hoverinfo="skip",
                    line={"color": color, "shape": shape, "width": 1.5 if faded else 2.5},
                    marker={"symbol": "circle-open", "size": 16, "color": color if faded else "#252525",
                            "line": {"width": 2}}))
        with self.figure.batch_update():
            self.figure.data = ()
            self.figure.add_traces(traces)
            for trace in self.figure.data:
                if trace.mode == "markers":
                    trace.on_click(self._clicked)
            if self.title is None:
                self.figure.layout.title.text = self._title(any(g["front"] for g in gens))
            text = (WAITING_GENERATION if not gens else None if any(g["x"] for g in gens)
                    else self._no_metric(gens))
            if text != self._waiting:
                self._waiting = text
                show_waiting(self.figure, text)

    def _title(self, fronts: bool) -> str:
        ringed = " · the Pareto front ringed and joined" if fronts else ""
        return f"{self.y} vs {self.x}, one colour per {self.label}{ringed}"

    def _clicked(self, trace, points, _state=None) -> None:
        """A click on member points: tell every ``on_pick`` callback the first clicked member's id."""
        if points.point_inds:
            member_id = trace.customdata[points.point_inds[0]]
            for callback in self.on_pick:
                callback(member_id)

    def _no_metric(self, gens: list[dict]) -> str:
        names = sorted({k for g in gens for k in g["metrics"]})
        return (f"no member has both metrics '{self.x}' (x) and '{self.y}' (y); "
                f"the members' metrics are {', '.join(names) or 'none'}")

    def clear(self) -> None:
        """Forget every generation (a new run starts)."""
        with self._lock:
            self.generations.clear()
            self.running = None
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
    (higher is better, as for accuracy). A ``member`` event moves the point of its generation as soon
    as the member is evaluated (redrawn when the throttle allows); the ``generation`` event sets it to
    the best of the generation's population (after TS-ENAS' selection: its survivors).

    Attributes:
        plot: the LinePlot (``plot.figure`` to display). best: the best value so far (None before any).
        per_generation: the best value of each generation index (of the one being evaluated: so far).
    """

    def __init__(self, y: str = "val_acc", *, label: str = "generation", width: int | None = HALF_WIDTH,
                 min_interval: float = 0.5):
        self.y, self.label = y, label
        self.plot = best_plot(y, label=label, width=width)
        self.best: float | None = None
        self.per_generation: dict = {}
        self._throttle = Throttle(min_interval)
        self._dirty = False

    @property
    def figure(self) -> go.FigureWidget:
        return self.plot.figure

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.parent is None:
            self.best, self.per_generation, self._dirty = None, {}, False
            self.plot.clear()
            self.figure.update_yaxes(autorange=True)
        elif event.kind == "generation":
            self.add(event.data)
        elif event.kind == "member":
            self.add_member(event["index"], event["member"])
        elif self._dirty and self._throttle.ready(event.kind == "run_end"):
            self._draw()

    def add(self, generation: Mapping) -> None:
        """Take a generation record ``{index, population}`` and redraw now."""
        values = [v for m in generation["population"]
                  if (v := _number((m.get("metrics") or {}).get(self.y))) is not None]
        if not values:
            return
        self.per_generation[generation["index"]] = max(values)
        self.best = max(values) if self.best is None else max(self.best, *values)
        self._lines()
        self._throttle.ready(True)
        self._draw()

    def add_member(self, index, member: Mapping) -> None:
        """Take one member of generation ``index`` just evaluated (redrawn when the throttle allows)."""
        value = _number((member.get("metrics") or {}).get(self.y))
        if value is None:
            return
        self.per_generation[index] = max(self.per_generation.get(index, value), value)
        self.best = value if self.best is None else max(self.best, value)
        self._lines()
        self._dirty = True
        if self._throttle.ready():
            self._draw()

    def _lines(self) -> None:
        """Both lines from ``per_generation`` (the best so far: the running maximum in generation order)."""
        xs = sorted(self.per_generation)
        per = [self.per_generation[x] for x in xs]
        self.plot.set_points({"best so far": (xs, [max(per[:k + 1]) for k in range(len(per))]),
                              f"{self.label} best": (xs, per)})

    def _draw(self) -> None:
        self.plot.flush()
        self._dirty = False
        # plotly's autorange stretches a flat line over a wide, made-up range (-0.5..1 for accuracy)
        self.figure.update_yaxes(range=list(fit_range(list(self.per_generation.values()))), autorange=False)


def fit_range(values: Sequence[float], margin: float = 0.05, bounds: tuple[float, float] = (0.0, 1.0)
              ) -> tuple[float, float]:
    """An axis range around ``values``: ``margin`` either side, at least ``2 * margin`` wide, kept within
    ``bounds`` (accuracy: 0..1) when every value lies within them."""
    low, high = min(values) - margin, max(values) + margin
    if bounds[0] <= min(values) and max(values) <= bounds[1]:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return low, high


class PopulationStatus(RunStatus):
    """A :class:`RunStatus` that says which generation and which member is being trained
    (``stage 2/3 · member 3/4 (ind_7) · 12/40 steps``) and summarises each generation.

    Args:
        y: the metric summarised (best ``y`` of each generation; higher is better).
        label: what one ``generation`` event is called ('generation', 'stage').
        plan: member runs per generation, ``{index: count}`` or a list for indices 1, 2, ...; the
            line then gives totals (``stage 2/3 · member 3/4``); without it, ``stage 2 · member 3``.
        member_kind: the run kind of a member's run (e.g. 'search'); None: with a ``plan``, every
            direct child run of the root run is a member; without one, runs are not counted and
            the line names the current child run (e.g. a SuperNet's training).
    """

    def __init__(self, y: str = "val_acc", label: str = "generation", *,
                 plan: Mapping[int, int] | Sequence[int] | None = None, member_kind: str | None = None):
        super().__init__()
        self.y, self.label, self.member_kind = y, label, member_kind
        self.plan = dict(plan) if isinstance(plan, Mapping) else dict(enumerate(plan or (), start=1))
        self._restart()

    def _restart(self) -> None:
        self.generations, self.best = 0, None  # generations seen, (best y, member id) so far
        self.last_index: int | None = None
        self.members, self.member_run = 0, None  # member runs started since the last generation

    def _is_member(self, run) -> bool:
        if self.member_kind is not None:
            return run.kind == self.member_kind
        return bool(self.plan) and run.parent is not None and run.parent is self.tree.root

    def where(self) -> str:
        index = self.last_index + 1 if self.last_index is not None else min(self.plan) if self.plan else None
        parts = [f"{self.label} {index}" + (f"/{max(self.plan)}" if self.plan else "") if index is not None
                 else f"first {self.label}"]
        run = self.tree.current
        member = self.member_run
        if member is not None:
            count = self.plan.get(index) if index is not None else None
            text = f"member {self.members}" + (f"/{count}" if count else "")
            names = run.path[len(member.path) - 1:] if run is not None and member in _ancestry(run) else [member.name]
            names = [n for n in names if not n.startswith("member")]  # a run named 'member 3/4' says it already
            parts.append(text + (f" ({' › '.join(names)})" if names else ""))
            shown = run if run is not None and member in _ancestry(run) else member
            parts.append(f"{min(shown.done, shown.total)}/{shown.total} steps")
        elif self.tree.nested:
            parts.append(self.tree.current_label())
        return html.escape(" · ".join(parts)) + " · "

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.parent is None:
            self._restart()
        if event.kind == "run_start" and event.parent is not None:
            super().__call__(event)  # adds the run to the tree
            run = self.tree.runs.get(event.run_id)
            if run is not None and self._is_member(run):
                self.members += 1
                self.member_run = run
                self.set_text(f"{self.where()}starting")
            return
        if event.kind == "run_end" and event.parent is not None and self._ends_member(event):
            return
        if event.kind == "step" and self.tree.root is not None and event.run_id == self.tree.root.run_id:
            self.tree(event)
            if self._throttle.ready():
                self.bar.value = min(self.tree.root.done, self.bar.max)
                self.set_text(self.root_step_text(event))
            return
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
        self.last_index = event["index"]
        self.members, self.member_run = 0, None
        population = event["population"]
        scored = [(v, m["id"]) for m in population if (v := _number(m["metrics"].get(self.y))) is not None]
        best = max(scored, key=lambda s: s[0]) if scored else None
        if best and (self.best is None or best[0] > self.best[0]):
            self.best = best
        front = f" · front {len(event['pareto_front'])}" if event.get("pareto_front") else ""
        shown = f" · best {self.y} {best[0]:.3f} ({html.escape(str(best[1]))})" if best else ""
        total = f"/{max(self.plan)}" if self.plan else ""
        self.set_text(f"{self.label} {event['index']}{total} done · {len(population)} members{front}{shown}")


    def root_step_text(self, event: Event) -> str:
        """A step of the root run itself: one member evaluated (TS-ENAS), where the root's "epochs" are the
        generations 0, 1, ..., G (epoch = generation + 1): 'generation 1/4 · 3/8 evaluated · val_acc 0.812'."""
        root = self.tree.root
        total = f"/{root.epochs - 1}" if root.epochs else ""
        acc = f" · {self.y} {event['acc']:.3f}" if self.y in ("val_acc", "acc") and "acc" in event.data else ""
        return f"{self.label} {event['epoch'] - 1}{total} · {event['step']}/{event['steps']} evaluated{acc}"

    def _ends_member(self, event: Event) -> bool:
        """A member's run_end: 'stage 1/3 · member 3/4 finished', not 'search darts finished' (reads as the end)."""
        run = self.tree.runs.get(event.run_id)
        if run is None or run is not self.member_run:
            return False
        super().__call__(event)
        index = self.last_index + 1 if self.last_index is not None else min(self.plan) if self.plan else None
        label = f"{self.label} {index}" + (f"/{max(self.plan)}" if self.plan else "") if index is not None else ""
        count = self.plan.get(index) if index is not None else None
        member = f"member {self.members}" + (f"/{count}" if count else "")
        self.set_text(html.escape(" · ".join(p for p in (label, f"{member} {event['status']}") if p)))
        return True


def _ancestry(run) -> list:
    out = []
    while run is not None:
        out.append(run)
        run = run.parent
    return out


class LineageView(w.HTML):
    """A lineage drawing (an SVG in an HTML widget, so it can be replaced from a run's thread)."""

    def __init__(self, waiting: str = "lineage: drawn when the run ends"):
        super().__init__(waiting_html(waiting), layout=w.Layout(overflow="auto", max_width="100%"))
        self.add_class("nas-lineage-view")

    def show(self, lineage: Lineage, member_id, *, metrics=None, depth: int | None = None,
             label: str = "generation") -> None:
        """Draw the lineage of ``member_id`` (ToolkitError naming the known ids when it is unknown),
        ``depth`` generations back (None: all that fit the notebook width, left to right or else
        top to bottom; earlier generations are then marked "earlier…")."""
        full = lineage.ancestry(member_id, depth)
        gen = full.member.last_generation
        title = f"lineage of {full.member.id}" + (f" (in {label} {gen})" if gen is not None else "")
        try:
            for d in range(full.depth, 0, -1) if full.depth else (0,):
                tree = lineage.ancestry(member_id, d)
                for rankdir in ("LR", "TB"):
                    shown = title + (f" · last {d} {label}s" if tree.cut else "")
                    value = svg_html(draw_lineage(tree, metrics=metrics, title=shown, rankdir=rankdir,
                                                  label="gen" if label == "generation" else label))
                    if (drawing_width(value) or 0) <= FULL_WIDTH:
                        self.value = value
                        return
            self.value = value  # even one generation is too wide: the box scrolls
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
        x_title, y_title: axis titles.
        plan, member_kind: member runs per generation and the run kind of a member's run, for the
            status line (see :class:`PopulationStatus`).
        lineage_metrics: metrics printed in the lineage nodes (default: y and x).

    Attributes:
        status, scatter, best, lineage_view: the parts. lineage: every member seen (a :class:`Lineage`).
    """

    def __init__(self, x: str = "parameters", y: str = "val_acc", *, x_better: str = "lower",
                 label: str = "generation", x_title: str | None = None, y_title: str | None = None,
                 plan: Mapping[int, int] | Sequence[int] | None = None, member_kind: str | None = None,
                 lineage_metrics: Sequence[str] | None = None):
        self.status = PopulationStatus(y, label, plan=plan, member_kind=member_kind)
        self.scatter = PopulationScatter(x, y, x_better=x_better, label=label, x_title=x_title, y_title=y_title)
        self.best = BestSoFar(y, label=label)
        self.lineage_view = LineageView()
        self.pick = w.Dropdown(options=[], value=None, description="lineage of", layout=w.Layout(width="320px"))
        self.pick.observe(self._on_pick, names="value")
        self.scatter.on_pick.append(self.select)
        self.lineage = Lineage()
        self.last_population: list = []  # the members of the latest generation event
        self.y, self.label = y, label
        self.lineage_metrics = tuple(lineage_metrics) if lineage_metrics is not None else (y, x)
        self._quiet = False  # True while the run updates the dropdown's options
        hint = w.HTML("<span style='color:#737373'>or click a member in the scatter</span>")
        super().__init__([self.status, self.scatter.figure, self.best.figure, w.HBox([self.pick, hint]),
                          self.lineage_view])
        self.add_class("nas-population-view")

    @property
    def listeners(self) -> list:
        return [self.status, self.scatter, self.best]

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.parent is None:
            self.lineage, self.last_population = Lineage(), []
            self._set_options([])
            self.lineage_view.value = waiting_html("lineage: drawn when the run ends")
        elif event.kind == "generation":
            for member in event["population"]:
                self.lineage.add(member, event["index"])
            self.last_population = list(event["population"])
            self._set_options(self._choices())
        elif event.kind == "member":  # its point can be clicked at once: its lineage is known
            self.lineage.add(event["member"], event["index"])
            self._set_options(self._choices())
        for listener in self.listeners:
            listener(event)
        if event.kind == "run_end" and event.parent is None:
            if self.lineage.nodes:
                self.select(self.best_member())
            else:  # not "drawn when the run ends" under a run that has ended
                self.lineage_view.value = waiting_html(f"lineage: none, the run {event['status']} before its first "
                                                       f"{self.label} ended")

    def _choices(self) -> list[tuple[str, object]]:
        """(label, id) of every member seen, the latest generation first, best ``y`` first within one."""
        def order(node):
            value = _number(node.metrics.get(self.y))
            return (-(node.last_generation if node.last_generation is not None else -1),
                    -(value if value is not None else float("-inf")))
        return [(f"{node.id} · {self.label} {node.last_generation}"
                 + (f" · {format_metric(self.y, node.metrics[self.y])}" if self.y in node.metrics else ""), node.id)
                for node in sorted(self.lineage.nodes.values(), key=order)]

    def _set_options(self, options: list) -> None:
        self._quiet = True
        try:
            value = self.pick.value
            self.pick.options = options
            self.pick.value = value if any(value == v for _, v in options) else None
        finally:
            self._quiet = False

    def _on_pick(self, change) -> None:
        if not self._quiet and change["new"] is not None:
            self.show_lineage(change["new"])

    def select(self, member_id) -> None:
        """Draw the lineage of ``member_id`` and show it as chosen in the dropdown."""
        if self.pick.value == member_id:
            self.show_lineage(member_id)
        else:
            self.pick.value = member_id  # draws through the dropdown's observer

    def best_member(self):
        """The id of the member with the best ``y`` in the latest generation (None before any)."""
        population = self.last_population
        scored = [m for m in population if _number((m.get("metrics") or {}).get(self.y)) is not None] or population
        if not scored:
            return None
        return max(scored, key=lambda m: _number((m.get("metrics") or {}).get(self.y)) or 0.0)["id"]

    def show_lineage(self, member_id=None, depth: int | None = None) -> None:
        """Draw the lineage of ``member_id`` (default: the best member of the latest generation),
        ``depth`` generations back (None: as many as fit)."""
        member_id = self.best_member() if member_id is None else member_id
        if member_id is None:
            raise ToolkitError("no generation yet: the lineage is known once the first generation is done")
        self.lineage_view.show(self.lineage, member_id, metrics=self.lineage_metrics, depth=depth, label=self.label)


class StagedPopulationView(PopulationView):
    """ME-DARTS' view in the run panel: one colour per stage (x ``para_aug``, maximised, y validation
    accuracy), and a status line counting the members of each stage of the config's plan.

    Args:
        config: the :class:`~toolkit.medarts.MeDartsConfig` (its stages give the members per stage).
    """

    def __init__(self, config):
        super().__init__(x="para_aug", y="val_acc", x_better="higher", label="stage",
                         x_title="para_aug (parameters of the 20-cell network)", y_title="validation accuracy",
                         plan=[stage.population for stage in config.stages], member_kind="search")

    def prepare(self, config, inputs: dict) -> dict:
        """Before a run: follow the plan of the config it runs (a panel's stage plan may have changed)."""
        self.status.plan = dict(enumerate((stage.population for stage in config.stages), start=1))
        return inputs


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
    :mod:`toolkit.draw` at its one scale; when a row of drawings would be wider than the notebook
    (:data:`~widgets.live.FULL_WIDTH`), as many as fit go side by side, in order (parents first).

    Works for cell pairs (ME-DARTS' crossover of normal and reduction α: ``g3 = (normal1, reduce2)``
    under ``g1``, ``g4 = (normal2, reduce1)`` under ``g2``) and for whole networks (TS-ENAS: every
    cell and the earlier cells it reads, drawn top to bottom); one parent and one child are shown
    side by side when they fit, e.g. a mutation or a pruning before and after (:func:`draw_mutation`).

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
    drawn = [_individual(item, roles[0] if i < len(parents) else roles[1], html.escape(labels[i]) if labels else None)
             for i, item in enumerate(items)]
    names = [str(item.get("id")) if isinstance(item, Mapping) and "id" in item else f"{roles[0]} {i + 1}"
             for i, item in enumerate(parents)]
    for i, (arch, caption) in enumerate(drawn):
        if i >= len(parents) and (origin := cell_origins(arch, [a for a, _ in drawn[:len(parents)]], names)):
            caption += f"<br><i>{html.escape(origin)}</i>"
        overlay = {"rankdir": "TB"} if isinstance(arch, Network) else {}  # networks run downwards: rows fit
        view = CellView(arch, caption, **overlay)
        view.layout = w.Layout(overflow="visible", margin=f"0 {GAP}px 8px 0")
        views.append(view)
    one_row = len(parents) == 1 and len(children) == 1
    wanted = len(views) if one_row else max(len(parents), len(children))
    widest = max(drawing_width(v.value) or FULL_WIDTH for v in views)
    columns = max(1, min(wanted, (FULL_WIDTH + GAP) // (widest + GAP)))  # never wider than the notebook
    if columns == wanted and not one_row:  # parents in one row, their children in the next
        views = views[:len(parents)] + [w.HTML("")] * (columns - len(parents)) + views[len(parents):]
    grid = w.GridBox(views, layout=w.Layout(grid_template_columns=f"repeat({columns}, max-content)",
                                            max_width="100%"))
    grid.add_class("nas-crossover")
    return grid


def cell_origins(child, parents: Sequence, names: Sequence[str]) -> str:
    """'normal cell of p1 · reduction cell of p2' when each cell of a child cell pair is a cell of
    one of the parents (an α crossover, "ME-DARTS" section III.C.4); '' otherwise."""
    if not isinstance(child, CellPair):
        return ""
    parts = []
    for kind, word in (("normal", "normal cell"), ("reduce", "reduction cell")):
        source = [name for parent, name in zip(parents, names, strict=True)
                  if isinstance(parent, CellPair) and getattr(parent, kind) == getattr(child, kind)]
        if not source:
            return ""
        parts.append(f"{word} of {' = '.join(source)}")
    return " · ".join(parts)


def draw_mutation(before, after, *, labels: Sequence[str] | None = None) -> w.GridBox:
    """One individual before and after a mutation or pruning, side by side (see :func:`draw_crossover`).

    A network is drawn cell by cell, so an op or an input changed inside a cell would not show: the
    "after" caption lists every change (:func:`architecture_changes`), highlighted.
    """
    grid = draw_crossover([before], [after], labels=labels, roles=("before", "after"))
    changes = architecture_changes(_individual(before, "", None)[0], _individual(after, "", None)[0])
    view = grid.children[-1]
    listed = "<br>".join(html.escape(c) for c in changes) or "no change"
    width = drawing_width(view.value) or HALF_WIDTH  # the list wraps at the drawing's width: the grid stays as wide
    caption = view.caption + (f"<div style='color:{CHANGED};font-weight:normal;max-width:{width}px;"
                              f"white-space:normal'>changed: {listed}</div>")
    view.value = view.value.replace(f">{view.caption}</div>", f">{caption}</div>", 1)  # the drawing stays
    view.caption = caption
    return grid


CHANGED = "#d62728"  # the colour of what an operator changed


def _node_text(edges) -> str:
    return " + ".join(f"{op}({src})" for op, src in edges)


def cell_changes(before: Genotype, after: Genotype) -> list[str]:
    """What differs between two versions of a cell, node by node (nodes keep their numbers):
    'node 3: sep_conv_3x3(1) + skip_connect(0) → max_pool_3x3(1) + skip_connect(0)', 'node 4 removed'."""
    old, new = dict(zip(before.node_ids, before.nodes)), dict(zip(after.node_ids, after.nodes))
    changes = []
    for node in sorted(old.keys() | new.keys()):
        if node not in new:
            changes.append(f"node {node} removed")
        elif node not in old:
            changes.append(f"node {node} added: {_node_text(new[node])}")
        elif old[node] != new[node]:
            changes.append(f"node {node}: {_node_text(old[node])} → {_node_text(new[node])}")
    return changes


def architecture_changes(before, after) -> list[str]:
    """Every change from ``before`` to ``after`` (Genotype, CellPair or Network of the same shape), one line
    each, prefixed with the cell: 'cell 2 · node 3: ...', 'cell 4 reads states (1, 3) instead of (2, 3)'."""
    if isinstance(before, Genotype) and isinstance(after, Genotype):
        return cell_changes(before, after)
    if isinstance(before, CellPair) and isinstance(after, CellPair):
        return [f"{kind} cell · {c}" for kind in ("normal", "reduce")
                for c in cell_changes(getattr(before, kind), getattr(after, kind))]
    if isinstance(before, Network) and isinstance(after, Network) and len(before.cells) == len(after.cells):
        changes = []
        for k, (b, a) in enumerate(zip(before.cells, after.cells), start=1):
            if b.inputs != a.inputs:
                changes.append(f"cell {k} reads states {a.inputs} instead of {b.inputs}")
            changes += [f"cell {k} · {c}" for c in cell_changes(b.genotype, a.genotype)]
        return changes
    return ["the architectures differ in shape"]


def population_view(**options) -> PopulationView:
    """A live population view; pass it as a listener of an evolutionary run."""
    return PopulationView(**options)
