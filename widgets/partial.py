"""Widgets for partial channel connections (PC-DARTS, ADARTS): one edge up close, K sweeps, method races.

- :class:`EdgeExplorer`: the K slider and the edge mode on one supernet edge: which of its
  channels enter the mixed op (and, for ADARTS, their attention), and the activation memory the
  edge keeps for backward.
- :func:`channel_chart` / :func:`edge_channel_chart`: a bar per channel, the ones that entered the op
  highlighted (the picture of ADARTS paper Fig. 5/6).
- :class:`KSweep`: memory and step time against K, one line per method (ADARTS paper Fig. 10).
- :class:`ModeComparison`: DARTS, PC-DARTS and ADARTS searched with the same settings, side by side:
  a table, the skip_connect count per epoch (ADARTS paper Fig. 9) and the derived cells.

Example:
    >>> explorer = EdgeExplorer(C=16)          # doctest: +SKIP
    >>> explorer.k.value = 8; explorer.summary  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence

import ipywidgets as w
import plotly.graph_objects as go
import torch

from toolkit.config import K_VALUES, SearchConfig
from toolkit.edges import MixedOp
from toolkit.errors import ToolkitError
from toolkit.events import Event
from toolkit.genotype import CellPair
from toolkit.memory import SavedTensorMeter
from toolkit.partial import PartialChannelEdge
from toolkit.profile import profile_search
from toolkit.space import DARTS_OPS

from .cells import CellView
from .figure import LiveFigure
from .live import FULL_WIDTH, HALF_WIDTH, RunControls, row
from .plots import LinePlot, base_layout
from .runner import BackgroundRun

ENTERS, BYPASSES = "#ff7f0e", "#c7c7c7"
LABELS = {"darts": "DARTS", "pcdarts": "PC-DARTS", "adarts": "ADARTS"}
# One colour and marker per method, so overlapping lines stay apart (normal cells solid, reduction dotted).
METHOD_STYLE = {"darts": ("#1f77b4", "circle"), "pcdarts": ("#2ca02c", "diamond"), "adarts": ("#d62728", "square")}


def channel_chart(values: Sequence[float], selected: Sequence[int], *, title: str = "",
                  yaxis_title: str = "attention F_c", height: int = 260) -> go.FigureWidget:
    """One bar per channel; channels in ``selected`` (those that enter the mixed op) highlighted."""
    chosen = set(int(c) for c in selected)
    colors = [ENTERS if c in chosen else BYPASSES for c in range(len(values))]
    fig = LiveFigure(layout=base_layout(title, "channel", yaxis_title, height, FULL_WIDTH))
    fig.add_bar(x=list(range(len(values))), y=[float(v) for v in values], marker_color=colors,
                hovertemplate="channel %{x}: %{y:.3f}<extra></extra>", name="channels")
    fig.update_xaxes(dtick=1 if len(values) <= 32 else None)
    return fig


def edge_channel_chart(edge: PartialChannelEdge, *, title: str | None = None) -> go.FigureWidget:
    """The channels of an edge after its latest forward: batch-mean attention (ADARTS) or 1s (PC-DARTS)."""
    if edge.last_selected is None:
        raise ToolkitError("the edge has not run yet; pass a batch through the supernet first")
    if edge.last_attention is not None:
        values, label = edge.last_attention.float().mean(0).cpu().tolist(), "attention F_c (batch mean)"
    else:
        values, label = [1.0] * edge.C, "channel"
    title = title or f"{edge.mode} edge, K={edge.k}: {edge.op_channels} of {edge.C} channels enter the op"
    return channel_chart(values, edge.last_selected.cpu().tolist(), title=title, yaxis_title=label)


class EdgeExplorer(w.VBox):
    """The K slider and the edge mode on one supernet edge, with what each choice does.

    Args:
        C: channels of the edge. size: spatial size of the sample batch. batch: its size.
        ops: candidate ops of the edge. seed: seeds the edge's weights and the sample batch.

    Attributes:
        k: the K slider; mode: the edge mode buttons ('none', 'random', 'attention').
        figure: the channel bar chart; info: the text line.
        summary: a one-line text of the current state (what ``info`` shows, without markup).
        saved_bytes: bytes the edge's forward saved for backward at the current K and mode.
    """

    def __init__(self, C: int = 16, *, size: int = 8, batch: int = 8, ops: tuple[str, ...] = DARTS_OPS,
                 seed: int = 0):
        self.C, self.ops, self.seed = C, tuple(ops), seed
        generator = torch.Generator().manual_seed(seed)
        self.x = torch.randn(batch, C, size, size, generator=generator)
        self.alpha = torch.softmax(torch.randn(len(self.ops), generator=generator), 0)
        self.k = w.SelectionSlider(options=[k for k in K_VALUES if C % k == 0], value=4 if C % 4 == 0 else 1,
                                   description="K (1/K of channels)", style={"description_width": "initial"})
        self.mode = w.ToggleButtons(options=[("DARTS (all)", "none"), ("PC-DARTS (random)", "random"),
                                             ("ADARTS (attention)", "attention")], value="attention",
                                    style={"button_width": "150px"})
        self.info = w.HTML()
        self.figure = channel_chart([0.0] * C, [], title="channels of one edge")
        self.summary, self.saved_bytes = "", 0
        super().__init__([w.HBox([self.k, self.mode]), self.info, self.figure])
        self.k.observe(lambda _: self.update(), names="value")
        self.mode.observe(lambda _: self.update(), names="value")
        self.update()

    def build_edge(self) -> torch.nn.Module:
        torch.manual_seed(self.seed)
        if self.mode.value == "none":
            return MixedOp(self.C, 1, self.ops)
        return PartialChannelEdge(self.C, 1, self.ops, self.mode.value, self.k.value)

    def update(self) -> None:
        """Run the sample batch through the edge for the current K and mode and redraw."""
        edge = self.build_edge()
        with SavedTensorMeter(edge) as meter:
            edge(self.x, self.alpha).sum().backward()
        self.saved_bytes = meter.peak_bytes
        if isinstance(edge, PartialChannelEdge):
            selected = edge.last_selected.tolist()
            values = edge.last_attention.mean(0).tolist() if edge.last_attention is not None else [1.0] * self.C
        else:
            selected, values = list(range(self.C)), [1.0] * self.C
        shown = ", ".join(map(str, selected)) if len(selected) < self.C else "all"
        self.summary = (f"{self.mode.value}, K={self.k.value if self.mode.value != 'none' else 1}: "
                        f"{len(selected)} of {self.C} channels enter the op ({shown}); "
                        f"saved for backward: {self.saved_bytes / 1024:.1f} KiB")
        self.info.value = f"<code>{html.escape(self.summary)}</code>"
        attention = self.mode.value == "attention"
        chosen = set(selected)
        with self.figure.batch_update():
            self.figure.data[0].y = values
            self.figure.data[0].marker.color = [ENTERS if c in chosen else BYPASSES for c in range(self.C)]
            self.figure.layout.yaxis.title.text = "attention F_c (batch mean)" if attention else "channel"
            self.figure.layout.title.text = ("orange: enters the mixed op · grey: bypasses it"
                                             if len(selected) < self.C else "every channel enters the mixed op")


class KSweep(w.VBox):
    """Memory and step time of a search step against K, one line per method (ADARTS paper Fig. 10).

    Args:
        config: the base SearchConfig (method and k are set per point).
        data: DatasetSplits to search on (default: load ``config.dataset``).
        ks: the K values. methods: 'pcdarts', 'adarts' (and 'darts' for a K=1 reference point).
        steps: search steps per point (the first is measured for memory, the rest timed).

    Attributes:
        memory, time: the two :class:`LinePlot` charts. rows: one dict per point
        (see :func:`toolkit.profile.profile_search`).
    """

    def __init__(self, config: SearchConfig, data=None, *, ks: Sequence[int] = K_VALUES,
                 methods: Sequence[str] = ("pcdarts", "adarts"), steps: int = 3):
        self.config, self.data, self.ks, self.methods, self.steps = config, data, tuple(ks), tuple(methods), steps
        self.rows: list[dict] = []
        waiting = "waiting for the first measurement…"
        self.memory = LinePlot(title="activations saved for backward in one step", xaxis_title="K",
                               yaxis_title="MiB", width=HALF_WIDTH, waiting=waiting)
        self.time = LinePlot(title="time per search step (median)", xaxis_title="K", yaxis_title="seconds",
                             width=HALF_WIDTH, waiting=waiting)
        for plot in (self.memory, self.time):
            plot.figure.update_xaxes(type="log", tickvals=list(self.ks), ticktext=[str(k) for k in self.ks])
        self.controls = RunControls(lambda: f"{len(self.rows)} of {len(self.points())} points measured")
        super().__init__([self.controls, row(self.memory.figure, self.time.figure)])

    def points(self) -> list[tuple[str, int]]:
        return [(m, k) for m in self.methods for k in ((1,) if m == "darts" else self.ks)]

    def measure(self, method: str, k: int) -> dict:
        """Profile one (method, K) point and add it to the charts."""
        row = profile_search(dataclasses.replace(self.config, method=method, k=k), self.data, steps=self.steps)
        self.rows.append(row)
        self.memory.add(k, **{LABELS[method]: row["activation_mb"]})
        self.time.add(k, **{LABELS[method]: row["step_s"]})
        return row

    def run(self) -> BackgroundRun:
        """Measure every point in a background thread; ``.wait()`` returns the rows."""
        self.rows.clear()
        for plot in (self.memory, self.time):
            plot.clear()

        points = self.points()
        bar = self.controls.status.bar
        bar.max, bar.value, bar.bar_style = len(points), 0, ""

        def target(listeners, stop):
            for i, (method, k) in enumerate(points):
                if stop.requested:
                    break
                self.controls.status.set_text(f"point {i + 1}/{len(points)}: {LABELS[method]} at K={k}, "
                                              f"{self.steps} step(s)…")
                self.measure(method, k)
                bar.value = i + 1
            return self.rows

        run = BackgroundRun(target, name="k-sweep")
        self.controls.attach(run)
        return run

    def table(self) -> str:
        """The rows as aligned text: method, K, saved-activation MiB and its share of the method's K=1."""
        base = {r["method"]: r["activation_mb"] for r in self.rows if r["k"] == 1}
        lines = [f"{'method':9s} {'K':>3s} {'MiB':>8s} {'vs K=1':>7s}"]
        for r in self.rows:
            share = f"{100 * r['activation_mb'] / base[r['method']]:.0f}%" if r["method"] in base else "-"
            lines.append(f"{LABELS[r['method']]:9s} {r['k']:3d} {r['activation_mb']:8.2f} {share:>7s}")
        return "\n".join(lines)


class ModeComparison(w.VBox):
    """DARTS, PC-DARTS and ADARTS searched with the same settings, one after another, side by side.

    Args:
        config: the base SearchConfig (its method is replaced; its K is used by the partial methods).
        data: DatasetSplits (default: load ``config.dataset``).
        methods: which methods to run, in order.

    Attributes:
        skips: :class:`LinePlot` of skip_connect edges in the derived normal cell per epoch (solid)
            and reduction cell (dotted), one colour and marker per method; the methods' points are
            set slightly apart on the epoch axis so equal counts do not hide each other.
        views: one :class:`CellView` per method, one under the other at the drawings' one scale;
        results: method -> SearchResult.
        figures: method -> dict of the last epoch (skip counts, val acc, memory).
    """

    def __init__(self, config: SearchConfig, data=None, *, methods: Sequence[str] = ("darts", "pcdarts", "adarts")):
        self.config, self.data, self.methods = config, data, tuple(methods)
        self.results: dict = {}
        self.figures: dict[str, dict] = {}
        styles = self._skip_styles()
        self.skips = LinePlot([(label, "by hand", label) for label in styles],
                              title="skip_connect edges in the derived cells (solid: normal, dotted: reduction)",
                              xaxis_title="epoch (each method's points set slightly apart)", yaxis_title="edges",
                              height=340, width=FULL_WIDTH, styles=styles,
                              layout={"yaxis": {"dtick": 1, "rangemode": "tozero"}, "xaxis": {"dtick": 1}})
        self.views = {m: CellView(waiting=f"{LABELS[m]}: not run yet") for m in self.methods}
        self.table = w.HTML("")
        self.controls = RunControls(self._progress)
        super().__init__([self.controls, self.table, self.skips.figure, *self.views.values()])

    def _progress(self) -> str:
        """'DARTS 4 epoch(s), PC-DARTS 1 epoch(s), ADARTS not run': what each method got."""
        return ", ".join(f"{LABELS[m]} {len(self.results[m].history)} epoch(s)" if m in self.results
                         else f"{LABELS[m]} not run" for m in self.methods)

    def _skip_styles(self) -> dict[str, dict]:
        styles = {}
        for m in self.methods:
            color, symbol = METHOD_STYLE.get(m, ("#7f7f7f", "circle"))
            for cell, dash in (("normal", "solid"), ("reduce", "dot")):
                label = f"{LABELS[m]} {cell}"
                styles[label] = {"line": {"color": color, "dash": dash}, "marker": {"symbol": symbol, "size": 8},
                                 "hovertemplate": f"{label}: %{{y}} skip edges after epoch %{{x:.0f}}<extra></extra>"}
        return styles

    def _offset(self, method: str) -> float:
        """Where a method's points sit around the epoch: -0.1, 0, +0.1 for three methods."""
        return 0.1 * (self.methods.index(method) - (len(self.methods) - 1) / 2)

    def reset(self) -> None:
        """Clear the previous comparison (a new one is starting)."""
        self.results.clear()
        self.figures.clear()
        self.table.value = ""
        self.skips.clear()
        for m, view in self.views.items():
            view.caption = ""
            view.reset(f"{LABELS[m]}: waiting for its first epoch…")

    def config_for(self, method: str) -> SearchConfig:
        k = self.config.k if method != "darts" else 1
        return dataclasses.replace(self.config, method=method, k=k)

    def listener(self, method: str):
        def on_event(event: Event) -> None:
            if event.kind != "epoch_end":
                return
            label = LABELS[method]
            self.skips.add(event["epoch"] + self._offset(method), **{f"{label} normal": event["skip_normal"],
                                                                     f"{label} reduce": event["skip_reduce"]})
            self.figures[method] = {key: event.get(key) for key in
                                    ("epoch", "skip_normal", "skip_reduce", "val_acc", "activation_mb")}
            self.views[method].caption = f"{label} (K={self.config_for(method).k}) after epoch {event['epoch']}"
            self.views[method].show(CellPair.from_dict(dict(event["genotype"])))
            self.table.value = self.html_table()
        return on_event

    def run(self) -> BackgroundRun:
        """Run the searches one after another in a background thread; ``.wait()`` returns the results."""
        from toolkit.search import run_search

        self.reset()

        def target(listeners, stop):
            for method in self.methods:
                if stop.requested:
                    break
                self.results[method] = run_search(self.config_for(method), data=self.data, stop=stop,
                                                  listeners=(*listeners, self.listener(method)))
            return self.results

        run = BackgroundRun(target, (self.controls.status,), name="mode-comparison")
        self.controls.attach(run)
        return run

    def html_table(self) -> str:
        head = ("<tr><th>method</th><th>K</th><th>epoch</th><th>skips normal/reduce</th><th>val acc</th>"
                "<th>activations (MiB)</th></tr>")
        rows = []
        for m, f in self.figures.items():
            rows.append(f"<tr><td>{LABELS[m]}</td><td>{self.config_for(m).k}</td><td>{f['epoch']}</td>"
                        f"<td>{f['skip_normal']}/{f['skip_reduce']}</td><td>{100 * f['val_acc']:.1f}%</td>"
                        f"<td>{f['activation_mb']:.2f}</td></tr>")
        return f"<table style='border-spacing:14px 2px'>{head}{''.join(rows)}</table>"
