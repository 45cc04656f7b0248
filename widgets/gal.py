"""DARTS-GAL in the notebook: a λ panel, live masks and losses, before/after cells and a λ sweep plot.

* :class:`GalLiveView` follows a :func:`toolkit.gal.run_gal` run: the mask values of every node
  (a heatmap of the current values and one line per node over the generator updates), the four
  losses of eqs. 4-7, and the test accuracy of the baseline and of the retrained pruned network.
* :class:`GalView` is that view inside the one run panel (:func:`gal_panel`, a
  :class:`widgets.panel.RunPanel` with the λ slider, the mask-training and training epochs and
  Run / Stop / Resume): it shows the kept-nodes table and the cells before and after pruning when a
  run ends. The first run trains the baseline; later runs with the same training settings reuse it,
  so moving λ only repeats mask training, pruning and retraining.
* :func:`pruning_view` draws every cell before (masks in the nodes, removed nodes greyed) and
  after pruning, side by side (kept nodes keep their numbers); :func:`sweep_plot` plots parameters
  against accuracy across λ, and :class:`SweepProgress` follows a running sweep.

The status line names the stage (baseline training, mask training, retraining), the accuracy
chart gives every stage its own shaded band on one x axis, and a new run clears the previous
run's curves, table and drawings.

Example:
    >>> panel = gal_panel(GalConfig(reductions=(2, 3)), PUBLISHED["DARTS_V2"])  # doctest: +SKIP
    >>> panel  # shows it; press Run, or ``result = await panel.run()`` in a cell  # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as w
import plotly.graph_objects as go

from toolkit.errors import ToolkitError
from toolkit.events import Event
from toolkit.gal import GalConfig, GalReport, GalResult, SweepPoint, orphaned_nodes

from .cells import CellView
from .figure import LiveFigure
from .live import HALF_WIDTH, RunStatus
from .plots import PALETTE, HeatmapPlot, LinePlot, Throttle, base_layout
from .runner import error_html

WIDE = {"description_width": "initial"}
HALF = HALF_WIDTH  # side-by-side charts: a plotly chart does not shrink to a half-width box
# Fields that decide the baseline: when they are unchanged a panel reuses its trained baseline.
BASELINE_FIELDS = ("dataset", "data_dir", "image_size", "epochs", "batch_size", "seed", "lr", "lr_min", "momentum",
                   "weight_decay", "grad_clip", "channels", "cells", "reductions", "auxiliary_weight", "drop_path",
                   "dropout")


def node_labels(masks: Sequence[Sequence[float]]) -> list[str]:
    """``cell 1 node 2``, ``cell 1 node 3``, ...: one label per (cell, node) in the order of the flattened masks
    (DARTS numbering: nodes 0 and 1 are the cell inputs, intermediate nodes count from 2)."""
    return [f"cell {c} node {i + 2}" for c, cell in enumerate(masks, start=1) for i in range(len(cell))]


DASHES = ("solid", "dot", "dash", "dashdot", "longdash", "longdashdot")


class MaskLines:
    """One line per node: its mask value after every generator update (x in epochs).

    Colour tells the cell, the dash pattern the node; hovering a line names it. The chart is rebuilt
    at each mask-training ``run_start``, which says how many cells and nodes there are.
    """

    def __init__(self, height: int = 340):
        self.height = height
        self.plot = self._new_plot([])
        self.caption = w.HTML("")
        self.widget = w.VBox([self.plot.figure, self.caption])

    def _new_plot(self, masks: Sequence[Sequence[float]]) -> LinePlot:
        labels = node_labels(masks)
        cells = [c for c, cell in enumerate(masks) for _ in cell]
        nodes = [i for cell in masks for i in range(len(cell))]
        styles = {label: {"line": {"color": PALETTE[c % len(PALETTE)], "dash": DASHES[i % len(DASHES)], "width": 1.5}}
                  for label, c, i in zip(labels, cells, nodes, strict=True)}
        for label in labels:  # every line names itself on hover
            styles[label]["hovertemplate"] = f"{label}: mask %{{y:.3f}} at epoch %{{x:.2f}}<extra></extra>"
        plot = LinePlot(labels, kinds=(), title="mask value of every node (0 = pruned)", yaxis_title="mask s",
                        height=self.height, mode="lines", styles=styles, xaxis_title="mask-training epoch")
        plot.figure.update_layout(width=HALF, showlegend=False)  # 20 lines: the key below and hover name them
        return plot

    @staticmethod
    def key(masks: Sequence[Sequence[float]]) -> str:
        """The colour key: one coloured name per cell, and the dash pattern of each node."""
        cells = " ".join(f"<span style='color:{PALETTE[c % len(PALETTE)]}'>■ cell {c + 1}</span>"
                         for c in range(len(masks)))
        width = max((len(m) for m in masks), default=0)
        dashes = ", ".join(f"node {i + 2} {DASHES[i % len(DASHES)]}" for i in range(width))
        return f"<small>colour = cell: {cells}<br>line = node: {dashes} (hover a line for its name)</small>"

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and "masks" in event.data:
            self.plot = self._new_plot(event["masks"])
            self.caption.value = self.key(event["masks"])
            self.widget.children = [self.plot.figure, self.caption]
        elif event.kind == "masks":
            x = event["epoch"] - 1 + event["step"] / max(event["steps"], 1)
            self.plot.stream(x, dict(zip(self.plot.labels, _flat(event["masks"]), strict=False)))
        elif event.kind == "run_end":
            self.plot.flush()


def _flat(masks: Sequence[Sequence[float]]) -> list[float]:
    return [float(v) for cell in masks for v in cell]


class MaskHeatmap:
    """The current mask values as a cells x nodes heatmap (redrawn at most every half second)."""

    def __init__(self, height: int = 300):
        self.heatmap = HeatmapPlot(["masks"], title="current masks (rows: cells, columns: nodes)", zmin=0.0,
                                   zmax=1.5, colorscale="Blues", height=height)
        self.figure = self.heatmap.figure
        self.figure.update_layout(width=HALF)
        self._throttle = Throttle(0.5)
        self._rows: list[str] = []

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and "masks" in event.data:
            cells = event.get("cell_types") or ["cell"] * len(event["masks"])
            self._rows = [f"{k} {t}" for k, t in enumerate(cells, start=1)]
            width = max((len(m) for m in event["masks"]), default=0)
            self.heatmap.set_axes([f"node {i + 2}" for i in range(width)], self._rows)
            self.heatmap.update(event["masks"])
        elif event.kind in ("masks", "run_end") and "masks" in event.data:
            if self._throttle.ready(force=event.kind == "run_end"):
                self.heatmap.update(event["masks"])


STAGES = {"baseline": ("baseline training", "baseline", "#1f77b4"),
          "gal masks": ("mask training", "masks", "#ff7f0e"),
          "retrain": ("retraining the pruned network", "retrain", "#2ca02c")}
STAGE_KINDS = ("train", "prune")  # the run kinds of the stages; a whole DARTS-GAL run holds them


def stage_title(event: Event) -> str:
    """'stage 2/3: mask training (λ=12)' for a stage's ``run_start`` event."""
    name = event.get("name", "run")
    if name not in STAGES:
        return name
    lam = (event.get("config") or {}).get("lam")
    suffix = f" (λ={lam:g})" if lam is not None and name != "baseline" else ""
    return f"stage {list(STAGES).index(name) + 1}/3: {STAGES[name][0]}{suffix}"


class StageAccuracy:
    """Accuracy per epoch of each stage: the baseline and the retrained network on the test split, the
    masked network on the validation images its mask training held out (they decide a collapse).

    The stages follow each other on one x axis (epochs since the run started), each in its own
    shaded band, so a baseline epoch is never drawn on top of a retraining epoch.
    """

    def __init__(self, height: int = 300):
        self.plot = LinePlot([], title="accuracy per stage (masks: validation)", yaxis_title="accuracy", height=height,
                             xaxis_title="epoch (shaded: baseline · masks · retrain)")
        self.figure = self.plot.figure
        self.figure.update_layout(width=HALF)
        self.reset()

    def reset(self) -> None:
        """Forget the previous run: no points, no bands."""
        self.plot.clear()
        self.figure.layout.shapes, self.figure.layout.annotations = (), ()
        self.stage, self.offset, self.end = "run", 0, 0

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.run_kind in STAGE_KINDS:  # not a run made of stages
            name = event.get("name", "run")
            lam = (event.get("config") or {}).get("lam")
            self.stage = name if name == "baseline" or lam is None else f"{STAGES.get(name, (0, name))[1]} λ={lam:g}"
            self.offset, self.end = self.end, self.end + int(event.get("epochs", 0))
            _, short, color = STAGES.get(name, (name, name, "#7f7f7f"))
            self.figure.add_vrect(x0=self.offset + 0.5, x1=self.end + 0.5, fillcolor=color, opacity=0.08,
                                  line_width=0, annotation_text=short, annotation_position="top left")
        elif event.kind == "epoch_end" and ("test_acc" in event.data or "val_acc" in event.data):
            key = "test_acc" if "test_acc" in event.data else "val_acc"
            self.plot.add(self.offset + event["epoch"], **{self.stage: event[key]})


class GalStatus(RunStatus):
    """The run status with the stage in front: 'stage 2/3: mask training (λ=12) · epoch 3/5 ...'.

    A collapsed mask training shows its message (what happened and the λ to try) in red.
    """

    def __init__(self):
        super().__init__()
        self.stage = ""

    def set_text(self, text: str, color: str | None = None) -> None:
        super().set_text(f"<b>{html.escape(self.stage)}</b> · {text}" if self.stage else text, color)

    def where(self) -> str:
        """The stage's own progress ('3/10 steps · ') when the stages share one bar; the stage is named in front."""
        run = self.tree.current
        return f"{min(run.done, run.total)}/{run.total} steps · " if self.tree.nested else ""

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" or (event.kind == "run_end" and event.run_kind not in STAGE_KINDS):
            self.stage = stage_title(event) if event.run_kind in STAGE_KINDS else ""  # a whole run: no stage
        super().__call__(event)
        if event.kind == "run_end" and event.get("message"):
            self.set_text(html.escape(event["message"]), "#b00020")


class SweepProgress(w.VBox):
    """Progress of a λ sweep: which λ runs now, which stage, and a bar over all of the sweep's steps.

    Pass it as a listener: ``lambda_sweep(baseline, config, lams, data=data, listeners=(progress,))``.
    """

    def __init__(self, lams: Sequence[float]):
        self.lams = [float(v) for v in lams]
        self.bar = w.IntProgress(value=0, min=0, max=len(self.lams), layout=w.Layout(width="100%"))
        self.line = w.HTML(f"λ sweep over {', '.join(f'{v:g}' for v in self.lams)}: waiting to start")
        super().__init__([self.bar, self.line])
        self.done, self._lam, self._stage = 0, None, ""
        self._stage_runs: set[str | None] = set()  # a whole run's run_end, after its stages', is not counted

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.get("name") in STAGES:
            self._stage_runs.add(event.run_id)
            lam = (event.get("config") or {}).get("lam")
            if event["name"] == "gal masks":
                self._lam = lam
            self._stage = STAGES[event["name"]][0]
            self._show()
        elif event.kind == "epoch_end":
            self._show(f" · epoch {event['epoch']}")
        elif event.kind == "run_end" and event.run_id in self._stage_runs and (
                event.get("status") != "finished" or self._stage.startswith("retrain")):
            self.done += 1
            self.bar.value = min(self.done, self.bar.max)
            if self.done == len(self.lams):
                self.bar.bar_style = "success"
                self.line.value = f"λ sweep done: {len(self.lams)} values"
            else:
                self._show()

    def _show(self, detail: str = "") -> None:
        position = min(self.done + 1, len(self.lams))
        lam = f"λ={self._lam:g}" if self._lam is not None else "λ"
        self.line.value = f"λ sweep: run {position}/{len(self.lams)} ({lam}) · {self._stage}{detail}"


class GalLiveView(w.VBox):
    """What a DARTS-GAL run shows while it runs: masks, the four losses, accuracies (one listener).

    Attributes:
        masks, heatmap: the mask lines and heatmap; adversarial, generator: the losses
        (d_loss and adv_loss; data_loss and reg_loss); accuracy: test accuracy per stage.
    """

    def __init__(self, *, status: bool = True):
        self.status = GalStatus() if status else None
        self.masks, self.heatmap, self.accuracy = MaskLines(), MaskHeatmap(), StageAccuracy()
        self.adversarial = LinePlot(["d_loss", "adv_loss"], kinds=("masks",), title="adversarial losses (eqs. 4-5)",
                                    height=260, mode="lines")
        self.generator = LinePlot(["data_loss", "reg_loss"], kinds=("masks",),
                                  title="data loss (eq. 6) and regularisation (eq. 7)", height=260, mode="lines")
        for plot in (self.adversarial, self.generator):
            plot.figure.update_layout(width=HALF)
        rows = [w.HBox([self.masks.widget, self.heatmap.figure]),
                w.HBox([self.generator.figure, self.adversarial.figure]), w.HBox([self.accuracy.figure])]
        super().__init__(([self.status] if self.status else []) + rows)
        self.add_class("nas-gal-view")

    @property
    def listeners(self) -> list:
        parts = [self.status, self.masks, self.heatmap, self.adversarial, self.generator, self.accuracy]
        return [p for p in parts if p is not None]

    def reset(self) -> None:
        """Clear the previous run's curves before a new run starts."""
        self.adversarial.clear()
        self.generator.clear()
        self.accuracy.reset()

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and event.run_kind == "prune":
            self.adversarial.clear()
            self.generator.clear()
        for listener in self.listeners:
            listener(event)


def partial_note(result: GalResult, config: GalConfig) -> str:
    """One line saying that a stopped run's figures are partial ('' for a complete run).

    A Stop during retraining still gives a report, but its accuracy after pruning comes from a network
    trained for fewer epochs than the baseline; a Stop earlier leaves no report at all.
    """
    if result.status != "stopped" or result.report is None:
        return ""
    done = len(result.history.get("retrain", ()))
    if done >= config.epochs:
        return ""
    return (f"partial: the retraining was stopped after {done} of {config.epochs} epoch(s), so the accuracy "
            "after pruning is that of a network trained for fewer epochs than the baseline")


def report_text(result: GalResult, config: GalConfig) -> str:
    """The report as text (kept nodes, parameters, accuracy) with the partial note after a Stop, or why none."""
    if result.report is None:
        return result.message if result.status == "collapsed" else f"{result.status} before pruning: no report"
    note = partial_note(result, config)
    return f"{result.report}\n{note}" if note else str(result.report)


def report_html(report: GalReport) -> str:
    """The kept-nodes table (the paper's Table 1 layout) and the before/after figures as HTML."""
    def nodes(values):
        return ", ".join(map(str, values)) if values else "None"

    rows = "".join(
        f"<tr><td>{r.cell}</td><td>{r.type}</td><td><b>{nodes(r.kept)}</b></td>"
        f"<td>{nodes(r.orphaned) if r.orphaned else '–'}</td><td>{' '.join(f'{v:.2f}' for v in r.masks)}</td></tr>"
        for r in report.rows)
    head = ("<tr><th>cell</th><th>type</th><th>kept nodes</th><th>orphaned (lost all inputs)</th>"
            "<th>masks (nodes 2, 3, ...)</th></tr>")
    summary = "<br>".join(html.escape(line) for line in report.summary().splitlines())
    style = "<style>.nas-gal-table td, .nas-gal-table th {padding: 2px 12px; text-align: left}</style>"
    return (f"{style}<table class='nas-gal-table' style='border-collapse:collapse'>{head}{rows}</table>"
            f"<p style='margin-top:6px'>{summary}</p>")


def pruning_view(result: GalResult) -> w.VBox:
    """Every cell before pruning (mask values in the nodes, removed nodes greyed) and, below it, after.

    One above the other: a cell drawn at the common drawing scale is wider than half the output area.
    """
    if result.network is None:
        raise ToolkitError("the run stopped before pruning; there is no pruned network to draw")
    rows = []
    for k, (before, after, kept, masks) in enumerate(zip(result.baseline.network.cells, result.network.cells,
                                                         result.keep, result.masks, strict=True), start=1):
        kind = "reduction" if before.reduction else "normal"
        left = CellView(before.genotype, f"cell {k} ({kind}) before: masks in the nodes",
                        node_values=dict(enumerate(masks)), pruned=sorted(removed_nodes(before.genotype, kept)))
        kept_ids = ", ".join(map(str, after.genotype.node_ids)) or "None"
        right = CellView(after.genotype, f"cell {k} after: kept {kept_ids}")
        rows.append(w.VBox([w.Box([left]), w.Box([right])]))  # one cell: before, then after
    return w.VBox(rows)


def removed_nodes(genotype, kept) -> set[int]:
    """Nodes (0-based) pruning deletes: masked to zero, or left without inputs (:mod:`toolkit.gal.prune`)."""
    return set(range(len(genotype.nodes))) - set(kept) | set(orphaned_nodes(genotype, kept))


def lam_slider(value: float) -> w.FloatLogSlider:
    """λ on a log scale from 0.1 to 300 (in units of the data loss eq. 6; larger prunes more)."""
    return w.FloatLogSlider(value=max(value, 0.1), base=10, min=-1, max=2.5, step=0.05, description="λ (sparsity)",
                            readout_format=".3g", continuous_update=False, style=WIDE)


class GalView(GalLiveView):
    """DARTS-GAL's view in the run panel: the live view, then the kept-nodes table and the pruned cells.

    The first run trains the baseline; a later run with the same training settings
    (:data:`BASELINE_FIELDS`) reuses it, so moving λ only repeats mask training, pruning and retraining.

    Attributes:
        report: the kept-nodes table (HTML); cells: the cells before and after pruning.
    """

    def __init__(self):
        super().__init__()
        self.report = w.HTML("")
        self.cells = w.VBox([])
        self.children = (*self.children, self.report, self.cells)
        self._baseline, self._baseline_key = None, None

    @staticmethod
    def _key(config: GalConfig) -> tuple:
        return tuple(getattr(config, f) for f in BASELINE_FIELDS)

    def prepare(self, config: GalConfig, inputs: dict) -> dict:
        """The run's inputs: the trained baseline instead of the architecture when the training settings match."""
        self.report.value = (f"<i>The kept-node table and the pruned cells appear when this run "
                             f"(λ={config.lam:g}) finishes.</i>")
        if self._baseline is not None and self._baseline_key == self._key(config):
            return {**inputs, "architecture": None, "baseline": self._baseline}
        return inputs

    def reset(self) -> None:
        super().reset()
        self.cells.children = []

    def finish(self, result: GalResult, config: GalConfig) -> None:
        """Show the report and the pruned cells (or why there are none); remember the baseline."""
        trained = len(result.history.get("baseline", ())) >= config.epochs
        if result.baseline is not None and (result.status != "stopped" or trained):  # not one cut off by Stop
            self._baseline, self._baseline_key = result.baseline, self._key(config)
        if result.report is not None:
            note = partial_note(result, config)
            self.report.value = report_html(result.report) + (
                f"<p style='color:#b35900;font-weight:600'>{html.escape(note)}</p>" if note else "")
            self.cells.children = [pruning_view(result)]
        elif result.status == "collapsed":
            self.report.value = error_html(result.message)
        else:
            self.report.value = f"<i>The run {html.escape(result.status)} before pruning; nothing to report.</i>"


def gal_panel(config: GalConfig, architecture, *, data=None, baseline=None, run_dir=None):
    """The run panel of DARTS-GAL (:class:`widgets.panel.RunPanel` with :class:`GalView`): λ, mask-training and
    training epochs, retraining mode, Run / Stop / Resume (display it by leaving it last in a cell).

    Args:
        config: the run's settings (the controls start from it; other fields are kept).
        architecture: the cell pair or network to stack and prune.
        data: preloaded dataset splits (default: load ``config.dataset`` in the run).
        baseline: an already-trained baseline to prune (skips baseline training).
        run_dir: where the panel's run folders go (default: a temporary folder).
    """
    from .panel import RunPanel

    inputs = {"baseline": baseline} if baseline is not None else {}
    return RunPanel("gal", config, data=data, run_dir=run_dir, architecture=architecture, **inputs)


GalPanel = gal_panel  # the one run panel, with DARTS-GAL's view


def sweep_plot(points: Sequence[SweepPoint], *, title: str = "λ sweep: parameters against test accuracy",
               height: int = 360) -> go.FigureWidget:
    """Parameters (x) against the retrained test accuracy (y), one marker per λ, plus the baseline.

    Points are joined in order of their parameter count; λ values that gave the same network
    share one marker.
    """
    if not points:
        raise ToolkitError("the sweep has no points; run lambda_sweep with at least one λ that does not collapse")
    merged: dict[tuple, list[float]] = {}
    for p in sorted(points, key=lambda p: (p.parameters_after, p.lam)):
        merged.setdefault((p.parameters_after, p.acc_after), []).append(p.lam)
    fig = LiveFigure(layout=base_layout(title, "parameters", "test accuracy", height))
    fig.add_scatter(x=[k[0] for k in merged], y=[k[1] for k in merged], mode="lines+markers+text",
                    text=["λ=" + ", ".join(f"{lam:g}" for lam in lams) for lams in merged.values()],
                    textposition="top center", name="pruned, retrained", marker={"size": 9, "color": PALETTE[0]},
                    line={"dash": "dot"})
    fig.add_scatter(x=[points[0].parameters_before], y=[points[0].acc_before], mode="markers+text", text=["baseline"],
                    textposition="bottom center", name="baseline",
                    marker={"size": 12, "symbol": "star", "color": PALETTE[3]})
    return fig
