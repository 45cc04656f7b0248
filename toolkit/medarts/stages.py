"""The three stages of ME-DARTS' progressive search (ME-DARTS paper section III.C.1, Table I, Table II).

ME-DARTS searches a population of small supernets in three stages, ``init -> mid -> final``. From
stage to stage the population shrinks while the supernets get deeper and are searched on more
data for more epochs ("inadequate-to-adequate"); every stage searches on the proxy data set
``D_sample`` (a class-balanced sample, bigger each stage) at ``D_low`` resolution (half the
native resolution, section III.C.2).

A :class:`Stage` holds one stage's settings; a :class:`StagePlan` the three in order, checked so
that each stage can be filled from the one before. Two presets, held by the method registry
(:mod:`toolkit.methods`, ``presets`` of ``me-darts``) and read with :func:`stage_plan`:

- ``"paper"``: Table II (4 / 6 / 8 cells, 5 / 5 / 15 epochs, 10000 / 10000 / 20000 training
  images, half resolution: 32x32 -> 16x16 on CIFAR). Section III.C.1 says the ``init`` supernets
  have fewer cells *and channels* than the full search and that both grow with the stages, but
  gives no channel numbers. The preset reads the channels as growing with the cells, in
  proportion to the final stage's DARTS search (8 cells, C=16): 8 / 12 / 16 channels for
  4 / 6 / 8 cells (each divisible by PC-DARTS' and ADARTS' K=4). The population sizes are not
  given either: 8 individuals in ``init``, the best 4 plus their 4 crossover children in ``mid``
  and the single best in ``final`` (Table I: "select single network G_final from pop_mid").
- ``"cpu-small"``: Table II scaled for a 2-core laptop on ``digits`` (8x8 images, 1438 training
  images, at least 139 per class): 3 / 4 / 5 cells, 8 channels, 2 / 2 / 6 epochs (Table II's
  1 : 1 : 3), 600 / 600 / 1200 training images (Table II's 1 : 1 : 2; 60 / 60 / 120 per class),
  half resolution (8x8 -> 4x4), batch 32, and a population of 4 -> 2 parents + 2 children -> 1.
  The sample sizes cap the images whatever the data set's size, and ``max_image_size=8`` caps
  D_low's side (MNIST's 28x28 -> 14x14 -> 8x8, CIFAR's 32x32 -> 16x16 -> 8x8), so a 60,000-image
  set plans the steps digits does on images no larger than 8x8.
  Smaller samples or batch 64 leave a supernet only a handful of steps per stage; its batch
  norms' running statistics are then so far off that its validation accuracy is near chance
  and the selection would rank noise.

Paper: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo.

Example:
    >>> plan = stage_plan("paper")
    >>> [(s.name, s.cells, s.epochs, s.train_samples) for s in plan]
    [('init', 4, 5, 10000), ('mid', 6, 5, 10000), ('final', 8, 15, 20000)]
    >>> plan.mid.children
    4
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..config import check_range, check_types
from ..errors import ToolkitError

STAGE_NAMES = ("init", "mid", "final")


@dataclass(frozen=True)
class Stage:
    """The settings of one search stage (ME-DARTS paper Table II; Table I's ``SetConfigurations``).

    Every individual of the stage is a supernet of ``cells`` cells and ``channels`` initial channels,
    searched for ``epochs`` epochs in batches of ``batch_size`` on ``train_samples`` class-balanced
    training images shrunk by ``downsample`` (half of them train the weights, half α, as in DARTS;
    paper section IV.B.1).

    The stage's population is ``parents`` individuals selected from the previous stage (their α
    inherited, section III.C.4) plus ``children = population - parents`` crossover children, two
    per pair of parents. With ``parents=0`` (the ``init`` stage) all ``population`` individuals are
    new, each from its own random seed (section III.C).
    """

    name: str  # init | mid | final
    cells: int  # supernet cells L (Table II: 4 / 6 / 8)
    channels: int  # initial channels C (not in Table II; DARTS: 16)
    epochs: int  # search epochs (Table II: 5 / 5 / 15)
    train_samples: int  # size of D_sample, the same count from every class (Table II: 10000 / 10000 / 20000)
    population: int  # individuals searched in this stage (not given in the paper)
    parents: int = 0  # of them, selected from the previous stage (0 in init: all start fresh)
    downsample: int = 2  # D_low: images shrunk by this factor with LANCZOS (paper: 2, 32x32 -> 16x16)
    batch_size: int = 64  # search batch (not in Table II; DARTS: 64)
    # largest side of the D_low images: larger ones are shrunk further (None: the paper's D_low only).
    # A laptop preset caps it so its plan does not grow with the data's resolution.
    max_image_size: int | None = None

    def __post_init__(self):
        check_types(self)
        if self.name not in STAGE_NAMES:
            raise ToolkitError(f"unknown stage '{self.name}'; stages are {', '.join(STAGE_NAMES)}")
        check_range(self, "cells", 3, 64, hint="a supernet needs normal and reduction cells, so 3 or more")
        if self.channels < 2 or self.channels % 2:
            raise ToolkitError(f"channels must be an even number >= 2, got {self.channels}")
        check_range(self, "epochs", 1)
        check_range(self, "train_samples", 2, hint="half of D_sample trains the weights and half α")
        check_range(self, "population", 1)
        check_range(self, "parents", 0, self.population, hint="parents are part of the stage's population")
        check_range(self, "downsample", 1, hint="1 keeps the native resolution, the paper's D_low uses 2")
        check_range(self, "batch_size", 1)
        check_range(self, "max_image_size", 2, hint="None keeps the D_low size")
        children = self.children
        if children % 2:
            raise ToolkitError(f"stage {self.name}: {children} crossover children is odd; crossover makes two "
                               f"children per pair of parents, so population - parents must be even")
        most = self.parents * (self.parents - 1)
        if children > most:
            raise ToolkitError(f"stage {self.name}: {self.parents} parents give at most {most} crossover children "
                               f"(two per pair), not {children}; raise parents or lower population")

    @property
    def children(self) -> int:
        """Crossover children in this stage's population (paper section III.C.4); 0 in a fresh stage."""
        return self.population - self.parents if self.parents else 0


@dataclass(frozen=True)
class StagePlan:
    """The three stages ``init -> mid -> final`` in order (ME-DARTS paper Table I).

    Checked on construction: the stages are named init, mid, final; ``init`` has no parents and
    later stages at least one, never more than the previous stage's population; and, as the paper
    makes the search more adequate each stage, cells and ``train_samples`` never decrease.
    """

    init: Stage
    mid: Stage
    final: Stage

    def __post_init__(self):
        stages = tuple(self)
        for expected, stage in zip(STAGE_NAMES, stages):
            if not isinstance(stage, Stage):
                raise ToolkitError(f"stage {expected} must be a Stage, got {type(stage).__name__}")
            if stage.name != expected:
                raise ToolkitError(f"the {expected} stage is named '{stage.name}'; the order is init, mid, final")
        if self.init.parents:
            raise ToolkitError(f"the init stage starts every individual fresh, so parents must be 0, "
                               f"got {self.init.parents}")
        for before, stage in zip(stages, stages[1:]):
            if not 1 <= stage.parents <= before.population:
                raise ToolkitError(f"stage {stage.name} selects {stage.parents} parent(s) from the "
                                   f"{before.population} individual(s) of stage {before.name}; "
                                   f"choose 1 to {before.population}")
            for field in ("cells", "train_samples"):
                if getattr(stage, field) < getattr(before, field):
                    raise ToolkitError(f"stage {stage.name} has fewer {field} ({getattr(stage, field)}) than stage "
                                       f"{before.name} ({getattr(before, field)}); each stage searches at least "
                                       f"as adequately as the one before")

    def __iter__(self):
        return iter((self.init, self.mid, self.final))

    def __len__(self) -> int:
        return 3

    @property
    def total_epochs(self) -> int:
        """Search epochs of one individual through all stages (paper section IV.B.2: 25)."""
        return sum(stage.epochs for stage in self)

    def to_dict(self) -> dict:
        """Plain JSON values, one dict per stage (round-trips through :meth:`from_dict`)."""
        return {stage.name: asdict(stage) for stage in self}

    @classmethod
    def from_dict(cls, d: dict) -> StagePlan:
        if not isinstance(d, dict) or set(d) != set(STAGE_NAMES):
            raise ToolkitError(f"a stage plan needs exactly the stages {', '.join(STAGE_NAMES)}")
        try:
            return cls(*(Stage(**d[name]) for name in STAGE_NAMES))
        except TypeError as e:
            raise ToolkitError(f"not a stage: {e}") from None

    def scaled(self, **fields) -> StagePlan:
        """The same plan with ``fields`` replaced in every stage (e.g. ``downsample=1``)."""
        return StagePlan(*(replace(stage, **fields) for stage in self))


def stage_plan(preset: str = "cpu-small") -> StagePlan:
    """The stage plan of the registry's ME-DARTS preset ``preset`` (:mod:`toolkit.methods`, where both plans
    are written): ``"cpu-small"`` (default, a laptop CPU on digits) or ``"paper"`` (Table II). An unknown
    name is one ToolkitError line listing the presets."""
    from ..methods import get_method

    return StagePlan.from_dict(get_method("me-darts", "population").preset(preset)["stages"])
