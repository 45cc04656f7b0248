"""The run panel: controls that build a config, Run/Stop buttons, progress, status and live plots.

The panel builds the same config dataclasses as the command line (``python -m toolkit search``)
and runs them in a background thread (:class:`~widgets.runner.BackgroundRun`), so its Stop
button works while a search is going.

Adding a method (the registration point)
-----------------------------------------
Every entry of the method dropdown is a :class:`MethodSpec`: the extra controls ("knobs") it
uses, how the panel's values become its config, how to run that config, and which live view
follows it. A new method registers itself once, e.g. a DARTS-GAL panel (``toolkit.gal``)::

    from widgets.panel import MethodSpec, register_method

    def gal_config(values, base):
        return GalConfig(dataset=values["dataset"], epochs=values["epochs"], seed=values["seed"],
                         channels=values["channels"], cells=values["cells"], lam=values["lam"])

    def gal_run(config, listeners, stop):
        return run_gal(PUBLISHED["DARTS_V2"], config, listeners=listeners, stop=stop)

    register_method(MethodSpec("gal", "DARTS-GAL (prune nodes)", knobs=("lam",), make_config=gal_config,
                               run=gal_run, view=my_gal_view_factory))

Knobs already available: ``k`` (channel fraction 1/K), ``order`` (first/second-order DARTS) and
``lam`` (the pruning strength λ of DARTS-GAL, eq. 7); :func:`register_knob` adds more. A knob is
shown only while a method that lists it is selected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as w

from toolkit.config import K_VALUES, SearchConfig
from toolkit.errors import ToolkitError
from toolkit.methods import get_method, methods
from toolkit.space import DARTS_OPS, MAX_NODES, SPACE_PRESETS, TS_ENAS_OPS, SearchSpace

from .live import LiveSearchView, RunStatus
from .runner import BackgroundRun, describe_error, error_html

DATASETS = ("digits", "fake", "mnist", "fashion_mnist", "cifar10", "cifar100", "folder")
ALL_OPS = DARTS_OPS + tuple(o for o in TS_ENAS_OPS if o not in DARTS_OPS)
PRESET_LABELS = {"darts": "DARTS · 8 ops", "ts_enas": "TS-ENAS · 13 ops"}
WIDE = {"description_width": "initial"}


@dataclass(frozen=True)
class MethodSpec:
    """One method the panel can run.

    Attributes:
        name: key of the method (e.g. 'darts'); label: text in the dropdown.
        knobs: names of the extra controls the method uses (keys of :data:`KNOBS`).
        make_config: ``make_config(values, base) -> config``; ``values`` holds every control's value
            (dataset, ops, nodes, method, cells, channels, epochs, batch_size, seed, and each knob),
            ``base`` is the config the panel was created with (keep its other fields) or None.
        run: ``run(config, listeners, stop) -> result``, executed in a background thread; it must
            pass ``listeners`` and ``stop`` to the toolkit loop.
        view: builds the live view (a widget that is also an event listener).
        uses_space: whether the search-space controls apply (hidden otherwise).
    """

    name: str
    label: str
    knobs: tuple[str, ...]
    make_config: Callable[[dict, object], object]
    run: Callable[[object, tuple, object], object]
    view: Callable[[], w.Widget] = lambda: LiveSearchView(status=False)
    uses_space: bool = True


def k_knob() -> w.Widget:
    return w.SelectionSlider(options=list(K_VALUES), value=get_method("pcdarts").defaults["k"],
                             description="K (1/K of channels)", style=WIDE, continuous_update=False)


def order_knob() -> w.Widget:
    return w.ToggleButtons(options=[("first order", 1), ("second order", 2)], value=1, description="α gradient",
                           style={"button_width": "110px"})


def lam_knob() -> w.Widget:
    from .gal import lam_slider  # DARTS-GAL's λ, on its own scale

    return lam_slider(get_method("gal").defaults["lam"])


KNOBS: dict[str, Callable[[], w.Widget]] = {"k": k_knob, "order": order_knob, "lam": lam_knob}
METHODS: dict[str, MethodSpec] = {}


def register_knob(name: str, factory: Callable[[], w.Widget]) -> None:
    """Make a control available to methods; its value appears in ``values[name]``."""
    KNOBS[name] = factory


def register_method(spec: MethodSpec) -> None:
    """Add a method to every panel created afterwards (replacing one of the same name)."""
    unknown = [k for k in spec.knobs if k not in KNOBS]
    if unknown:
        raise ToolkitError(f"method '{spec.name}' uses unknown knob(s) {', '.join(unknown)}; "
                           f"register them first with register_knob (known: {', '.join(KNOBS)})")
    METHODS[spec.name] = spec


def search_config(values: dict, base=None) -> SearchConfig:
    """The SearchConfig of the panel's values, exactly as ``python -m toolkit search`` builds it.

    Fields without a control (learning rates, device, ...) come from ``base``.
    """
    base = base if isinstance(base, SearchConfig) else SearchConfig()
    method = get_method(values["method"], "search")
    same = base.method == method.name  # otherwise K and β come from the registry (toolkit.methods)
    k = values.get("k") if "k" in method.tunables else (base.k if same else None)
    return dataclasses.replace(
        base, dataset=values["dataset"], space=SearchSpace(tuple(values["ops"]), values["nodes"]),
        method=method.name, cells=values["cells"], channels=values["channels"], epochs=values["epochs"],
        batch_size=values["batch_size"], seed=values["seed"], k=k, edge_norm=base.edge_norm if same else None,
        order=values.get("order", base.order))


def _run_search(config, listeners, stop):
    from toolkit.search import run_search

    return run_search(config, listeners=listeners, stop=stop)


for _method in methods("search").values():  # the registry's search methods, labels and tunables
    register_method(MethodSpec(_method.name, _method.label, _method.tunables, search_config, _run_search))


def ordered_ops(checked: set[str], preset: str) -> tuple[str, ...]:
    """Checked ops in the preset's order (the α column order the CLI uses), then any others."""
    first = [o for o in SPACE_PRESETS[preset] if o in checked]
    return tuple(first + [o for o in ALL_OPS if o in checked and o not in first])


class SearchPanel(w.VBox):
    """Controls, Run/Stop, progress and a live view for one search at a time.

    Args:
        config: initial values (and the fields the panel has no control for, e.g. lr, device).

    Attributes:
        run_handle: the latest :class:`BackgroundRun` (None before the first run).
        controls: the common controls by name; knobs: the method knobs by name.
    """

    def __init__(self, config: SearchConfig | None = None):
        self.base = config
        config = config if config is not None else SearchConfig()
        self.run_handle: BackgroundRun | None = None
        self.controls = self._build_controls(config)
        self.knobs = {name: factory() for name, factory in KNOBS.items()}
        for name, knob in self.knobs.items():
            if hasattr(config, name) and (name != "k" or getattr(config, "method", "darts") != "darts"):
                knob.value = getattr(config, name)
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.run_button.on_click(self._on_run_click)
        self.stop_button.on_click(lambda _: self.stop())
        self.status = RunStatus()
        self.error = w.HTML("")
        self.error.add_class("nas-error")
        self._view_factory = METHODS[self.controls["method"].value].view
        self.view = self._view_factory()
        self._view_box = w.Box([self.view], layout=w.Layout(width="100%"))
        super().__init__(self._layout())
        self.add_class("nas-search-panel")
        self.controls["method"].observe(lambda _: self._on_method(), names="value")
        self.controls["preset"].observe(lambda change: self._apply_preset(change["new"]), names="value")
        self._on_method()

    def _build_controls(self, config: SearchConfig) -> dict[str, w.Widget]:
        ops = set(config.space.ops)
        preset = next((p for p, o in SPACE_PRESETS.items() if set(o) == ops), "darts")
        slider = dict(continuous_update=False, style=WIDE)
        c = {
            "dataset": w.Dropdown(options=DATASETS, value=config.dataset, description="dataset"),
            "method": w.Dropdown(options=[(s.label, n) for n, s in METHODS.items()], value=config.method,
                                 description="method", layout=w.Layout(width="380px")),
            "seed": w.IntText(value=config.seed, description="seed", layout=w.Layout(width="160px")),
            "preset": w.ToggleButtons(options=[(PRESET_LABELS[p], p) for p in SPACE_PRESETS], value=preset,
                                      description="space", style={"button_width": "150px"}),
            "nodes": w.IntSlider(value=config.space.nodes, min=1, max=MAX_NODES, description="nodes per cell",
                                 **slider),
            "cells": w.IntSlider(value=config.cells, min=1, max=max(20, config.cells), description="cells", **slider),
            "channels": w.IntSlider(value=config.channels, min=2, max=max(64, config.channels), step=2,
                                   description="channels C", **slider),
            "epochs": w.IntSlider(value=config.epochs, min=1, max=max(100, config.epochs), description="epochs",
                                  **slider),
            "batch_size": w.IntSlider(value=config.batch_size, min=8, max=max(256, config.batch_size), step=8,
                                      description="batch", **slider),
        }
        self.op_boxes = {op: w.Checkbox(value=op in ops, description=op, indent=False,
                                        layout=w.Layout(width="150px")) for op in ALL_OPS}
        return c

    def _layout(self) -> list[w.Widget]:
        c = self.controls
        ops_grid = w.GridBox(list(self.op_boxes.values()),
                             layout=w.Layout(grid_template_columns="repeat(5, 155px)", margin="0 0 0 90px"))
        self._space_box = w.VBox([c["preset"], ops_grid, c["nodes"]])
        sizes = w.HBox([w.VBox([c["cells"], c["channels"]]), w.VBox([c["epochs"], c["batch_size"]])])
        knobs = w.HBox(list(self.knobs.values()))
        buttons = w.HBox([self.run_button, self.stop_button])
        return [w.HBox([c["dataset"], c["method"], c["seed"]]), self._space_box, sizes, knobs, buttons,
                self.status, self.error, self._view_box]

    def _apply_preset(self, preset: str) -> None:
        for op, box in self.op_boxes.items():
            box.value = op in SPACE_PRESETS[preset]

    def _on_method(self) -> None:
        spec = METHODS[self.controls["method"].value]
        for name, knob in self.knobs.items():
            knob.layout.display = "" if name in spec.knobs else "none"
        self._space_box.layout.display = "" if spec.uses_space else "none"
        if spec.view is not self._view_factory:  # methods sharing a view keep it (and its curves)
            self._view_factory = spec.view
            self.view = spec.view()
            self._view_box.children = [self.view]

    @property
    def values(self) -> dict:
        """Every control's current value (what a MethodSpec's make_config receives)."""
        values = {name: c.value for name, c in self.controls.items() if name != "preset"}
        values["ops"] = ordered_ops({op for op, box in self.op_boxes.items() if box.value},
                                    self.controls["preset"].value)
        spec = METHODS[values["method"]]
        values.update({name: self.knobs[name].value for name in spec.knobs})
        return values

    @property
    def config(self):
        """The config the current values describe (raises ToolkitError when they are invalid)."""
        values = self.values
        return METHODS[values["method"]].make_config(values, self.base)

    @property
    def running(self) -> bool:
        return self.run_handle is not None and not self.run_handle.done

    def run(self) -> BackgroundRun:
        """Start the configured run in the background and return its handle (``.wait()``, ``.stop()``).

        Raises:
            ToolkitError: the values do not make a valid config, or a run is still going.
        """
        if self.running:
            raise ToolkitError("a run is still going; press Stop (or call .stop()) before starting another")
        spec = METHODS[self.controls["method"].value]
        config = spec.make_config(self.values, self.base)
        self.error.value = ""
        self.status.set_text("starting… (loading the data and building the model)")
        if hasattr(self.view, "reset"):  # the previous run's curves and cells go at once, not at run_start
            self.view.reset()
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.run_handle = BackgroundRun(lambda listeners, stop: spec.run(config, listeners, stop),
                                        listeners=(self.status, self.view), name=f"panel-{spec.name}")
        self.run_handle.add_done_callback(self._on_done)
        return self.run_handle

    def stop(self) -> None:
        """Ask the current run to stop after its current step."""
        if self.running:
            self.run_handle.stop()
            self.stop_button.disabled = True
            self.status.set_text("stopping after the current step…")

    def _on_run_click(self, _button) -> None:
        try:
            self.run()
        except Exception as e:  # noqa: BLE001 - a click must show the problem, not raise into the void
            self.show_error(describe_error(e))

    def show_error(self, message: str) -> None:
        """Show a readable error under the buttons."""
        self.error.value = error_html(message)

    def _on_done(self, run: BackgroundRun) -> None:
        self.run_button.disabled, self.stop_button.disabled = False, True
        if run.error is not None:
            self.status.bar.bar_style = "danger"
            self.status.set_text("failed", "#b30000")
            self.show_error(run.message)


def search_panel(config: SearchConfig | None = None) -> SearchPanel:
    """A search panel with its controls set from ``config`` (display it by leaving it last in a cell)."""
    return SearchPanel(config)
