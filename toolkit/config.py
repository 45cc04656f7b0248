"""Typed run configurations shared by the CLI, the widgets and scripts.

Defaults follow the DARTS paper for optimiser settings and are small enough for a laptop CPU
for sizes (the papers' sizes are given in comments). Make variants with ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from .errors import ToolkitError
from .methods import get_method, methods
from .space import SearchSpace

METHODS = {name: m.partial for name, m in methods("search").items()}  # search method -> edge mode (registry view)
K_VALUES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class RunConfig:
    """Options every loop shares."""

    dataset: str = "digits"  # digits | mnist | fashion_mnist | cifar10 | cifar100 | folder | fake
    data_dir: str = "data"  # where torchvision sets / an ImageFolder tree live
    image_size: int | None = None  # resize inputs (None keeps the native size)
    epochs: int = 10  # passes over the training data
    batch_size: int = 64  # DARTS: 64 (search), 96 (evaluation)
    seed: int = 0  # seeds Python, NumPy, torch and the data order
    device: str = "auto"  # auto (CUDA > MPS > CPU) | cpu | cuda | mps
    amp: str = "off"  # off | bf16 | fp16 (mixed precision on GPU)
    channels_last: bool = False  # channels-last memory format (faster convs on recent GPUs)
    lr: float = 0.025  # SGD learning rate for the weights (cosine-annealed)
    lr_min: float = 0.001  # final learning rate of the cosine schedule
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ToolkitError(f"{name} must be at least 1, got {getattr(self, name)}")

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
    """

    method: str = "darts"  # darts | pcdarts | adarts (toolkit.methods; None fields below take its defaults)
    space: SearchSpace = field(default_factory=SearchSpace)  # ops and nodes per cell
    channels: int = 8  # initial channels C of the supernet (paper: 16)
    cells: int = 5  # cells L (paper: 8)
    reductions: tuple[int, ...] | None = None  # 1-based reduction positions (default L//3+1, 2L//3+1)
    order: int = 1  # 1 = first-order DARTS, 2 = second-order (unrolled)
    arch_lr: float = 3e-4  # Adam learning rate for α
    arch_weight_decay: float = 1e-3
    k: int | None = None  # channel fraction 1/K entering the mixed op (None: the method's, darts 1, others 4)
    edge_norm: bool | None = None  # PC-DARTS edge normalisation β (None: the method's, on for pcdarts only)
    warmup_epochs: int = 0  # epochs of weight-only training before α updates (PC-DARTS: 15)
    train_portion: float = 0.5  # share of the training set used for w (the rest updates α)

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
        if not 0.0 < self.train_portion < 1.0:
            raise ToolkitError(f"train_portion must be between 0 and 1, got {self.train_portion}")

    @property
    def partial(self) -> str:
        """The supernet edge mode this method uses: none, random or attention."""
        return METHODS[self.method]

    @property
    def uses_edge_norm(self) -> bool:
        """Whether the supernet has β: ``edge_norm``, or the method's default when it is None."""
        return get_method(self.method, "search").edge_norm if self.edge_norm is None else self.edge_norm


@dataclass(frozen=True)
class TrainConfig(RunConfig):
    """Training an evaluation network from a genotype (DARTS evaluation, DARTS-GAL baselines).

    Paper sizes: C=36, 20 cells, 600 epochs, batch 96, auxiliary 0.4, drop-path 0.2 on CIFAR-10.
    """

    channels: int = 16  # initial channels C
    cells: int = 5  # cells when stacking a cell pair (ignored for a full network description)
    reductions: tuple[int, ...] | None = None  # 1-based reduction positions when stacking
    auxiliary_weight: float = 0.0  # weight of the auxiliary head's loss (0 = no auxiliary head)
    drop_path: float = 0.0  # drop-path probability, ramped linearly over the epochs
    dropout: float = 0.0  # dropout before the classifier
    lr_min: float = 0.0
