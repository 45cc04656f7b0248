"""ME-DARTS: a population of DARTS supernets searched in three stages on proxy data, with evolution.

ME-DARTS paper section III.C: individuals are searched as DARTS supernets (any edge mode: DARTS,
PC-DARTS, ADARTS) on a class-balanced, half-resolution proxy of the training set; after each
stage the population is sorted into non-dominated fronts on validation accuracy and the
parameter count of the derived evaluation network, and the selected individuals pass their α
on to deeper supernets, with crossover children of normal and reduction cells joining them.

- :mod:`.stages`: the stage settings (Table II) and presets.
- :mod:`.proxy`: ``D_sample`` and ``D_low``.
- :mod:`.selection`: eq. (6), ``para_aug``, NSGA-II fronts, crowding distance, selection.
- :mod:`.individual` and :mod:`.inherit`: α as plain values, inheritance and crossover.
- :mod:`.config` and :mod:`.run`: the run's settings and the population loop (:func:`run_me_darts`).
- :mod:`.proxy_check`: does the proxy keep the ranking (section IV.D, Kendall's τ)?

Paper: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo.

Example:
    >>> from toolkit.medarts import objectives, select, stage_plan
    >>> stage_plan("paper").final.cells
    8
    >>> select(objectives([0.9, 0.8, 0.7], [2.0e6, 2.5e6, 1.0e6]), 2)
    [0, 1]
"""

from .config import MeDartsConfig
from .individual import Individual
from .inherit import crossover, crossover_pairs, inherit
from .proxy import proxy_data, sample_size
from .proxy_check import ProxyCheck, check_proxy, kendall_tau, pearson_r, random_cell_pair
from .run import MeDartsResult, MemberSpec, run_me_darts, search_member
from .selection import crowding_distance, dominates, non_dominated_fronts, normalise, objectives, para_aug, select
from .stages import Stage, StagePlan, stage_plan

__all__ = [
    "Individual", "MeDartsConfig", "MeDartsResult", "MemberSpec", "ProxyCheck", "Stage", "StagePlan",
    "check_proxy", "crossover", "crossover_pairs", "crowding_distance", "dominates", "inherit", "kendall_tau",
    "non_dominated_fronts", "normalise", "objectives", "para_aug", "pearson_r", "proxy_data", "random_cell_pair",
    "run_me_darts", "sample_size", "search_member", "select", "stage_plan",
]
