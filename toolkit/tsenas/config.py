"""The settings of a TS-ENAS run, checked when made; defaults and presets from :mod:`toolkit.methods`."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import RunConfig, check_range, configure
from ..errors import ToolkitError
from ..methods import get_method
from .encoding import check_depth

_D = get_method("ts-enas").defaults


@dataclass(frozen=True)
class TsEnasConfig(RunConfig):
    """A TS-ENAS search (section V.C). ``epochs`` is each individual's brief training.

    Attributes:
        epochs: each individual's brief training, in epochs (section V.C: 10).
        channels: initial channels C of every network (and of the SuperNet).
        population: P, the rough stage's population (Algorithm 2).
        rough_generations: T0, generations of the rough stage after the initial population.
        survivors: S, the individuals that enter the fine stage.
        fine_generations: T1, generations of the fine stage (Algorithm 4).
        crossover_rate: γ of Algorithm 2, the crossover probability.
        mutation_rate: β of Algorithm 2, the mutation probability.
        level_threshold: α of the environmental selection: accuracies closer than this form one level.
        n_min: fewest cells N of a network (Algorithm 3).
        n_max: most cells N of a network (Algorithm 3).
        supernet_epochs: epochs of SuperNet training before the first generation (Algorithm 2 line 3).
        update_every: generations between two write-backs of cell weights into the SuperNet (IV.B.2).
        max_train_images: keep at most this many training images (the same count per class, seeded)
            before D_valid is held out; None keeps all (the paper). Sizes a laptop preset by the data.
        max_image_size: shrink larger images to this side length for the whole search, final test
            included; None keeps the loaded size (the paper).
    """

    epochs: int = _D["epochs"]
    channels: int = _D["channels"]
    population: int = _D["population"]
    rough_generations: int = _D["rough_generations"]
    survivors: int = _D["survivors"]
    fine_generations: int = _D["fine_generations"]
    crossover_rate: float = _D["crossover_rate"]
    mutation_rate: float = _D["mutation_rate"]
    level_threshold: float = _D["level_threshold"]
    n_min: int = _D["n_min"]
    n_max: int = _D["n_max"]
    supernet_epochs: int = _D["supernet_epochs"]
    update_every: int = _D["update_every"]
    max_train_images: int | None = None  # class-balanced cap on the training images (None: all of them)
    max_image_size: int | None = None  # largest image side the search trains on (None: as loaded)

    def __post_init__(self):
        super().__post_init__()
        if self.channels < 2 or self.channels % 2:
            raise ToolkitError(f"channels must be an even number >= 2, got {self.channels}")
        check_range(self, "population", 2, hint="crossover needs two parents")
        for name in ("rough_generations", "fine_generations"):
            check_range(self, name, 0)
        for name in ("survivors", "supernet_epochs", "update_every"):
            check_range(self, name, 1)
        if self.survivors > self.population:
            raise ToolkitError(f"survivors (S={self.survivors}) must not exceed the population "
                               f"(P={self.population}); the fine stage starts from the best S of the rough stage")
        for name in ("crossover_rate", "mutation_rate"):
            check_range(self, name, 0, 1)
        check_range(self, "level_threshold", 0, hint="accuracies closer than it count as equally good")
        check_depth(self.n_min, self.n_max)
        check_range(self, "max_train_images", 20, hint="D_valid needs images of every class; None keeps all")
        check_range(self, "max_image_size", 4, hint="None keeps the loaded size")


def ts_enas_config(preset: str | None = None, **fields) -> TsEnasConfig:
    """A :class:`TsEnasConfig` with the registry's ``preset`` ('cpu-small' or 'paper') and then ``fields``."""
    return configure(TsEnasConfig, get_method("ts-enas", "population"), preset, fields)[0]
