"""The live view of a differentiable search: curves, the α heatmap, skip counts and the derived cells.

:class:`LiveSearchView` is an ipywidgets box and an event listener at once: pass it to
``run_search(listeners=[view])`` or ``start_search(config, listeners=[view])`` and it follows
the run. What it shows, per DARTS epoch (``epoch_end`` event):

* loss and accuracy: every batch (throttled) and the epoch means on the w-half and the α-half;
* softmax(α) of every edge (rows) over the ops (columns), one heatmap per cell type, colours
  stretched to the epoch's range (or fixed 0..1), with an epoch slider to replay how the distribution sharpened;
* how many skip_connect edges the derived cells hold (the skip-connection collapse of DARTS shown
  in Fig. 9 of "Partial Connection Based on Channel Attention for Differentiable Neural
  Architecture Search", Y. Xue, J. Qin);
* the derived normal and reduction cells, redrawn each epoch.

Nodes are numbered as in the genotype text (0 = c_{k-2}, 1 = c_{k-1}, intermediate nodes 2, 3, ...).
A new run clears every part at its start; until its first epoch ends each part says it is waiting.
"""

from __future__ import annotations

import html
import threading

import ipywidgets as w

from toolkit.events import Event
from toolkit.run_tree import RunTree
from toolkit.space import SearchSpace

from .cells import CellView
from .plots import PALETTE, HeatmapPlot, LinePlot, Throttle

# Pixel widths that fit JupyterLab's output area at a 1280 px wide window (848 px in the browser test,
# tests/test_browser.py), two charts side by side; plotly widgets do not follow their box.
HALF_WIDTH, FULL_WIDTH = 400, 820
WAITING_CELLS = "derived cells: waiting for the first epoch…"


def edge_labels(space: SearchSpace) -> list[str]:
    """Row labels of α, ``input→node`` in the space's row order: ``0→2``, ``1→2``, ``0→3``, ``1→3``, ``2→3``, ...

    0 is c_{k-2}, 1 is c_{k-1}, intermediate nodes count from 2, as in the genotype text.
    """
    return [f"{src}→{node}" for node, src in space.edges]


class RunStatus(w.VBox):
    """A progress bar and a one-line status that follow a run's events (updated at most 10 times a second).

    Nested runs (DARTS-GAL stages, members of a population) share one bar: the root run's
    ``run_start`` sets it over all their steps and a step of any run in the tree advances it; the
    line names the current child run and its own progress. A run with no known parent restarts
    the bar, as a single run does.
    """

    def __init__(self):
        self.bar = w.IntProgress(value=0, min=0, max=1, description="", layout=w.Layout(width="100%"))
        self.line = w.HTML("ready")
        self.line.add_class("nas-status")
        super().__init__([self.bar, self.line])
        self._throttle = Throttle(0.1)
        self.tree = RunTree()

    def set_text(self, text: str, color: str | None = None) -> None:
        self.line.value = f'<span style="color:{color}">{text}</span>' if color else text

    def where(self) -> str:
        """'stage name · 3/10 steps · ' while a child run goes on, '' for a single run."""
        label = self.tree.current_label()
        return f"{html.escape(label)} · " if label else ""

    def __call__(self, event: Event) -> None:
        run = self.tree(event)
        root = self.tree.root
        if run is None:
            return
        epochs = f"/{run.epochs}" if run.epochs else ""
        if event.kind == "run_start" and run is root:
            self.bar.max = max(root.total, 1)
            self.bar.value = 0
            self.bar.bar_style = ""
            self.set_text(f"{html.escape(run.name)}: starting")
        elif event.kind == "run_start":
            self.set_text(f"{self.where()}starting")
        elif event.kind == "step":
            if self._throttle.ready():
                self.bar.value = min(root.done, self.bar.max)
                self.set_text(f"{self.where()}epoch {event['epoch']}{epochs} · step {event['step']}/{event['steps']} · "
                              f"batch loss {event['loss']:.3f}")
        elif event.kind == "epoch_end":
            self.bar.value = min(root.done, self.bar.max)
            shown = " · ".join(f"{k.replace('_', ' ')} {event[k]:.3f}" for k in
                               ("train_loss", "val_loss", "val_acc", "test_acc") if k in event.data)
            self.set_text(f"{self.where()}epoch {event['epoch']}{epochs} done · {shown}")
        elif event.kind == "run_end" and run is root:
            self.bar.value = self.bar.max if event["status"] == "finished" else min(root.done, self.bar.max)
            self.bar.bar_style = "success" if event["status"] == "finished" else "warning"
            self.set_text(f"{event['status']} after {event['epochs_done']} epoch(s)")
        elif event.kind == "run_end":
            self.bar.value = min(root.done, self.bar.max)
            self.set_text(f"{html.escape(run.name)} {event['status']} after {event['epochs_done']} epoch(s)")


class RunControls(w.VBox):
    """A Stop button and a :class:`RunStatus` for a widget that starts runs of its own (no run panel).

    Pass :attr:`status` to the run as a listener and call :meth:`attach` with the
    :class:`~widgets.runner.BackgroundRun`: Stop is enabled while the run goes on and asks it to end
    after its current step (the awaiting cell then gets the partial result); when the run ends the
    line says how it ended, with ``summary()`` (e.g. the epochs each method got) after it.

    Args:
        summary: returns a short text of what the run did so far ('' for none).
    """

    def __init__(self, summary=lambda: ""):
        self.summary = summary
        self.status = RunStatus()
        self.stop_button = w.Button(description="Stop", icon="stop", button_style="danger", disabled=True,
                                    tooltip="end the run after its current step; the cells below get what it did")
        self.stop_button.on_click(lambda _: self.stop())
        self.run = None
        super().__init__([w.HBox([self.stop_button]), self.status])
        self.add_class("nas-run-controls")

    def attach(self, run) -> None:
        """Follow ``run``: Stop enabled until it ends, then the final line."""
        self.run = run
        self.stop_button.disabled = False
        self.status.set_text("running…")
        run.add_done_callback(self._ended)

    def stop(self) -> None:
        if self.run is not None and not self.run.done:
            self.run.stop()
            self.status.set_text("stopping after the current step…")

    def _ended(self, run) -> None:
        self.stop_button.disabled = True
        summary = self.summary()
        if run.error is not None:
            self.status.set_text(f"failed: {html.escape(str(run.error))}", color="#b30000")
        else:
            self.status.set_text(f"{run.status}" + (f": {html.escape(summary)}" if summary else ""))
        self.status.bar.bar_style = {"finished": "success", "stopped": "warning"}.get(run.status, "danger")


class AlphaView(w.VBox):
    """softmax(α) heatmaps of the normal and reduction cells, with an epoch slider.

    Colours are stretched to the shown epoch's range by default, so the small moves of a short
    search show (on a fixed 0..1 scale every weight of a 3-epoch search sits near 1/ops and the map
    looks empty); the title says that the scale is relative and gives its range. The ``scale``
    buttons switch to a fixed 0..1 scale, on which a colour means the same weight at every epoch.
    """

    def __init__(self):
        self.heatmap = HeatmapPlot(["normal cell", "reduction cell"], width=FULL_WIDTH, zmin=0.0, zmax=1.0,
                                   title=self.title(None))
        self.epoch = w.IntSlider(value=0, min=0, max=0, description="epoch", continuous_update=True,
                                 layout=w.Layout(width="50%"))
        self.scale = w.ToggleButtons(options=[("stretched", "relative"), ("fixed 0..1", "fixed")],
                                     value="relative", description="colours",
                                     tooltips=["colours stretched to the shown epoch's range: small moves show",
                                               "colours on 0..1: the same colour means the same weight at every epoch"],
                                     style={"button_width": "100px", "description_width": "initial"})
        self.epoch.observe(self._on_epoch, names="value")
        self.scale.observe(lambda _: self._draw(self.epoch.value), names="value")
        self.history: list[dict] = []
        self._lock = threading.Lock()
        super().__init__([self.heatmap.figure, w.HBox([self.epoch, self.scale])])

    @staticmethod
    def title(epoch: int | None, ops: int | None = None, relative: tuple[float, float] | None = None) -> str:
        uniform = f", uniform = 1/{ops}" if ops else ""
        shown = f" after epoch {epoch}" if epoch else ""
        scale = (f"colour scale RELATIVE: stretched to {relative[0]:.3f}..{relative[1]:.3f}" if relative
                 else "colour scale fixed 0..1" if epoch else "colours: after the first epoch")
        return (f"softmax(α){shown} · rows: edge input→node (0 = c<sub>k-2</sub>, 1 = c<sub>k-1</sub>)"
                f"<br>{scale}{uniform}")

    def _on_epoch(self, change) -> None:
        self._draw(change["new"])

    def _draw(self, epoch: int) -> None:
        with self._lock:
            if not 1 <= epoch <= len(self.history):
                return
            alphas = self.history[epoch - 1]
        values = [v for kind in ("normal", "reduce") for row in alphas[kind] for v in row]
        relative = (min(values), max(values)) if self.scale.value == "relative" else None
        with self.heatmap.figure.batch_update():
            self.heatmap.figure.layout.title.text = self.title(epoch, len(alphas["normal"][0]), relative)
            self.heatmap.set_range(*(relative or (0.0, 1.0)))
            self.heatmap.update(alphas["normal"], alphas["reduce"])

    def reset(self) -> None:
        """Forget the history and show the waiting text (a new run is starting)."""
        with self._lock:
            self.history.clear()
        self.heatmap.figure.layout.title.text = self.title(None)
        self.heatmap.update([], [])
        self.epoch.max, self.epoch.value = 0, 0

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start" and "ops" in event.data:
            self.reset()
            self.heatmap.set_axes(list(event["ops"]), edge_labels(SearchSpace(tuple(event["ops"]), event["nodes"])))
        elif event.kind == "epoch_end" and "alphas" in event.data:
            follow = self.epoch.value == len(self.history)  # keep following unless the user scrubbed back
            with self._lock:
                self.history.append({k: [list(r) for r in v] for k, v in event["alphas"].items()})
            self.epoch.max = len(self.history)
            if follow:
                if self.epoch.value == len(self.history):
                    self._draw(self.epoch.value)
                else:
                    self.epoch.value = len(self.history)  # redraws through the observer


def loss_plot() -> LinePlot:
    """Batch loss (faint, throttled) and epoch-mean train/val loss against epochs."""
    return LinePlot([("batch loss", "step", "loss"), ("train loss", "epoch_end", "train_loss"),
                     ("val loss", "epoch_end", "val_loss"), ("test loss", "epoch_end", "test_loss")],
                    title="loss", yaxis_title="cross-entropy", width=HALF_WIDTH,
                    styles={"batch loss": {"mode": "lines", "opacity": 0.35}})


def accuracy_plot() -> LinePlot:
    """Batch accuracy (faint) and epoch-mean train/val accuracy against epochs."""
    return LinePlot([("batch acc", "step", "acc"), ("train acc", "epoch_end", "train_acc"),
                     ("val acc", "epoch_end", "val_acc"), ("test acc", "epoch_end", "test_acc")],
                    title="accuracy", yaxis_title="accuracy", width=HALF_WIDTH,
                    styles={"batch acc": {"mode": "lines", "opacity": 0.35}}, layout={"yaxis": {"range": [0, 1.02]}})


def skip_plot() -> LinePlot:
    """skip_connect edges in the derived normal/reduction cells per epoch (the collapse of ADARTS's Fig. 9).

    Counts are small integers and often equal, so the normal cell's line is wide under the
    reduction cell's dotted one, and the hover lists both.
    """
    styles = {"normal cell": {"line": {"color": PALETTE[0], "width": 4}, "marker": {"size": 12}},
              "reduction cell": {"line": {"color": PALETTE[1], "dash": "dot"},
                                 "marker": {"symbol": "square", "size": 6}}}
    return LinePlot([("normal cell", "epoch_end", "skip_normal"), ("reduction cell", "epoch_end", "skip_reduce")],
                    title="skip_connect edges in the derived cells", yaxis_title="edges", height=300,
                    width=HALF_WIDTH, styles=styles, layout={"yaxis": {"dtick": 1, "rangemode": "tozero"},
                                                             "xaxis": {"dtick": 1}, "hovermode": "x unified"})


def row(*parts: w.Widget) -> w.HBox:
    """Widgets side by side, each half the notebook column wide; they wrap on narrow screens."""
    boxes = [w.Box([p], layout=w.Layout(width=f"{HALF_WIDTH + 10}px", overflow="hidden")) for p in parts]
    return w.HBox(boxes, layout=w.Layout(flex_flow="row wrap"))


class LiveSearchView(w.VBox):
    """Everything a search shows while it runs, as one widget and one event listener.

    Args:
        status: include a progress bar and status line (a panel brings its own).
        alphas, skips, cells: include the α heatmap / the skip-count chart / the derived-cell drawing
            (a training run has none of them).

    Attributes:
        loss, accuracy, skips: the :class:`LinePlot` charts; alpha_view: the :class:`AlphaView`;
        cell_view: the :class:`CellView`; status: the :class:`RunStatus` (or None).
    """

    def __init__(self, *, status: bool = True, alphas: bool = True, skips: bool = True, cells: bool = True):
        self.status = RunStatus() if status else None
        self.loss, self.accuracy = loss_plot(), accuracy_plot()
        self.skips = skip_plot() if skips else None
        self.alpha_view = AlphaView() if alphas else None
        self.cell_view = CellView(waiting=WAITING_CELLS) if cells else None
        rows = [row(self.loss.figure, self.accuracy.figure)]
        if self.alpha_view:
            rows.append(self.alpha_view)
        if self.skips:
            rows.append(row(self.skips.figure))
        if self.cell_view:  # full width: a cell pair at the drawings' one scale is about 700 px wide
            rows.append(self.cell_view)
        super().__init__(([self.status] if self.status else []) + rows)
        self.add_class("nas-live-view")

    def reset(self) -> None:
        """Clear every chart and drawing of a previous run (each then says it is waiting)."""
        for plot in (self.loss, self.accuracy, self.skips):
            if plot is not None:
                plot.clear()
        if self.alpha_view:
            self.alpha_view.reset()
        if self.cell_view:
            self.cell_view.reset()

    @property
    def listeners(self) -> list:
        parts = [self.status, self.loss, self.accuracy, self.skips, self.alpha_view, self.cell_view]
        return [p for p in parts if p is not None]

    def __call__(self, event: Event) -> None:
        if event.kind == "run_start":
            self.reset()
        for listener in self.listeners:
            listener(event)


def live_curves(**options) -> LiveSearchView:
    """A live search view; pass it as a listener (``start_search(config, listeners=[view])``)."""
    return LiveSearchView(**options)


def training_curves() -> LiveSearchView:
    """Progress, loss and accuracy of a training run (``start_training(..., listeners=[view])``)."""
    return LiveSearchView(alphas=False, skips=False, cells=False)
