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
        preset_sources: for each preset, where its numbers come from (paper and section), shown by
            ``--dry-run`` and the help texts.
        loop: ``"module:function"`` of the loop that runs a config of this method. Front ends call it
            as ``run(config=config, listeners=..., stop=..., **inputs)``, adding ``run_dir`` and
            ``resume`` when it takes them (then a stopped run can be resumed from its folder).
        config: ``"module:Class"`` of the config dataclass whose fields the method's settings are (its
            command-line flags and panel knobs); :func:`toolkit.config.method_settings` gives every
            field's default for this method.
        command: ``"module:function"`` of the command-line handler that runs this method from parsed
            options (``python -m toolkit search METHOD`` or ``prune METHOD`` dispatches to it).
        tunables: the config fields a run panel shows as controls (one each), e.g. K, λ, order,
            population, generations.
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
    preset_sources: Mapping[str, str] = field(default_factory=dict)
    config: str = "toolkit.config:SearchConfig"
    command: str = "toolkit.cli.search:run_single"

    def __post_init__(self):
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "preset_sources", MappingProxyType(dict(self.preset_sources)))
        object.__setattr__(self, "presets", MappingProxyType({k: MappingProxyType(dict(v))
                                                               for k, v in self.presets.items()}))

    @property
    def run(self) -> Callable:
        """The loop function (imported on first use, so reading the registry stays cheap)."""
        module, name = self.loop.split(":")
        return getattr(importlib.import_module(module), name)

    @property
    def command_handler(self) -> Callable:
        """The command-line handler (imported on first use): ``handler(args) -> exit status``."""
        module, name = self.command.split(":")
        return getattr(importlib.import_module(module), name)

    @property
    def config_class(self) -> type:
        """The config dataclass of this method (imported on first use)."""
        module, name = self.config.split(":")
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

    def preset(self, name: str | None) -> Mapping[str, Any]:
        """The fields preset ``name`` sets (empty for None); one ToolkitError line naming the presets otherwise."""
        if name is None:
            return MappingProxyType({})
        owner, _, name = name.rpartition(":")  # "pcdarts:paper" as the help lists it
        if owner and owner != self.name:
            raise ToolkitError(f"preset '{owner}:{name}' belongs to {owner}, not {self.name}")
        if name not in self.presets:
            known = ", ".join(self.presets) or "none"
            raise ToolkitError(f"{self.name} has no preset '{name}'; its presets: {known}")
        return self.presets[name]


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

# DARTS section 3.1.1 and its code (train_search.py): CIFAR-10, 8 cells, C=16, 50 epochs, batch 64, SGD lr
# 0.025 cosine-annealed to 0.001, momentum 0.9, weight decay 3e-4, gradient clip 5; α by Adam, lr 3e-4,
# weight decay 1e-3; half the training set trains w, half α. "paper" is the second-order search behind
# DARTS (2nd order), the headline cell; "paper-1st-order" the first-order one.
DARTS_SEARCH = {"dataset": "cifar10", "epochs": 50, "batch_size": 64, "cells": 8, "channels": 16, "lr": 0.025,
                "lr_min": 0.001, "momentum": 0.9, "weight_decay": 3e-4, "grad_clip": 5.0, "arch_lr": 3e-4,
                "arch_weight_decay": 1e-3, "train_portion": 0.5}
register(Method("darts", "DARTS (all channels through every op)", "search",
                {"k": 1}, SEARCH_LOOP, tunables=("order",), citation=DARTS,
                presets={"paper": {**DARTS_SEARCH, "order": 2}, "paper-1st-order": {**DARTS_SEARCH, "order": 1}},
                preset_sources={"paper": "DARTS section 3.1.1 and its code, second order",
                                "paper-1st-order": "DARTS section 3.1.1 and its code, first order"}))
# PC-DARTS section 4.2 and its code (train_search.py): DARTS' network (8 cells, C=16) and split, 50 epochs,
# batch 256, lr 0.1 cosine-annealed to 0 (learning_rate_min 0), α lr 6e-4, α updates from epoch 15 on, K=4.
register(Method("pcdarts", "PC-DARTS (first 1/K of channels, then shuffle; β)",
                "search", {"k": 4}, SEARCH_LOOP, partial="random", edge_norm=True,
                presets={"paper": {**DARTS_SEARCH, "batch_size": 256, "lr": 0.1, "lr_min": 0.0, "arch_lr": 6e-4,
                                   "warmup_epochs": 15, "k": 4, "order": 1}},
                preset_sources={"paper": "PC-DARTS section 4.2 and its code"},
                tunables=("k", "order"), citation=PC_DARTS))
# ADARTS section IV.B.3: 80 epochs, batch 96, SGD lr 0.025 cosine-annealed to 0, momentum 0.9, weight decay
# 3e-4; α by Adam, lr 6e-4, betas (0.5, 0.999), weight decay 1e-3. Section IV.B.2: 8 cells, 4 intermediate
# nodes, DARTS' 8 ops; section IV.D.2: 16 initial channels and K=4 (the best K of its sweep).
register(Method("adarts", "ADARTS (attention picks the top 1/K channels)", "search",
                {"k": 4}, SEARCH_LOOP, partial="attention", tunables=("k", "order"),
                presets={"paper": {**DARTS_SEARCH, "epochs": 80, "batch_size": 96, "lr_min": 0.0, "arch_lr": 6e-4,
                                   "k": 4, "order": 1}},
                preset_sources={"paper": "ADARTS sections IV.B.2, IV.B.3 and IV.D.2"},
                citation=ADARTS))
# DARTS-GAL section 4: "the learning rate is 0.01 during all the training procedures", baseline batch 128
# (its DARTS runs), pruning batch 100, discriminator trained 5 times per generator step (section 3.4), no
# dropout when pruning. Section 4.1 (MNIST, Fashion-MNIST): 5 cells of DARTS V2, C=16, 50 training rounds,
# reductions at cells 2 and 3 as the text and Table 1 state twice; its "0.13 M" parameters would match
# reductions at 2 and 4 (128,842 at C=16) rather than 2 and 3 (189,162), a figure this toolkit cannot
# reconcile with the stated layout, so the stated layout is kept. Section 4.2 (CIFAR-10): 12 cells,
# reductions 5 and 9, C=16; its epochs are not stated (50 as in 4.1). A mask-training epoch is a full
# pass (reference_steps above any data set's steps per epoch); λ and the mask epochs are not published.
GAL_PAPER = {"epochs": 50, "batch_size": 128, "lr": 0.01, "dropout": 0.0, "channels": 16, "gal_batch_size": 100,
             "g_lr": 0.01, "d_steps": 5, "reference_steps": 1_000_000}
GAL_SMALL = {**GAL_PAPER, "cells": 5, "reductions": (2, 3)}
register(Method("gal", "DARTS-GAL (prune cell nodes with adversarially trained masks)", "prune",
                {"lam": 12.0}, "toolkit.gal.run:run_gal", tunables=("lam", "gal_epochs", "epochs", "retrain"),
                citation=DARTS_GAL, config="toolkit.gal.config:GalConfig", command="toolkit.cli.prune:run_gal_command",
                presets={"paper-mnist": {**GAL_SMALL, "dataset": "mnist"},
                         "paper-fashion-mnist": {**GAL_SMALL, "dataset": "fashion_mnist"},
                         "paper-cifar10": {**GAL_PAPER, "dataset": "cifar10", "cells": 12, "reductions": (5, 9)}},
                preset_sources={"paper-mnist": "DARTS-GAL sections 3.4, 4 and 4.1",
                                "paper-fashion-mnist": "DARTS-GAL sections 3.4, 4 and 4.1",
                                "paper-cifar10": "DARTS-GAL sections 3.4, 4 and 4.2"}))


def _stage(name: str, cells: int, channels: int, epochs: int, train_samples: int, population: int,
           parents: int = 0, **more) -> dict[str, Any]:
    """One stage of an ME-DARTS plan as :class:`toolkit.medarts.stages.Stage` fields."""
    return {"name": name, "cells": cells, "channels": channels, "epochs": epochs, "train_samples": train_samples,
            "population": population, "parents": parents, **more}


# The stage plans (toolkit.medarts.stages explains both). "paper": ME-DARTS Table II; its channels 8 / 12 / 16
# are read from section III.C.1 (they grow with the cells, in proportion to DARTS' 8 cells at C=16) and its
# populations (8, 4 + 4 children, 1) from Table I; neither is given as a number. "cpu-small": Table II scaled
# to digits on a 2-core CPU (epochs 1 : 1 : 3, samples 1 : 1 : 2, batch 32, images at most 8x8).
ME_DARTS_PAPER = {"init": _stage("init", 4, 8, 5, 10000, 8), "mid": _stage("mid", 6, 12, 5, 10000, 8, 4),
                  "final": _stage("final", 8, 16, 15, 20000, 1, 1)}
_SMALL = {"batch_size": 32, "max_image_size": 8}
ME_DARTS_CPU_SMALL = {"init": _stage("init", 3, 8, 2, 600, 4, **_SMALL),
                      "mid": _stage("mid", 4, 8, 2, 600, 4, 2, **_SMALL),
                      "final": _stage("final", 5, 8, 6, 1200, 1, 1, **_SMALL)}
# Its settings are the SearchConfig every member runs ("method": the edge mode, darts by default) and the
# stage plan its preset names (MeDartsConfig.preset); a preset's "stages" is the plan.
register(Method("me-darts", "ME-DARTS (a population of searches in three stages on proxy data, NSGA-II selection)",
                "population", {"preset": "cpu-small", "method": "darts"}, "toolkit.medarts.run:run_me_darts",
                presets={"cpu-small": {"stages": ME_DARTS_CPU_SMALL}, "paper": {"stages": ME_DARTS_PAPER}},
                preset_sources={"paper": "ME-DARTS section III.C, Table II; channels 8 / 12 / 16 read from III.C.1",
                                "cpu-small": "Table II scaled to digits on a 2-core CPU"},
                tunables=("method", "preset"), citation=ME_DARTS, config="toolkit.medarts.config:MeDartsConfig",
                command="toolkit.cli.medarts:run"))

TS_ENAS = ("TS-ENAS: Two-Stage Evolution for Cell-based Network Architecture Search, J. Zou, S. Wu, Y. Xia, "
           "W. Jiang, Z. Wu, J. Zheng")
# Section V.C: P = T0 = 100, S = 30, T1 = 50, crossover 0.8, mutation 0.2, SuperNet 100 epochs, 10 per
# individual, SGD momentum 0.9, weight decay 3e-4. N_min, N_max, the level threshold, C, the batch size and
# the learning rate are not given (C=16 as DARTS' search; the rest the toolkit's).
TS_ENAS_PAPER = {"population": 100, "rough_generations": 100, "survivors": 30, "fine_generations": 50,
                 "crossover_rate": 0.8, "mutation_rate": 0.2, "supernet_epochs": 100, "epochs": 10,
                 "momentum": 0.9, "weight_decay": 3e-4}
register(Method("ts-enas", "TS-ENAS (evolve networks of known cells, then the cells' insides)", "population",
                {**TS_ENAS_PAPER, "level_threshold": 0.01, "n_min": 5, "n_max": 12, "channels": 16, "update_every": 1},
                "toolkit.tsenas.run:run_ts_enas",
                preset_sources={"paper": "TS-ENAS section V.C", "cpu-small": "sized for digits on a 2-core CPU"},
                presets={"paper": TS_ENAS_PAPER,
                         "cpu-small": {"population": 6, "rough_generations": 3, "survivors": 3,
                                       "fine_generations": 2, "n_min": 3, "n_max": 5, "supernet_epochs": 5,
                                       "epochs": 2, "channels": 8, "batch_size": 64,
                                       # digits-sized work on any data set: 1,500 training images at most
                                       # (digits keeps its 1,438), images at most 8x8 (digits' own size)
                                       "max_train_images": 1500, "max_image_size": 8}},
                tunables=("population", "rough_generations", "fine_generations"), citation=TS_ENAS,
                config="toolkit.tsenas.config:TsEnasConfig", command="toolkit.cli.tsenas:run"))


# Evaluation networks (``python -m toolkit train --preset NAME``), a TrainConfig's fields. Not a search method,
# so not in METHODS; the same Method record carries its presets and their sources.
# DARTS section 3.3 and its code (train.py): 20 cells, C=36, 600 epochs, batch 96, SGD lr 0.025 cosine-annealed
# to 0, momentum 0.9, weight decay 3e-4, cutout 16, drop-path 0.2, auxiliary weight 0.4, gradient clip 5, and
# the CIFAR random crop (padding 4) and flip. PC-DARTS and ME-DARTS (section IV.C) evaluate the same way.
DARTS_EVALUATION = {"dataset": "cifar10", "epochs": 600, "batch_size": 96, "cells": 20, "channels": 36, "lr": 0.025,
                    "lr_min": 0.0, "momentum": 0.9, "weight_decay": 3e-4, "grad_clip": 5.0, "auxiliary_weight": 0.4,
                    "drop_path": 0.2, "cutout": 16, "crop_padding": 4, "flip": True}
# ADARTS section IV.C.2: 20 cells, 600 epochs, batch 64, lr 0.017 cosine-annealed to 0, momentum 0.9, weight
# decay 3e-4, cutout 16, auxiliary weight 0.4, drop-path 0.3. C is not stated (DARTS' 36).
TRAINING = Method("train", "train an evaluation network", "train", {}, "toolkit.train:train_network",
                  presets={"darts": DARTS_EVALUATION,
                           "adarts": {**DARTS_EVALUATION, "batch_size": 64, "lr": 0.017, "drop_path": 0.3}},
                  preset_sources={"darts": "DARTS section 3.3 and its code (also PC-DARTS, ME-DARTS IV.C)",
                                  "adarts": "ADARTS section IV.C.2"},
                  citation=DARTS, config="toolkit.config:TrainConfig")
