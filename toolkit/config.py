"""Typed run configurations shared by the CLI, the widgets and scripts.

Defaults follow the DARTS paper for optimiser settings and are small enough for a laptop CPU
for sizes (the papers' sizes are given in comments). Make variants with ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from .errors import ToolkitError
from .genotype import default_reductions
from .methods import get_method
from .space import SearchSpace

K_VALUES = (1, 2, 4, 8, 16)
DEVICES = ("auto", "cpu", "cuda", "mps")
AMP_MODES = ("off", "bf16", "fp16")
COMPILE_MODES = ("off", "on", "cudagraphs")  # how a search step runs (toolkit.runtime.compiled)
MAX_SEED = 2**32 - 1  # NumPy's seed range; torch and Python accept it too
MAX_IMAGE_SIZE = 1024


def _type_error(name: str, value, expected: str) -> ToolkitError:
    return ToolkitError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")


def check_types(config) -> None:
    """Check every field against its annotation: ints are whole numbers (not floats or bools),
    floats are finite numbers, strings are strings, optional fields may be None."""
    hints = typing.get_type_hints(type(config))
    for f in fields(config):
        value, hint = getattr(config, f.name), hints[f.name]
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            continue
        base = next((a for a in args if a is not type(None)), hint) if args and type(None) in args else hint
        origin = typing.get_origin(base)
        if base is bool:
            if not isinstance(value, bool):
                raise _type_error(f.name, value, "True or False")
        elif base is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _type_error(f.name, value, "a whole number")
        elif base is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _type_error(f.name, value, "a number")
            if not math.isfinite(value):
                raise ToolkitError(f"{f.name} must be a finite number, got {value}; pass a finite value")
        elif base is str:
            if not isinstance(value, str):
                raise _type_error(f.name, value, "a string")
        elif origin is tuple:
            if isinstance(value, list):  # a list from JSON or a user: store the tuple the field promises
                value = tuple(value)
                object.__setattr__(config, f.name, value)
            if not isinstance(value, tuple) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
                raise _type_error(f.name, value, "a tuple of whole numbers")
        elif base is SearchSpace and not isinstance(value, SearchSpace):
            raise _type_error(f.name, value, "a SearchSpace (e.g. SearchSpace.preset('darts'))")


def check_range(config, name: str, low=None, high=None, low_open: bool = False, high_open: bool = False,
                hint: str = "") -> None:
    """``low <= value <= high`` (or strict where ``*_open``), else a ToolkitError naming the range."""
    value = getattr(config, name)
    if value is None:
        return
    bad = (low is not None and (value <= low if low_open else value < low)) or \
          (high is not None and (value >= high if high_open else value > high))
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
        rule = " and ".join(filter(None, (lo, hi)))
        raise ToolkitError(f"{name} must be {rule}, got {value}{'; ' + hint if hint else ''}")


@dataclass(frozen=True)
class RunConfig:
    """Options every loop shares.

    Attributes:
        dataset: the data set; digits needs no download (the names: toolkit.data.DATASETS).
        data_dir: folder with torchvision datasets or an ImageFolder tree.
        image_size: resize images to this side (None: native size).
        epochs: passes over the training data.
        batch_size: batch size (DARTS: 64 for the search, 96 for evaluation).
        seed: random seed of Python, NumPy, torch and the data order.
        device: auto (CUDA, then MPS, then CPU), cpu, cuda (or cuda:N) or mps.
        amp: mixed precision on GPU: off, bf16 or fp16.
        channels_last: channels-last memory format (faster convolutions on recent GPUs).
        lr: SGD learning rate of the weights (cosine-annealed).
        lr_min: final learning rate of the cosine schedule.
        momentum: SGD momentum.
        weight_decay: weight decay of the weights.
        grad_clip: gradient norm clip.
    """

    dataset: str = "digits"
    data_dir: str = "data"
    image_size: int | None = None
    epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    amp: str = "off"
    channels_last: bool = False
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0

    def __post_init__(self):
        check_types(self)
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ToolkitError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ToolkitError(f"unknown device '{self.device}'; use auto, cpu, cuda (or cuda:N) or mps")
        if self.amp not in AMP_MODES:
            raise ToolkitError(f"unknown amp mode '{self.amp}'; choose one of: {', '.join(AMP_MODES)}")
        check_range(self, "seed", 0, MAX_SEED, hint="choose a seed between 0 and 2**32-1")
        check_range(self, "image_size", 8, MAX_IMAGE_SIZE, hint="choose an image size between 8 and 1024 pixels")
        check_range(self, "lr", 0, low_open=True, hint="use a small positive learning rate such as 0.025")
        check_range(self, "lr_min", 0)
        check_range(self, "momentum", 0, 1, high_open=True)
        check_range(self, "weight_decay", 0)
        check_range(self, "grad_clip", 0, low_open=True)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ToolkitError(f"unknown config field(s) {', '.join(sorted(unknown))} for {cls.__name__}")
        values = dict(d)
        if "space" in values and isinstance(values["space"], dict):
            values["space"] = SearchSpace.from_dict(values["space"])
        for key in ("reductions",):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclass(frozen=True)
class SearchConfig(RunConfig):
    """A differentiable search (DARTS, PC-DARTS, ADARTS).

    Paper sizes: C=16, 8 cells, 50 epochs, batch 64 on CIFAR-10.

    Attributes:
        method: the search method of the registry (toolkit.methods): darts, pcdarts or adarts; fields left at
            None take its defaults.
        space: candidate ops and intermediate nodes per cell.
        channels: initial channels C of the supernet (DARTS: 16).
        cells: cells L (DARTS: 8).
        reductions: 1-based positions of reduction cells (None: L//3+1 and 2L//3+1).
        order: 1: first-order DARTS, 2: second-order (unrolled).
        arch_lr: Adam learning rate of α.
        arch_weight_decay: weight decay of α.
        k: channel fraction 1/K entering the mixed op of pcdarts and adarts (None: the method's).
        edge_norm: PC-DARTS edge normalisation β (None: the method's, on for pcdarts only).
        warmup_epochs: epochs of weight-only training before α starts to move (PC-DARTS: 15).
        train_portion: share of the training images that train the weights (the rest train α).
        compile: how the search step runs: off (eager), on (torch.compile) or cudagraphs (the whole step
            recorded as one CUDA graph and replayed; CUDA with fp32 or bf16). Both static: the last short
            batch is dropped. Where it cannot apply, one line says so and the step runs eagerly.
    """

    method: str = "darts"
    space: SearchSpace = field(default_factory=SearchSpace)
    channels: int = 8
    cells: int = 5
    reductions: tuple[int, ...] | None = None
    order: int = 1
    arch_lr: float = 3e-4
    arch_weight_decay: float = 1e-3
    k: int | None = None
    edge_norm: bool | None = None
    warmup_epochs: int = 0
    train_portion: float = 0.5
    compile: str = "off"

    def __post_init__(self):
        super().__post_init__()
        for name, value in get_method(self.method, "search").defaults.items():  # the registry's defaults
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.order not in (1, 2):
            raise ToolkitError(f"order must be 1 (first-order) or 2 (second-order), got {self.order}")
        if self.k not in K_VALUES:
            raise ToolkitError(f"K must be one of {', '.join(map(str, K_VALUES))}, got {self.k}")
        if self.method != "darts" and self.channels % self.k:
            raise ToolkitError(f"K={self.k} does not divide the {self.channels} channels; "
                               f"choose channels that are a multiple of {self.k}")
        if not 1 <= self.cells <= 64:
            raise ToolkitError(f"cells must be between 1 and 64, got {self.cells}")
        if self.channels < 2 or self.channels % 2:
            raise ToolkitError(f"channels must be an even number >= 2, got {self.channels}")
        reductions = default_reductions(self.cells) if self.reductions is None else self.reductions
        if not reductions or set(range(1, self.cells + 1)) <= set(reductions):
            raise ToolkitError(f"a search needs at least one normal and one reduction cell, and cells={self.cells} "
                               f"with reductions {list(reductions)} has not; use --cells 3 or more")
        if not 0.0 < self.train_portion < 1.0:
            raise ToolkitError(f"train_portion must be between 0 and 1, got {self.train_portion}")
        if self.compile not in COMPILE_MODES:
            raise ToolkitError(f"unknown compile mode '{self.compile}'; choose one of: {', '.join(COMPILE_MODES)}")
        check_range(self, "arch_lr", 0, low_open=True, hint="use a small positive rate such as 3e-4")
        check_range(self, "arch_weight_decay", 0)
        check_range(self, "warmup_epochs", 0, self.epochs, hint="warm-up epochs run before α starts to move")

    @property
    def partial(self) -> str:
        """The supernet edge mode this method uses: none, random or attention."""
        return get_method(self.method, "search").partial

    @property
    def uses_edge_norm(self) -> bool:
        """Whether the supernet has β: ``edge_norm``, or the method's default when it is None."""
        return get_method(self.method, "search").edge_norm if self.edge_norm is None else self.edge_norm


@dataclass(frozen=True)
class TrainConfig(RunConfig):
    """Training an evaluation network from a genotype (DARTS evaluation, DARTS-GAL baselines).

    Paper sizes: C=36, 20 cells, 600 epochs, batch 96, auxiliary 0.4, drop-path 0.2 on CIFAR-10
    (the registry's training presets, :data:`toolkit.methods.TRAINING`).

    Attributes:
        channels: initial channels C (DARTS evaluation: 36).
        cells: cells when stacking a cell pair (DARTS evaluation: 20; a full network description keeps its own).
        reductions: 1-based reduction positions when stacking (None: L//3+1 and 2L//3+1).
        auxiliary_weight: weight of the auxiliary head's loss (0: no auxiliary head; DARTS: 0.4).
        drop_path: drop-path probability, ramped linearly over the epochs (DARTS: 0.2).
        dropout: dropout before the classifier.
        crop_padding: random crop after zero padding by this many pixels (None: 4 on cifar10/100, off elsewhere;
            0: off).
        flip: random left-right flip (None: on for cifar10/100, off elsewhere, as flips change digits).
        cutout: side of the square cutout zeroes (0: off; DARTS evaluation: 16).
    """

    epochs: int = 20
    channels: int = 16
    cells: int = 5
    reductions: tuple[int, ...] | None = None
    auxiliary_weight: float = 0.0
    drop_path: float = 0.0
    dropout: float = 0.0
    lr_min: float = 0.0
    crop_padding: int | None = None
    flip: bool | None = None
    cutout: int = 0

    def __post_init__(self):
        super().__post_init__()
        check_range(self, "channels", 1, 4096)
        check_range(self, "cells", 1, 64)
        check_range(self, "auxiliary_weight", 0, hint="0 turns the auxiliary head off; the paper uses 0.4")
        check_range(self, "drop_path", 0, 1, high_open=True, hint="the paper uses 0.2")
        check_range(self, "dropout", 0, 1, high_open=True)
        check_range(self, "crop_padding", 0, 64, hint="DARTS pads by 4 before its random crop")
        check_range(self, "cutout", 0, MAX_IMAGE_SIZE, hint="0 turns cutout off; DARTS uses 16")

    @property
    def augmentation(self):
        """The crop, flip and cutout of the training batches (:mod:`toolkit.augment`), defaults resolved."""
        from .augment import resolve_augmentation

        return resolve_augmentation(self.dataset, self.crop_padding, self.flip, self.cutout)


def field_default(cls, name: str):
    """The default of dataclass field ``name`` of ``cls`` (its factory's value for a factory default)."""
    f = next((f for f in fields(cls) if f.name == name), None)
    if f is None:
        raise ToolkitError(f"{cls.__name__} has no field '{name}'")
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None


def field_help(cls, name: str) -> str:
    """The one-line description of field ``name`` of config class ``cls``: its entry in the ``Attributes:``
    section of the docstring of ``cls`` or of the nearest base class documenting it (an entry may name
    several fields, ``a, b: text``). The command line's help texts are these, so help and API agree.

    Example:
        >>> field_help(TrainConfig, "epochs")
        'passes over the training data.'
    """
    for klass in cls.__mro__:
        text = _attributes(klass.__dict__.get("__doc__") or "").get(name)
        if text is not None:
            return text
    raise ToolkitError(f"{cls.__name__}.{name} has no description; add it to the class's Attributes section")


def _attributes(doc: str) -> dict[str, str]:
    """``{field: text}`` of a Google-style ``Attributes:`` section (continuation lines joined)."""
    lines = doc.expandtabs().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "Attributes:"), None)
    if start is None:
        return {}
    entries: dict[str, str] = {}
    names: list[str] = []
    indent = None
    for line in lines[start + 1:]:
        if not line.strip():
            break
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        if depth < indent:
            break
        if depth == indent:
            head, _, text = line.strip().partition(": ")
            names = [n.strip() for n in head.split(",")]
            entries.update(dict.fromkeys(names, text.strip()))
        else:
            entries.update({n: f"{entries[n]} {line.strip()}" for n in names})
    return entries


def configure(cls, entry=None, preset: str | None = None, flags: Mapping | None = None,
              **fixed) -> tuple[typing.Any, dict[str, str]]:
    """A config of ``cls`` and where each field's value came from: the one place presets are applied.

    The layers, each over the one before: the dataclass default (``"default"``), the method's defaults
    in the registry (``"method default"``, the fields of ``cls`` only), the registry preset
    (``"preset NAME"``), then the caller's values (``flags``: ``"flag"``, and ``fixed``: ``"argument"``).
    None in ``flags`` means "not given".

    Args:
        cls: the config dataclass (SearchConfig, TrainConfig, GalConfig, TsEnasConfig).
        entry: the registry's :class:`~toolkit.methods.Method` whose defaults and presets apply (None: none).
        preset: the preset's name (``NAME`` or ``METHOD:NAME``); an unknown one is a ToolkitError
            listing the method's presets.
        flags: field values the user gave (a command line's options).
        fixed: field values the caller sets (e.g. ``method=``).

    Returns:
        ``(config, sources)``: the checked config and ``{field: source}`` for every field.

    Example:
        >>> config, sources = configure(SearchConfig, get_method("adarts"), "paper", {"epochs": 3}, method="adarts")
        >>> config.arch_lr, sources["arch_lr"], sources["epochs"]
        (0.0006, 'preset paper', 'flag')
    """
    names = [f.name for f in fields(cls)]
    values = {name: field_default(cls, name) for name in names}
    sources = dict.fromkeys(names, "default")
    layers = []
    if entry is not None:
        layers.append(("method default", {k: v for k, v in entry.defaults.items() if k in values}))
        if preset is not None:
            layers.append((f"preset {preset.rpartition(':')[2]}", entry.preset(preset)))
    elif preset is not None:
        raise ToolkitError(f"preset '{preset}' needs a method")
    layers += [("flag", {k: v for k, v in (flags or {}).items() if v is not None}), ("argument", fixed)]
    for label, layer in layers:
        for name, value in layer.items():
            if name not in values:
                raise ToolkitError(f"{cls.__name__} has no field '{name}' ({label})")
            values[name], sources[name] = value, label
    return cls(**values), sources


def method_settings(method) -> dict[str, typing.Any]:
    """Every setting of registry method ``method`` and its default: its config class's defaults with the
    method's defaults applied (:func:`configure`, no preset). A config class may narrow this with a
    ``method_settings(method)`` classmethod (ME-DARTS: its members' search settings less those each
    stage sets). The command line shows these as its flags' defaults and accepts only these flags.

    Example:
        >>> method_settings(get_method("pcdarts"))["k"], "population" in method_settings(get_method("darts"))
        (4, False)
    """
    cls = method.config_class
    if hasattr(cls, "method_settings"):
        return cls.method_settings(method)
    config = configure(cls, method)[0]
    return {f.name: getattr(config, f.name) for f in fields(cls)}


def search_config(method: str, preset: str | None = None, **fields) -> SearchConfig:
    """A :class:`SearchConfig` for ``method`` with the registry's ``preset`` and then ``fields`` applied.

    Example:
        >>> search_config("pcdarts", preset="paper").warmup_epochs
        15
    """
    return configure(SearchConfig, get_method(method, "search"), preset, fields, method=method)[0]
