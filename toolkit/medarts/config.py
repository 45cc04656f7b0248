"""The settings of an ME-DARTS run: the search every individual runs and the three stages' plan.

A :class:`MeDartsConfig` holds one :class:`~toolkit.config.SearchConfig` (the edge mode, search
space, optimiser settings, dataset and seed shared by every individual) and a
:class:`~toolkit.medarts.stages.StagePlan` (``preset`` ``"cpu-small"`` by default or ``"paper"``,
Table II, unless ``stages`` is given). Each individual's search is that SearchConfig with the
stage's ``cells``, ``channels``, ``epochs`` and ``batch_size`` and the individual's own seed
(:meth:`MeDartsConfig.member_config`); its data is the stage's proxy (``D_sample`` at ``D_low``).

Paper: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo (section III.C, Table II).

Example:
    >>> config = MeDartsConfig(SearchConfig(method="pcdarts", dataset="digits"))
    >>> config.preset, config.stages.mid.cells
    ('cpu-small', 4)
    >>> config.member_config(config.stages.final, seed=7).cells
    5
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace

from ..config import SearchConfig, check_range, check_types, method_settings
from ..errors import ToolkitError
from ..methods import get_method
from .selection import EVAL_CELLS, EVAL_CHANNELS
from .stages import Stage, StagePlan, stage_plan

_DEFAULTS = get_method("me-darts", "population").defaults  # the registry's defaults
# the search settings each stage sets for its members: cells, channels, epochs and batch_size
STAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Stage) if f.name in SearchConfig.__dataclass_fields__)


@dataclass(frozen=True)
class MeDartsConfig:
    """An ME-DARTS run.

    Attributes:
        search: the differentiable search each individual runs (method darts, pcdarts or adarts;
            space; learning rates; dataset; ``seed``, from which individual ``i`` of ``init`` gets
            ``seed + i``). Its cells, channels, epochs and batch size are replaced by each stage's.
        preset: the stage plan's name when ``stages`` is None (``"cpu-small"`` or ``"paper"``).
        stages: an explicit plan instead of the preset.
        eval_cells: cells of the evaluation network whose parameters are ``para_aug`` (paper: 20).
        eval_channels: its initial channels (paper: 36).
    """

    search: SearchConfig = field(default_factory=SearchConfig)
    preset: str | None = None
    stages: StagePlan | None = None
    eval_cells: int = EVAL_CELLS
    eval_channels: int = EVAL_CHANNELS

    def __post_init__(self):
        if not isinstance(self.search, SearchConfig):
            raise ToolkitError(f"search must be a SearchConfig, got {type(self.search).__name__}")
        if self.preset is None:
            object.__setattr__(self, "preset", _DEFAULTS["preset"])
        if self.stages is None:
            object.__setattr__(self, "stages", stage_plan(self.preset))
        check_types(self)
        if not isinstance(self.stages, StagePlan):
            raise ToolkitError(f"stages must be a StagePlan, got {type(self.stages).__name__}")
        check_range(self, "eval_cells", 3, 64, hint="the paper's evaluation network has 20 cells")
        if self.eval_channels < 2 or self.eval_channels % 2:
            raise ToolkitError(f"eval_channels must be an even number >= 2, got {self.eval_channels}")
        for stage in self.stages:  # every stage's search config must be valid (e.g. K divides the channels)
            self.member_config(stage, self.search.seed)

    @classmethod
    def method_settings(cls, method) -> dict:
        """The settings of an ME-DARTS run a command line or panel gives, with their defaults: the fields of
        the SearchConfig every member runs (its edge method's, the registry's ``method``: darts) less
        :data:`STAGE_FIELDS`, which each stage of the plan sets (:func:`toolkit.config.method_settings`)."""
        search = method_settings(get_method(method.defaults["method"], "search"))
        return {name: value for name, value in search.items() if name not in STAGE_FIELDS}

    def member_config(self, stage: Stage, seed: int) -> SearchConfig:
        """The search one individual runs in ``stage`` (the stage's sizes, the individual's seed)."""
        try:
            return replace(self.search, **{name: getattr(stage, name) for name in STAGE_FIELDS}, seed=seed,
                           warmup_epochs=min(self.search.warmup_epochs, stage.epochs))
        except ToolkitError as e:
            raise ToolkitError(f"stage {stage.name}: {e}") from None

    def to_dict(self) -> dict:
        return {"search": self.search.to_dict(), "preset": self.preset, "stages": self.stages.to_dict(),
                "eval_cells": self.eval_cells, "eval_channels": self.eval_channels}

    @classmethod
    def from_dict(cls, d: dict) -> MeDartsConfig:
        if not isinstance(d, dict) or not isinstance(d.get("search"), dict):
            raise ToolkitError("not an ME-DARTS config (needs a 'search' dict)")
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ToolkitError(f"unknown ME-DARTS config field(s) {', '.join(sorted(unknown))}")
        values = dict(d, search=SearchConfig.from_dict(d["search"]))
        if values.get("stages") is not None:
            values["stages"] = StagePlan.from_dict(values["stages"])
        return cls(**values)
