"""A panel comparing search methods live: checkboxes, a budget slider, Run / Stop / Resume, the table
and a scatter that fill in as each (method, seed) finishes (:func:`toolkit.compare.compare`).

Example:
    >>> panel = compare_panel(("darts", "pcdarts"), budget=6000)  # doctest: +SKIP
    >>> panel  # shows it  # doctest: +SKIP
    >>> result = await panel.run()  # in a notebook cell; Stop in the panel ends it early  # doctest: +SKIP
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import ipywidgets as w

from toolkit.compare import CompareConfig, comparable, compare, label, on_front, summary
from toolkit.config import TrainConfig
from toolkit.events import Event

from .figure import LiveFigure
from .live import FULL_WIDTH, HALF_WIDTH
from .runner import BackgroundRun, error_html

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def table_html(rows: Sequence[Mapping]) -> str:
    """The comparison's rows and each method's mean ± standard deviation as an HTML table."""
    head = ("<tr><th>method</th><th>seed</th><th>images</th><th>search s</th><th>parameters</th>"
            "<th>val acc</th><th>test acc</th></tr>")
    body = "".join(f"<tr><td>{html.escape(label(r))}</td><td>{r['seed']}</td><td>{r['images']:,}</td>"
                   f"<td>{r['search_seconds']:.1f}</td><td>{r['parameters']:,}</td><td>{r['val_acc']:.4f}</td>"
                   f"<td>{r['test_acc']:.4f}</td></tr>" for r in rows)
    means = "".join(f"<tr><td><b>{html.escape(s['method'])}</b></td><td>{s['runs']} run(s)</td>"
                    f"<td>{s['images']:,.0f}</td><td>{s['search_seconds']:.1f}</td><td>{s['parameters']:,.0f}</td>"
                    f"<td>{s['val_acc']:.4f} ± {s['val_acc_std']:.4f}</td>"
                    f"<td>{s['test_acc']:.4f} ± {s['test_acc_std']:.4f}</td></tr>" for s in summary(rows))
    return (f"<table style='border-collapse:collapse;font-family:monospace'>{head}{body}"
            f"{'<tr><td colspan=7><i>mean ± std over seeds</i></td></tr>' + means if rows else ''}</table>")


class ComparePanel(w.VBox):
    """Methods to compare (checkboxes), the budget in training images and the seeds (sliders), Run,
    Stop and Resume, a status line, the table, a scatter of test accuracy against parameters with
    each method's Pareto front and each method's mean test accuracy ± standard deviation.

    Args:
        methods: the methods ticked at first (all comparable methods are offered).
        budget, seeds, dataset, evaluation, overrides: as in :class:`toolkit.compare.CompareConfig`.
        out: the folder holding the panel's comparison folders (default: a temporary folder).
    """

    def __init__(self, methods: Sequence[str] = ("darts", "pcdarts"), *, budget: int = 6000, seeds: int = 1,
                 dataset: str = "digits", evaluation: TrainConfig | None = None,
                 overrides: Mapping | None = None, out: str | Path | None = None):
        self.boxes = {name: w.Checkbox(value=name in methods, description=name, indent=False,
                                       layout=w.Layout(width="110px")) for name in comparable()}
        self.budget = w.IntSlider(value=budget, min=250, max=max(60_000, budget), step=250,
                                  description="images", continuous_update=False)
        self.seeds = w.IntSlider(value=seeds, min=1, max=5, description="seeds", continuous_update=False)
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.resume_button = w.Button(description="Resume", icon="forward", disabled=True)
        self.status = w.HTML("press Run")
        self.table = w.HTML(table_html([]))
        self.figure = LiveFigure(layout={"title": "test accuracy against parameters (dotted: Pareto fronts)",
                                         "xaxis_title": "parameters", "yaxis_title": "test accuracy",
                                         "height": 380})
        self.spread = LiveFigure(data=[{"type": "bar", "x": [], "y": [], "error_y": {"type": "data", "array": []}}],
                                 layout={"title": "mean test accuracy ± std over seeds", "height": 380,
                                         "yaxis_title": "test accuracy"})
        self.dataset, self.overrides = dataset, dict(overrides or {})
        self.evaluation = evaluation or TrainConfig(epochs=2, channels=4, cells=3, batch_size=32)
        self.root = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="nas-compare-"))
        self.current: BackgroundRun | None = None
        self.folder: Path | None = None
        self.config: CompareConfig | None = None
        self.rows: list[dict] = []
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self.resume_button.on_click(lambda _: self.run(resume=True))
        super().__init__([w.HBox(list(self.boxes.values())), w.HBox([self.budget, self.seeds]),
                          w.HBox([self.run_button, self.stop_button, self.resume_button]), self.status,
                          self.table, w.HBox([self.figure, self.spread])])
        self.add_class("nas-compare-panel")
        self.status.add_class("nas-status")
        self.figure.layout.width, self.spread.layout.width = FULL_WIDTH - HALF_WIDTH + 60, HALF_WIDTH - 60

    def settings(self) -> CompareConfig:
        """The comparison the controls describe (one ToolkitError line for none ticked)."""
        names = tuple(n for n, box in self.boxes.items() if box.value)
        return CompareConfig(names, dataset=self.dataset, budget=self.budget.value, seeds=self.seeds.value,
                             evaluation=self.evaluation,
                             overrides={k: v for k, v in self.overrides.items() if k in names})

    def run(self, resume: bool = False) -> BackgroundRun | None:
        """Start the comparison in the background (``resume``: continue the stopped one); returns the
        run, awaitable in a notebook cell (None when the settings are rejected or a run is going)."""
        if self.current is not None and not self.current.done:
            return self.current
        try:
            if not resume:
                self.config = self.settings()
                self.folder = self.root / f"compare-{len(list(self.root.iterdir())) + 1}"
                self.rows = []
                self._reset_figure()
        except Exception as e:  # noqa: BLE001 -- bad settings: one line in the panel
            self.status.value = error_html(str(e))
            return None
        config, folder = self.config, self.folder
        self.current = BackgroundRun(lambda listeners, stop: compare(config, folder, resume=resume,
                                                                     listeners=listeners, stop=stop),
                                     (self._follow,), name="compare")
        self.current.add_done_callback(self._done)
        self._buttons(running=True)
        self.status.value = f"running {', '.join(config.methods)} at {config.budget:,} images, {config.seeds} seed(s)…"
        return self.current

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.status.value = "stopping after the current step…"

    def _buttons(self, running: bool) -> None:
        self.run_button.disabled = running
        self.stop_button.disabled = not running
        self.resume_button.disabled = running or self.current is None or self.current.status != "stopped"

    def _reset_figure(self) -> None:
        with self.spread.batch_update():
            self.spread.data[0].x, self.spread.data[0].y, self.spread.data[0].error_y.array = [], [], []
        with self.figure.batch_update():
            self.figure.data = []
            for i, name in enumerate(self.config.methods):
                color = COLORS[i % len(COLORS)]
                self.figure.add_scatter(x=[], y=[], mode="markers", name=name, legendgroup=name,
                                        marker={"size": 10, "color": color})
                self.figure.add_scatter(x=[], y=[], mode="lines", name=f"{name} front", legendgroup=name,
                                        showlegend=False, line={"dash": "dot", "color": color})

    def _follow(self, event: Event) -> None:
        if event.kind != "generation":
            return
        self.rows = [{**m["metrics"], "method": m["metrics"]["method"], "preset": None} for m in event["population"]]
        self.table.value = table_html(self.rows)
        with self.figure.batch_update():
            for i, name in enumerate(self.config.methods):
                group = [r for r in self.rows if r["method"] == name]
                front = sorted((r for r in group if on_front(r, group)), key=lambda r: r["parameters"])
                self.figure.data[2 * i].x = [r["parameters"] for r in group]
                self.figure.data[2 * i].y = [r["test_acc"] for r in group]
                self.figure.data[2 * i + 1].x = [r["parameters"] for r in front]
                self.figure.data[2 * i + 1].y = [r["test_acc"] for r in front]
        stats = summary(self.rows)
        with self.spread.batch_update():
            self.spread.data[0].x = [s["method"] for s in stats]
            self.spread.data[0].y = [s["test_acc"] for s in stats]
            self.spread.data[0].error_y.array = [s["test_acc_std"] for s in stats]
        done = len(self.rows)
        total = len(self.config.methods) * self.config.seeds
        self.status.value = f"{done}/{total} runs finished…"

    def _done(self, run: BackgroundRun) -> None:
        self._buttons(running=False)
        if run.error is not None:
            self.status.value = error_html(run.message)
            return
        total = len(self.config.methods) * self.config.seeds
        tail = " · Resume continues it" if run.status == "stopped" else ""
        self.status.value = f"{run.status}: {len(run.result.rows)}/{total} runs in {self.folder}{tail}"


def compare_panel(methods: Sequence[str] = ("darts", "pcdarts"), **kwargs) -> ComparePanel:
    """A :class:`ComparePanel` (not displayed: leave it last in a notebook cell)."""
    return ComparePanel(methods, **kwargs)
