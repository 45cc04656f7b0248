"""The run panel: one class for every method, with Run, Stop and Resume, a status line and a live view.

A :class:`RunPanel` starts a method of the registry (:mod:`toolkit.methods`) through its ``run``
in a background thread (:class:`~widgets.runner.BackgroundRun`), so its Stop button works while
the run goes on, also while a notebook cell waits with ``result = await panel.run()``.

* **Controls.** A search method (kind 'search') gets the search controls (dataset, method, seed,
  search space, sizes) and builds the same :class:`~toolkit.config.SearchConfig` as ``python -m
  toolkit search``. Every method gets one control ("knob") per entry of its registry ``tunables``
  (K, order, λ, population, generations, ...): :data:`KNOBS` holds the tailored ones, any other
  field gets a control made from its type. The other fields come from the config the panel was
  given.
* **Views.** The live view is chosen by method name from :data:`VIEWS` (the library never imports
  UI code): the search curves, DARTS-GAL's masks and losses, the population of ME-DARTS and
  TS-ENAS. A view may define ``reset()`` (clear the last run), ``prepare(config, inputs) ->
  inputs`` (before a run) and ``finish(result, config)`` (after a run that returned).
* **Run folders and Resume.** Each run writes its own folder, ``run-1``, ``run-2``, ... under the
  panel's ``run_dir`` (a temporary folder when none is given). After a Stop, Resume continues that
  run from its folder, where the method's ``run`` takes ``run_dir`` and ``resume``.

A new method needs no change here: its registry entry (tunables and ``run``) is enough, and
:func:`register_view` adds a live view for it.

Example:
    >>> panel = run_panel("ts-enas", ts_enas_config("cpu-small"), data=data)  # doctest: +SKIP
    >>> panel  # shows it  # doctest: +SKIP
    >>> result = await panel.run()  # in a notebook cell: Stop keeps working  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import html
import inspect
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as w

from toolkit.config import K_VALUES, SearchConfig
from toolkit.errors import ToolkitError
from toolkit.methods import Method, get_method, methods
from toolkit.space import DARTS_OPS, MAX_NODES, SPACE_PRESETS, TS_ENAS_OPS, SearchSpace

from .live import LiveSearchView, RunStatus
from .runner import BackgroundRun, describe_error, error_html

DATASETS = ("digits", "fake", "mnist", "fashion_mnist", "cifar10", "cifar100", "folder")
ALL_OPS = DARTS_OPS + tuple(o for o in TS_ENAS_OPS if o not in DARTS_OPS)
PRESET_LABELS = {"darts": "DARTS · 8 ops", "ts_enas": "TS-ENAS · 13 ops"}
WIDE = {"description_width": "initial"}
SLIDER = {"continuous_update": False, "style": WIDE}


@dataclass(frozen=True)
class Knob:
    """The control of one tunable field.

    Attributes:
        make: ``make(config) -> widget``, the control set from the config's value.
        apply: ``apply(config, value) -> config``; default: ``dataclasses.replace(config, name=value)``.
    """

    make: Callable[[Any], w.Widget]
    apply: Callable[[Any, Any], Any] | None = None


def field_knob(name: str, value) -> w.Widget:
    """A control made from a field's current value: a checkbox, a slider, a number box or a text box."""
    label = name.replace("_", " ")
    if isinstance(value, bool):
        return w.Checkbox(value=value, description=label, indent=False)
    if isinstance(value, int):
        return w.IntSlider(value=value, min=min(1, value), max=max(20, 2 * value), description=label, **SLIDER)
    if isinstance(value, float):
        return w.FloatText(value=value, description=label, style=WIDE, layout=w.Layout(width="220px"))
    return w.Text(value="" if value is None else str(value), description=label, style=WIDE)


def _k(config) -> w.Widget:
    k = getattr(config, "k", None) if getattr(config, "method", "darts") != "darts" else None
    return w.SelectionSlider(options=list(K_VALUES), value=k or get_method("pcdarts").defaults["k"],
                             description="K (1/K of channels)", **SLIDER)


def _order(config) -> w.Widget:
    return w.ToggleButtons(options=[("first order", 1), ("second order", 2)], value=getattr(config, "order", 1),
                           description="α gradient", style={"button_width": "110px"})


def _lam(config) -> w.Widget:
    from .gal import lam_slider  # DARTS-GAL's λ, on its own scale

    return lam_slider(getattr(config, "lam", get_method("gal").defaults["lam"]))


def _retrain(config) -> w.Widget:
    return w.ToggleButtons(options=[("retrain from scratch", "scratch"), ("inherit weights", "inherit")],
                           value=config.retrain, style={"button_width": "150px"})


def _member_method(config) -> w.Widget:  # ME-DARTS: the search every member runs
    return w.Dropdown(options=[(m.label, n) for n, m in methods("search").items()], value=config.search.method,
                      description="each member", style=WIDE, layout=w.Layout(width="420px"))


def _stage_plan(config) -> w.Widget:  # ME-DARTS: a named stage plan, or the one given
    from toolkit.medarts.stages import stage_plan

    given = config.stages != stage_plan(config.preset)
    plans = get_method("me-darts").presets
    options = ([("the plan given", GIVEN)] if given else []) + [(name, name) for name in plans]
    return w.Dropdown(options=options, value=GIVEN if given else config.preset, description="stage plan", style=WIDE)


GIVEN = "given"  # the stage plan knob's value for the config's own plan


def _apply_stage_plan(config, value):
    return config if value == GIVEN else dataclasses.replace(config, preset=value, stages=None)


def _int_slider(name: str, description: str, low: int, high: int) -> Callable[[Any], w.Widget]:
    def make(config) -> w.Widget:
        value = getattr(config, name)
        return w.IntSlider(value=value, min=low, max=max(high, value), description=description, **SLIDER)
    return make


KNOBS: dict[str, Knob] = {
    "k": Knob(_k), "order": Knob(_order), "lam": Knob(_lam),
    "gal_epochs": Knob(_int_slider("gal_epochs", "mask-training epochs", 1, 50)),
    "epochs": Knob(_int_slider("epochs", "training epochs", 1, 100)),
    "retrain": Knob(_retrain),
    "method": Knob(_member_method, lambda config, value: dataclasses.replace(
        config, search=dataclasses.replace(config.search, method=value))),
    "preset": Knob(_stage_plan, _apply_stage_plan),
}


def make_knob(name: str, config) -> w.Widget:
    """The control of tunable ``name``, set from ``config``."""
    knob = KNOBS.get(name)
    return knob.make(config) if knob is not None else field_knob(name, getattr(config, name))


def apply_knob(name: str, config, value):
    """``config`` with tunable ``name`` set to ``value`` (a ToolkitError when the config refuses it)."""
    knob = KNOBS.get(name)
    if knob is not None and knob.apply is not None:
        return knob.apply(config, value)
    if not dataclasses.is_dataclass(config) or name not in {f.name for f in dataclasses.fields(config)}:
        raise ToolkitError(f"tunable '{name}' is not a field of {type(config).__name__}; "
                           "list only config fields in the method's tunables")
    return dataclasses.replace(config, **{name: value})


def _search_view(config) -> w.Widget:
    return LiveSearchView(status=False)


def _gal_view(config) -> w.Widget:
    from .gal import GalView

    return GalView()


def _me_darts_view(config) -> w.Widget:
    from .population import StagedPopulationView

    return StagedPopulationView(config)


def _ts_enas_view(config) -> w.Widget:
    from .population import PopulationView

    return PopulationView(x="parameters", y="val_acc", x_title="parameters", y_title="validation accuracy")


# The live view of each method, by name: view(config) -> widget that is also an event listener.
VIEWS: dict[str, Callable[[Any], w.Widget]] = {"gal": _gal_view, "me-darts": _me_darts_view,
                                               "ts-enas": _ts_enas_view}


def register_view(method: str, factory: Callable[[Any], w.Widget]) -> None:
    """Show ``factory(config)`` as the live view of ``method`` in panels created afterwards."""
    VIEWS[method] = factory


def view_factory(method: Method) -> Callable[[Any], w.Widget] | None:
    """The method's live view (a search method's default: the search curves; otherwise the status line only)."""
    return VIEWS.get(method.name, _search_view if method.kind == "search" else None)


def _accepts(function: Callable, name: str) -> bool:
    parameters = inspect.signature(function).parameters
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def resumable(method: Method) -> bool:
    """Whether the method's ``run`` continues a stopped run from its folder (it takes ``run_dir`` and ``resume``)."""
    return _accepts(method.run, "run_dir") and _accepts(method.run, "resume")


def start_method(method: Method, config, *, listeners=(), run_dir=None, resume: bool = False,
                 **inputs) -> BackgroundRun:
    """Run ``method.run(config=config, listeners=..., stop=..., run_dir=..., resume=..., **inputs)`` in the background.

    ``inputs`` are what the method's ``run`` takes beyond its config (``data``; DARTS-GAL's
    ``architecture`` or ``baseline``; TS-ENAS' ``space``); ``run_dir`` and ``resume`` are passed
    only to a resumable method.
    """
    folder = {"run_dir": run_dir, "resume": resume} if resumable(method) and run_dir is not None else {}

    def target(listeners, stop):
        return method.run(config=config, listeners=listeners, stop=stop, **folder, **inputs)

    return BackgroundRun(target, listeners=listeners, name=f"panel-{method.name}")


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


def ordered_ops(checked: set[str], preset: str) -> tuple[str, ...]:
    """Checked ops in the preset's order (the α column order the CLI uses), then any others."""
    first = [o for o in SPACE_PRESETS[preset] if o in checked]
    return tuple(first + [o for o in ALL_OPS if o in checked and o not in first])


class RunPanel(w.VBox):
    """Controls, Run / Stop / Resume, status and the live view of one method of the registry.

    Args:
        method: the registry name ('darts', 'gal', 'me-darts', 'ts-enas', ...). A search panel's
            method dropdown switches between the search methods.
        config: the run's settings (the controls start from it; other fields are kept). Optional
            for a search method (default ``SearchConfig(method=method)``).
        data: preloaded dataset splits, passed to the run as ``data``.
        run_dir: the folder holding the panel's run folders (default: a temporary folder).
        inputs: what else the method's run takes (``architecture=`` for DARTS-GAL, ``space=`` for TS-ENAS).

    Attributes:
        run_handle: the latest :class:`BackgroundRun`; result: the latest run's result (None
            before one ended without an error); run_folder: the latest run's folder.
        controls: the search controls by name (empty for other methods); knobs: the tunables' controls.
    """

    def __init__(self, method: str, config=None, *, data=None, run_dir=None, **inputs):
        entry = get_method(method)
        if config is None and entry.kind != "search":
            raise ToolkitError(f"a {method} panel needs the run's config, e.g. run_panel('{method}', config)")
        self.base = config
        config = config if config is not None else SearchConfig(method=method)
        self.data, self.inputs, self.run_root = data, inputs, Path(run_dir) if run_dir is not None else None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.run_handle: BackgroundRun | None = None
        self.result = None
        self.run_folder: Path | None = None
        self._last: tuple | None = None  # (method, config, inputs, folder) of the latest run, for Resume
        self._entry = entry
        self.controls = self._search_controls(config) if entry.kind == "search" else {}
        names = dict.fromkeys(n for m in methods("search").values() for n in m.tunables) if self.controls else {}
        self.knobs = {name: make_knob(name, config) for name in {**names, **dict.fromkeys(entry.tunables)}}
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.resume_button = w.Button(description="Resume", icon="forward", disabled=True,
                                      tooltip="continue the stopped run from its run folder")
        self.run_button.on_click(lambda _: self._click(self.run))
        self.stop_button.on_click(lambda _: self.stop())
        self.resume_button.on_click(lambda _: self._click(self.resume))
        self.note = w.HTML("")
        self._status = RunStatus()
        self.error = w.HTML("")
        self.error.add_class("nas-error")
        self._view_factory, self.view = None, None
        self._status_box = w.Box([self._status], layout=w.Layout(width="100%"))  # empty when the view has one
        self._view_box = w.Box([], layout=w.Layout(width="100%"))
        super().__init__(self._layout())
        self.add_class("nas-run-panel")
        if self.controls:
            self.controls["method"].observe(lambda _: self._on_method(), names="value")
            self.controls["preset"].observe(lambda change: self._apply_preset(change["new"]), names="value")
        self._on_method()

    # --- controls -------------------------------------------------------------------------------

    def _search_controls(self, config: SearchConfig) -> dict[str, w.Widget]:
        ops = set(config.space.ops)
        preset = next((p for p, o in SPACE_PRESETS.items() if set(o) == ops), "darts")
        c = {
            "dataset": w.Dropdown(options=DATASETS, value=config.dataset, description="dataset"),
            "method": w.Dropdown(options=[(m.label, n) for n, m in methods("search").items()],
                                 value=self._entry.name, description="method", layout=w.Layout(width="380px")),
            "seed": w.IntText(value=config.seed, description="seed", layout=w.Layout(width="160px")),
            "preset": w.ToggleButtons(options=[(PRESET_LABELS[p], p) for p in SPACE_PRESETS], value=preset,
                                      description="space", style={"button_width": "150px"}),
            "nodes": w.IntSlider(value=config.space.nodes, min=1, max=MAX_NODES, description="nodes per cell",
                                 **SLIDER),
            "cells": w.IntSlider(value=config.cells, min=1, max=max(20, config.cells), description="cells", **SLIDER),
            "channels": w.IntSlider(value=config.channels, min=2, max=max(64, config.channels), step=2,
                                   description="channels C", **SLIDER),
            "epochs": w.IntSlider(value=config.epochs, min=1, max=max(100, config.epochs), description="epochs",
                                  **SLIDER),
            "batch_size": w.IntSlider(value=config.batch_size, min=8, max=max(256, config.batch_size), step=8,
                                      description="batch", **SLIDER),
        }
        self.op_boxes = {op: w.Checkbox(value=op in ops, description=op, indent=False,
                                        layout=w.Layout(width="150px")) for op in ALL_OPS}
        return c

    def _layout(self) -> list[w.Widget]:
        rows = []
        if self.controls:
            c = self.controls
            ops_grid = w.GridBox(list(self.op_boxes.values()),
                                 layout=w.Layout(grid_template_columns="repeat(5, 155px)", margin="0 0 0 90px"))
            self._space_box = w.VBox([c["preset"], ops_grid, c["nodes"]])
            rows = [w.HBox([c["dataset"], c["method"], c["seed"]]), self._space_box,
                    w.HBox([w.VBox([c["cells"], c["channels"]]), w.VBox([c["epochs"], c["batch_size"]])])]
        knobs = list(self.knobs.values())
        rows += [w.HBox(knobs[i:i + 2]) for i in range(0, len(knobs), 2)]
        buttons = w.HBox([self.run_button, self.stop_button, self.resume_button, self.note])
        return [*rows, buttons, self._status_box, self.error, self._view_box]

    def _apply_preset(self, preset: str) -> None:
        for op, box in self.op_boxes.items():
            box.value = op in SPACE_PRESETS[preset]

    @property
    def method(self) -> Method:
        """The registry entry the panel runs (a search panel's: the one its dropdown selects)."""
        return get_method(self.controls["method"].value) if self.controls else self._entry

    def _on_method(self) -> None:
        method = self.method
        for name, knob in self.knobs.items():
            knob.layout.display = "" if name in method.tunables else "none"
        factory = view_factory(method)
        if factory is not self._view_factory or self.view is None:  # methods sharing a view keep it (and its curves)
            self._view_factory = factory
            self.view = factory(self.base if self.base is not None else SearchConfig()) if factory else None
            self._view_box.children = [self.view] if self.view is not None else []
        # one status line in the panel: the view's own, or the panel's (a page finds the one that moves)
        self._status_box.children = [] if getattr(self.view, "status", None) else [self._status]

    @property
    def status(self) -> RunStatus:
        """The status line: the view's own when it has one, else the panel's."""
        return getattr(self.view, "status", None) or self._status

    @property
    def values(self) -> dict:
        """Every control's current value: the search controls' (with ``ops``) and the method's knobs'."""
        values = {name: c.value for name, c in self.controls.items() if name != "preset"}
        if self.controls:
            values["ops"] = ordered_ops({op for op, box in self.op_boxes.items() if box.value},
                                        self.controls["preset"].value)
        values.update({name: self.knobs[name].value for name in self.method.tunables})
        return values

    @property
    def config(self):
        """The config the controls describe (raises ToolkitError when they are invalid)."""
        values = self.values
        if self.controls:
            return search_config(values, self.base)
        config = self.base
        for name in self.method.tunables:
            config = apply_knob(name, config, values[name])
        return config

    # --- running --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.run_handle is not None and not self.run_handle.done

    def _new_folder(self) -> Path:
        if self.run_root is None:
            self._tmp = self._tmp or tempfile.TemporaryDirectory(prefix="nas-panel-")
            self.run_root = Path(self._tmp.name)
        n = 1
        while (self.run_root / f"run-{n}").exists():
            n += 1
        return self.run_root / f"run-{n}"

    def run(self) -> BackgroundRun:
        """Start a new run in the background and return its handle (``await`` it in a notebook, or ``.wait()``).

        Raises:
            ToolkitError: the values do not make a valid config, or a run is still going.
        """
        self._refuse_while_running()
        method, config = self.method, self.config
        inputs = {**self.inputs, **({"data": self.data} if self.data is not None else {})}
        if hasattr(self.view, "prepare"):
            inputs = self.view.prepare(config, inputs)
        folder = self._new_folder() if resumable(method) else None
        return self._start(method, config, inputs, folder, resume=False)

    def resume(self) -> BackgroundRun:
        """Continue the latest run, stopped, from its run folder (same config and inputs)."""
        self._refuse_while_running()
        if self._last is None or self.run_handle is None or self.run_handle.status != "stopped" \
                or self._last[3] is None:
            raise ToolkitError("nothing to resume: Resume continues a stopped run of a method that keeps a run "
                               "folder; press Run to start one")
        method, config, inputs, folder = self._last
        return self._start(method, config, inputs, folder, resume=True)

    def _refuse_while_running(self) -> None:
        if self.running:
            raise ToolkitError("a run is still going; press Stop (or call .stop()) before starting another")

    def _start(self, method: Method, config, inputs: dict, folder: Path | None, *, resume: bool) -> BackgroundRun:
        self.error.value, self.note.value = "", ""
        if hasattr(self.view, "reset"):  # the previous run's curves and cells go at once, not at run_start
            self.view.reset()
        self.status.set_text("resuming…" if resume else "starting… (loading the data and building the model)")
        self.run_button.disabled, self.stop_button.disabled, self.resume_button.disabled = True, False, True
        self._last = (method, config, inputs, folder)
        self.run_folder = folder
        listeners = tuple(x for x in (self._status if self.status is self._status else None, self.view) if x)
        self.run_handle = start_method(method, config, listeners=listeners, run_dir=folder, resume=resume,
                                       **inputs)
        self.run_handle.add_done_callback(lambda run: self._on_done(run, config))
        return self.run_handle

    def stop(self) -> None:
        """Ask the current run to stop after its current step."""
        if self.running:
            self.run_handle.stop()
            self.stop_button.disabled = True
            self.status.set_text("stopping after the current step…")

    def _click(self, action: Callable[[], BackgroundRun]) -> None:
        try:
            action()
        except Exception as e:  # noqa: BLE001 - a click must show the problem, not raise into the void
            self.show_error(describe_error(e))

    def show_error(self, message: str) -> None:
        """Show a readable error under the buttons."""
        self.error.value = error_html(message)

    def _on_done(self, run: BackgroundRun, config) -> None:
        self.run_button.disabled, self.stop_button.disabled = False, True
        if run.error is not None:
            self.status.bar.bar_style = "danger"
            self.status.set_text("failed", "#b30000")
            self.show_error(run.message)
            return
        if hasattr(self.view, "finish"):
            self.view.finish(run.result, config)
        if run.status == "stopped" and self.run_folder is not None:
            self.resume_button.disabled = False
            self.note.value = (f"<span style='color:#737373'>stopped: Resume continues it from "
                               f"{html.escape(str(self.run_folder))}</span>")
        self.result = run.result  # last: code waiting for it finds the view's report in place


def run_panel(method: str, config=None, *, data=None, run_dir=None, **inputs) -> RunPanel:
    """A run panel for ``method`` (display it by leaving it last in a cell; run it with the button or
    ``result = await panel.run()``)."""
    return RunPanel(method, config, data=data, run_dir=run_dir, **inputs)


def search_panel(config: SearchConfig | None = None, **options) -> RunPanel:
    """A search panel with its controls set from ``config`` (display it by leaving it last in a cell)."""
    return RunPanel(config.method if config is not None else "darts", config, **options)
