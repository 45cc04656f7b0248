"""Notebook UI for the toolkit: run panels, live plotly charts and cell drawings.

Builders return widgets and never display them, so tests can drive them headlessly; leave one
last in a notebook cell to show it. Runs started here execute in a background thread.

One run panel serves every method of the registry (:class:`RunPanel`: Run, Stop, Resume):
    >>> from toolkit import SearchConfig
    >>> panel = search_panel(SearchConfig(dataset="digits", epochs=3))  # doctest: +SKIP
    >>> panel = run_panel("me-darts", MeDartsConfig(), data=data)  # doctest: +SKIP
    >>> result = await panel.run()  # in a notebook cell; run.wait() in a script  # doctest: +SKIP

Other helpers:
    >>> view = live_curves(); run = start_search(config, listeners=[view])  # doctest: +SKIP
    >>> show_cell(result.genotype)  # doctest: +SKIP
"""

from .cells import CellView, show_cell
from .live import AlphaView, LiveSearchView, RunStatus, live_curves, training_curves
from .panel import KNOBS, VIEWS, Knob, RunPanel, register_view, run_panel, search_panel
from .plots import HeatmapPlot, LinePlot
from .population import PopulationView, draw_crossover, draw_mutation, population_view
from .runner import BackgroundRun, describe_error, start_search, start_training

__all__ = [
    "AlphaView", "BackgroundRun", "CellView", "HeatmapPlot", "KNOBS", "Knob", "LinePlot", "LiveSearchView",
    "PopulationView", "RunPanel", "RunStatus", "VIEWS", "describe_error", "draw_crossover", "draw_mutation",
    "live_curves", "population_view", "register_view", "run_panel", "search_panel", "show_cell", "start_search",
    "start_training", "training_curves",
]
