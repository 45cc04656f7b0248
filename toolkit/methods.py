"""The method registry: every method's name, label, default settings, presets and loop, in one place.

The Python API (:class:`~toolkit.config.SearchConfig`, :class:`~toolkit.gal.GalConfig`), the
command line (``python -m toolkit search pcdarts``), the notebook panels and ``bench/`` all read
their method lists and defaults from here, so ``SearchConfig(method="pcdarts")``, the command
line and the panel run the same search. A method is registered where it is described, once.

Example:
    >>> METHODS["pcdarts"].defaults["k"]
    4
    >>> METHODS["adarts"].edge_factory(4)  # doctest: +SKIP
    functools.partial(<class 'toolkit.partial.PartialChannelEdge'>, mode='attention', k=4)

A config for a method with a preset is :func:`toolkit.config.search_config`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .errors import ToolkitError


@dataclass(frozen=True)
class Method:
    """One method.

    Attributes:
        name: the key used by the API, the command line and the panels (e.g. 'pcdarts').
        label: one line saying what the method does, shown in menus and help texts. PC-DARTS's
            says what its channel choice is: the first C/K channels of every edge go through the
            ops, the rest bypass them, then a channel shuffle (no random draw).
        kind: 'search' (a differentiable cell search, :class:`~toolkit.config.SearchConfig`),
            'prune' (DARTS-GAL, :class:`~toolkit.gal.GalConfig`) or 'population' (an evolutionary search
            with its own config: ME-DARTS, :class:`~toolkit.medarts.MeDartsConfig`, a population of searches of
            any search method; TS-ENAS, :class:`~toolkit.tsenas.TsEnasConfig`).
        defaults: config fields this method sets differently from the config's own defaults.
        partial: how a search method's supernet edges treat channels: 'none' (all channels),
            'random' (PC-DARTS's fixed selection, see the label) or 'attention' (ADARTS).
        edge_norm: whether a search method uses PC-DARTS's edge normalisation β when the config
            leaves ``edge_norm`` at None (so ``dataclasses.replace(config, method=...)`` follows it).
        presets: named sets of config fields (e.g. a paper's settings), applied over ``defaults``.
        loop: ``"module:function"`` of the loop that runs a config of this method.
        tunables: the method-specific fields a panel shows as controls.
        citation: the paper, by title, authors and arXiv id or venue.
    """

    name: str
    label: str
    kind: str
    defaults: Mapping[str, Any]
    loop: str
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    partial: str = "none"
    edge_norm: bool = False
    tunables: tuple[str, ...] = ()
    citation: str = ""

    def __post_init__(self):
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "presets", MappingProxyType({k: MappingProxyType(dict(v))
                                                               for k, v in self.presets.items()}))

    @property
    def run(self) -> Callable:
        """The loop function (imported on first use, so reading the registry stays cheap)."""
        module, name = self.loop.split(":")
        return getattr(importlib.import_module(module), name)

    def edge_factory(self, k: int = 1):
        """The supernet edge factory of a search method (see :mod:`toolkit.edges`) at channel fraction 1/K.

        'none' gives the plain mixed op (``k`` unused); 'random' and 'attention' the partial-channel
        edges of :func:`toolkit.partial.partial_edge`. Imported on use, so reading the registry
        stays cheap.
        """
        if self.kind != "search":
            raise ToolkitError(f"method '{self.name}' is not a cell search and has no supernet edges")
        if self.partial == "none":
            from .edges import mixed_edge

            return mixed_edge
        from .partial import partial_edge

        return partial_edge(self.partial, k)

    def settings(self, preset: str | None = None) -> dict[str, Any]:
        """The method's defaults with ``preset`` applied on top."""
        if preset is not None and preset not in self.presets:
            known = ", ".join(self.presets) or "none"
            raise ToolkitError(f"method '{self.name}' has no preset '{preset}'; presets: {known}")
        return {**self.defaults, **(self.presets[preset] if preset else {})}


METHODS: dict[str, Method] = {}
KINDS = ("search", "prune", "population")


def register(method: Method) -> Method:
    """Add (or replace) a method in the registry."""
    if method.kind not in KINDS:
        raise ToolkitError(f"method kind must be one of {', '.join(KINDS)}, got {method.kind!r}")
    METHODS[method.name] = method
    return method


def get_method(name: str, kind: str | None = None) -> Method:
    """The registered method ``name`` (of ``kind``, if given); a ToolkitError naming the choices otherwise."""
    method = METHODS.get(name)
    if method is None or (kind is not None and method.kind != kind):
        choices = ", ".join(methods(kind))
        raise ToolkitError(f"unknown {kind + ' ' if kind else ''}method '{name}'; choose one of: {choices}")
    return method


def methods(kind: str | None = None) -> dict[str, Method]:
    """The registered methods (of ``kind``), in registration order."""
    return {n: m for n, m in METHODS.items() if kind is None or m.kind == kind}


DARTS = "DARTS: Differentiable Architecture Search, H. Liu, K. Simonyan, Y. Yang, arXiv:1806.09055"
PC_DARTS = ("PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture Search, Y. Xu et al., "
            "arXiv:1907.05737")
ADARTS = ("Partial Connection Based on Channel Attention for Differentiable Neural Architecture Search, "
          "Y. Xue, J. Qin, IEEE Transactions on Industrial Informatics")
DARTS_GAL = ("A neural network architecture optimizer based on DARTS and generative adversarial learning, "
             "T. Zhang, M. Waqas, H. Shen, Z. Liu, X. Zhang, Y. Li, Z. Halim, S. Chen, Information Sciences")

ME_DARTS = ("ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search, "
            "Y. Chen, R. Shi, J. Luo")

SEARCH_LOOP = "toolkit.search:run_search"

register(Method("darts", "DARTS (all channels through every op)", "search",
                {"k": 1}, SEARCH_LOOP, tunables=("order",), citation=DARTS))
register(Method("pcdarts", "PC-DARTS (first 1/K of channels, then shuffle; β)",
                "search", {"k": 4}, SEARCH_LOOP, partial="random", edge_norm=True,
                presets={"paper": {"epochs": 50, "warmup_epochs": 15, "batch_size": 256, "arch_lr": 6e-4}},
                tunables=("k", "order"), citation=PC_DARTS))
register(Method("adarts", "ADARTS (attention picks the top 1/K channels)", "search",
                {"k": 4}, SEARCH_LOOP, partial="attention", tunables=("k", "order"),
                citation=ADARTS))
register(Method("gal", "DARTS-GAL (prune cell nodes with adversarially trained masks)", "prune",
                {"lam": 12.0}, "toolkit.gal.run:run_gal", tunables=("lam",), citation=DARTS_GAL))
register(Method("me-darts", "ME-DARTS (a population of searches in three stages on proxy data, NSGA-II selection)",
                "population", {"preset": "cpu-small", "method": "darts"}, "toolkit.medarts.run:run_me_darts",
                presets={"cpu-small": {"preset": "cpu-small"}, "paper": {"preset": "paper"}},
                tunables=("method", "preset"), citation=ME_DARTS))

TS_ENAS = ("TS-ENAS: Two-Stage Evolution for Cell-based Network Architecture Search, J. Zou, S. Wu, Y. Xia, "
           "W. Jiang, Z. Wu, J. Zheng")
# Section V.C: P = T0 = 100, S = 30, T1 = 50, crossover 0.8, mutation 0.2, SuperNet 100 epochs, 10 per
# individual, SGD momentum 0.9, weight decay 3e-4. N_min, N_max and the level threshold are not given.
register(Method("ts-enas", "TS-ENAS (evolve networks of known cells, then the cells' insides)", "population",
                {"population": 100, "rough_generations": 100, "survivors": 30, "fine_generations": 50,
                 "crossover_rate": 0.8, "mutation_rate": 0.2, "level_threshold": 0.01, "n_min": 5, "n_max": 12,
                 "supernet_epochs": 100, "epochs": 10, "channels": 16, "update_every": 1},
                "toolkit.tsenas.run:run_ts_enas",
                presets={"paper": {},
                         "cpu-small": {"population": 6, "rough_generations": 3, "survivors": 3,
                                       "fine_generations": 2, "n_min": 3, "n_max": 5, "supernet_epochs": 5,
                                       "epochs": 2, "channels": 8, "batch_size": 64,
                                       # digits-sized work on any data set: 1,500 training images at most
                                       # (digits keeps its 1,438), images at most 8x8 (digits' own size)
                                       "max_train_images": 1500, "max_image_size": 8}},
                tunables=("population", "rough_generations", "fine_generations"), citation=TS_ENAS))
