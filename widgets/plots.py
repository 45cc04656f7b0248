"""Live plotly charts that listen to toolkit events (or take points by hand).

A chart owns one ``plotly.graph_objects.FigureWidget``, created once; new points are written to
its traces in place inside ``figure.batch_update()``, at most every ``min_interval`` seconds
(pending points are flushed at the end of each epoch and run), which keeps the browser fluid
even when a GPU run emits hundreds of steps a second.

A chart with no data shows a "waiting for ..." line instead of empty axes (whose default ranges,
such as accuracy from -1 to 6, would mislead), and every line has a legend entry and a hover label.

Example (a DARTS-GAL notebook plotting mask values and losses):
    >>> masks = LinePlot(kinds=("masks",), x="epoch", title="mask values")   # every numeric field
    >>> losses = LinePlot(["d_loss", "g_loss", "data_loss", "l1"], kinds=("epoch_end",))
    >>> memory = LinePlot(["peak_mb"], x="k", title="memory vs K")
    >>> memory.add(1, peak_mb=120.0); memory.add(4, peak_mb=45.0)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from numbers import Real

import plotly.graph_objects as go

from toolkit.events import Event

from .figure import LiveFigure

FLUSH_KINDS = ("epoch_end", "run_end", "masks", "generation")
WAITING = "waiting for the first epoch…"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")


def epoch_position(event: Event) -> float | None:
    """x of an event in epochs: the epoch number, or a fraction of it for a step (epoch 2, step 3/12 -> 1.25)."""
    if "step" in event.data and "steps" in event.data and "epoch" in event.data:
        return event["epoch"] - 1 + event["step"] / max(event["steps"], 1)
    return event.get("epoch")


def base_layout(title: str | None, xaxis_title: str | None, yaxis_title: str | None, height: int,
                width: int | None = None) -> dict:
    """The toolkit's plot style: white background, legend under the title, tight margins."""
    return {"title": {"text": title or "", "x": 0.02, "y": 0.98, "yanchor": "top", "font": {"size": 14}},
            "height": height, "width": width, "template": "plotly_white",
            "margin": {"l": 55, "r": 15, "t": 85 if title else 40, "b": 45},
            "xaxis": {"title": {"text": xaxis_title or ""}}, "yaxis": {"title": {"text": yaxis_title or ""}},
            "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "xanchor": "left"},
            "font": {"size": 12}}


def show_waiting(figure: go.FigureWidget, text: str | None) -> None:
    """Hide the axes and show ``text`` in the middle of an empty chart (None: show the axes again)."""
    waiting = text is not None
    with figure.batch_update():
        figure.update_xaxes(visible=not waiting)
        figure.update_yaxes(visible=not waiting)
        others = [a for a in figure.layout.annotations if a.name != "waiting"]  # e.g. a stage band's label
        figure.layout.annotations = others if not waiting else [*others,
            {"text": text, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False,
             "font": {"size": 14, "color": "#737373"}, "name": "waiting"}]


class Throttle:
    """True at most once every ``interval`` seconds (or when forced)."""

    def __init__(self, interval: float):
        self.interval = interval
        self.last = float("-inf")

    def ready(self, force: bool = False) -> bool:
        now = time.monotonic()
        if force or now - self.last >= self.interval:
            self.last = now
            return True
        return False


class ThrottledRedraw:
    """A chart whose data change under a lock, from any thread, and whose figure is redrawn at most
    once every ``min_interval`` seconds (or at once when forced): the browser gets one batched update
    per redraw, however fast the events come.

    A subclass calls :meth:`_init_redraw` in ``__init__``, sets ``self._dirty = True`` under
    ``self._lock`` after changing its data, then calls :meth:`_maybe_flush`; it implements
    ``_snapshot()`` (under the lock: a copy of what to draw) and ``_draw(snapshot)`` (outside the
    lock: the figure update).
    """

    def _init_redraw(self, min_interval: float) -> None:
        self._lock = threading.Lock()
        self._throttle = Throttle(min_interval)
        self._dirty = False

    def _maybe_flush(self, force: bool) -> None:
        if self._throttle.ready(force):
            self.flush()

    def flush(self) -> None:
        """Redraw now with every change collected so far (nothing to do when there is none)."""
        with self._lock:
            if not self._dirty:
                return
            snapshot = self._snapshot()
            self._dirty = False
        self._draw(snapshot)

    def _snapshot(self):
        raise NotImplementedError

    def _draw(self, snapshot) -> None:
        raise NotImplementedError


class LinePlot(ThrottledRedraw):
    """A line chart of named metrics, fed by events or by :meth:`add`.

    Args:
        metrics: what to plot. Each item is an event field name (read from events of ``kinds``)
            or a tuple ``(label, kind, field)`` to read one field from one event kind (e.g.
            ``("batch loss", "step", "loss")``). None plots every numeric field of matching
            events; list fields become one line per element (``masks[0]``, ``masks[1]``, ...).
        kinds: event kinds read for plain field names (empty: a chart fed by hand, see :meth:`stream`).
        x: the x value: an event field name, or a function of the event (default: position in
            epochs, fractional for steps).
        title, xaxis_title, yaxis_title, height, width: figure layout (width None: plotly's default).
        min_interval: seconds between browser updates while points stream in.
        mode: plotly scatter mode per trace ('lines', 'lines+markers', ...).
        styles: per-label trace properties, e.g. ``{"batch loss": {"opacity": 0.4}}``.
        layout: extra plotly layout properties, e.g. ``{"yaxis": {"dtick": 1}}``.
        waiting: what the chart says while it has no point (instead of empty axes).

    Attributes:
        figure: the ``FigureWidget`` to display.
    """

    def __init__(self, metrics: Sequence[str | tuple[str, str, str]] | None = None, *,
                 kinds: Sequence[str] = ("epoch_end",), x: str | Callable[[Event], float | None] = epoch_position,
                 title: str | None = None, xaxis_title: str | None = "epoch", yaxis_title: str | None = None,
                 height: int = 300, width: int | None = None, min_interval: float = 0.5, mode: str = "lines+markers",
                 styles: dict[str, dict] | None = None, layout: dict | None = None, waiting: str = WAITING):
        self.kinds = tuple(kinds)
        self.waiting = waiting
        self.x_name = xaxis_title or "x"
        self.x = x
        self.mode = mode
        self.styles = dict(styles or {})
        self.auto = metrics is None
        self.series: list[tuple[str, str | None, str]] = []  # (label, kind or None for any of kinds, field)
        self.figure = LiveFigure(layout=base_layout(title, xaxis_title, yaxis_title, height, width))
        if layout:
            self.figure.update_layout(layout)
        self._points: dict[str, tuple[list, list]] = {}
        self._init_redraw(min_interval)
        for m in metrics or ():
            self._add_series(*(m if isinstance(m, tuple) else (m, None, m)))
        self._is_waiting = True
        show_waiting(self.figure, waiting)

    def _add_series(self, label: str, kind: str | None, field: str) -> None:
        self.series.append((label, kind, field))
        self._points[label] = ([], [])
        color = PALETTE[(len(self.series) - 1) % len(PALETTE)]
        hover = f"{label}: %{{y:.4g}}<br>{self.x_name} %{{x:.3g}}<extra></extra>"  # names the line under the mouse
        props = {"mode": self.mode, "line": {"color": color}, "marker": {"size": 6}, "hovertemplate": hover}
        props |= self.styles.get(label, {})
        self.figure.add_scatter(x=[], y=[], name=label, **props)

    @property
    def labels(self) -> list[str]:
        return [label for label, _, _ in self.series]

    def points(self, label: str) -> tuple[list, list]:
        """The (x, y) points collected for one line (including any not yet flushed)."""
        xs, ys = self._points[label]
        return list(xs), list(ys)

    def __call__(self, event: Event) -> None:
        """Event listener: take the fields this chart plots from a matching event."""
        if event.kind == "run_end":
            self.flush()
            return
        x = self.x(event) if callable(self.x) else event.get(self.x)
        if x is None:
            return
        if self.auto and event.kind in self.kinds:
            self._discover(event)
        values = {}
        for label, kind, field in self.series:
            matches = event.kind == kind if kind else event.kind in self.kinds
            value = _field(event.data, field) if matches else None
            if value is not None:
                values[label] = value
        if values:
            self._append(x, values)
            self._maybe_flush(event.kind in FLUSH_KINDS)

    def _discover(self, event: Event) -> None:
        known = {field for _, _, field in self.series}
        for key, value in event.data.items():
            if key == self.x or isinstance(value, bool):
                continue
            if isinstance(value, Real) and key not in known:
                self._add_series(key, None, key)
            elif _is_number_list(value):
                for i in range(len(value)):
                    if f"{key}[{i}]" not in known:
                        self._add_series(f"{key}[{i}]", None, f"{key}[{i}]")

    def add(self, x, **values: float) -> None:
        """Add one point per named line by hand (lines are created on first use) and redraw."""
        self.stream(x, values)
        self.flush()

    def stream(self, x, values: Mapping[str, float]) -> None:
        """Add one point per named line by hand (lines are created on first use); the chart is redrawn
        at most every ``min_interval`` seconds, as for events, so call :meth:`flush` after the last."""
        for label in values:
            if label not in self._points:
                self._add_series(label, "", label)  # kind '' never matches an event
        self._append(x, dict(values))
        self._maybe_flush(False)

    def set_points(self, lines: Mapping[str, tuple[Sequence, Sequence]]) -> None:
        """Replace every point of the named lines (created on first use) by hand; call :meth:`flush`
        to redraw (a line whose last point moves, e.g. the best of a generation still being evaluated)."""
        for label in lines:
            if label not in self._points:
                self._add_series(label, "", label)  # kind '' never matches an event
        with self._lock:
            for label, (xs, ys) in lines.items():
                self._points[label] = (list(xs), [float(y) for y in ys])
            self._dirty = True

    def _append(self, x, values: dict) -> None:
        with self._lock:
            for label, value in values.items():
                xs, ys = self._points[label]
                xs.append(x)
                ys.append(float(value))
            self._dirty = True

    def _snapshot(self) -> list[tuple[list, list]]:
        return [self.points(label) for label in self.labels]

    def _draw(self, snapshot: list[tuple[list, list]]) -> None:
        """Write all collected points to the figure (one batched browser update)."""
        with self.figure.batch_update():
            for trace, (xs, ys) in zip(self.figure.data, snapshot, strict=True):
                trace.x, trace.y = xs, ys
            empty = not any(xs for xs, _ in snapshot)
            if empty != self._is_waiting:  # only a change of state goes to the browser
                self._is_waiting = empty
                show_waiting(self.figure, self.waiting if empty else None)

    def clear(self) -> None:
        """Forget all points (e.g. when a new run starts)."""
        with self._lock:
            for xs, ys in self._points.values():
                xs.clear()
                ys.clear()
            self._dirty = True
        self.flush()


def _field(data, field: str):
    """``data[field]``; ``name[i]`` reads element i of a list field."""
    if field.endswith("]") and "[" in field:
        name, index = field[:-1].split("[", 1)
        values = data.get(name)
        return values[int(index)] if _is_number_list(values) and int(index) < len(values) else None
    value = data.get(field)
    return value if isinstance(value, Real) and not isinstance(value, bool) else None


def _is_number_list(value) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(
        isinstance(v, Real) and not isinstance(v, bool) for v in value)


class HeatmapPlot:
    """A heatmap (or several side by side) whose values are replaced in place.

    Args:
        panels: one title per heatmap.
        x, y: column and row labels (shared by all panels).
        zmin, zmax: colour range, fixed so that colours mean the same at every update (None: fitted to
            the values each time, a relative scale; say so in the title).
        colorscale: plotly colour scale name. height, width: figure size in pixels.
        waiting: what the figure says while it has no values.

    Attributes:
        figure: the ``FigureWidget`` to display.
    """

    def __init__(self, panels: Sequence[str], x: Sequence[str] = (), y: Sequence[str] = (), *,
                 title: str | None = None, zmin: float | None = 0.0, zmax: float | None = 1.0,
                 colorscale: str = "Blues", height: int = 360, width: int | None = None, waiting: str = WAITING):
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels), horizontal_spacing=0.12)
        for i in range(len(panels)):
            fig.add_heatmap(z=[], x=list(x), y=list(y), zmin=zmin, zmax=zmax, colorscale=colorscale,
                            showscale=i == len(panels) - 1, row=1, col=i + 1,
                            hovertemplate="%{y} · %{x}: %{z:.3f}<extra></extra>")
            fig.update_yaxes(autorange="reversed", row=1, col=i + 1)
        fig.update_xaxes(tickangle=-45)
        fig.update_layout(template="plotly_white", height=height, width=width, title={"text": title or "", "x": 0.02},
                          margin={"l": 60, "r": 20, "t": 100 if title else 40, "b": 90}, font={"size": 12})
        fig.update_layout(title_font_size=14)
        self.waiting, self.height = waiting, height
        self.figure = LiveFigure(fig)
        self._panel_titles = list(self.figure.layout.annotations)
        self._is_waiting = None
        self._show_waiting(True)

    def _show_waiting(self, waiting: bool) -> None:
        if waiting == self._is_waiting:
            return
        self._is_waiting = waiting
        with self.figure.batch_update():
            self.figure.update_xaxes(visible=not waiting)
            self.figure.update_yaxes(visible=not waiting)
            self.figure.layout.annotations = self._panel_titles if not waiting else [
                {"text": self.waiting, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False,
                 "font": {"size": 14, "color": "#737373"}}]

    def set_axes(self, x: Sequence[str], y: Sequence[str]) -> None:
        """Relabel columns and rows of every panel; the figure grows so that every row keeps its label."""
        with self.figure.batch_update():
            for trace in self.figure.data:
                trace.x, trace.y = list(x), list(y)
            margin = self.figure.layout.margin
            self.figure.layout.height = max(self.height, margin.t + margin.b + 20 + 18 * len(y))

    def set_range(self, zmin: float, zmax: float) -> None:
        """The colour range of every panel (say in the title when it is not a fixed scale)."""
        with self.figure.batch_update():
            for trace in self.figure.data:
                trace.zmin, trace.zmax = zmin, zmax

    def update(self, *matrices: Sequence[Sequence[float]]) -> None:
        """Replace the values of the panels, in order (no values: the "waiting" text)."""
        with self.figure.batch_update():
            for trace, z in zip(self.figure.data, matrices, strict=False):
                trace.z = [list(row) for row in z]
            self._show_waiting(not any(len(z) for z in matrices))
