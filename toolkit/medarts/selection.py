"""Choosing which individuals go on: two objectives, eq. (6), non-dominated sorting and crowding.

ME-DARTS paper section III.C.3. Each individual ``G_i`` is judged by

- ``acc_valid``: the validation accuracy of its search network (its current performance);
- ``para_aug``: the parameter count of the evaluation network ``Ĝ_i`` derived from its α, 20
  cells by default (its potential: "the larger para_aug ... the more information can be
  extracted"), see :func:`para_aug`.

Both are normalised with eq. (6), ``f(x_i) = x_i / (x_max - x_min)``, and, as the paper states,
*both are maximised*. The population is sorted into non-dominated fronts as in NSGA-II (Deb et al.,
"A fast elitist non-dominated sorting genetic algorithm for multi-objective optimisation:
NSGA-II", 2000) and the next stage takes whole fronts, best first; the front that does not fit
whole is cut by crowding distance, largest first, which keeps individuals that differ
(:func:`select`).

Dominance is eq. (7)'s: ``X_b`` dominates ``X_a`` when ``f_i(X_a) < f_i(X_b)`` for every objective
``i``, better in every objective. NSGA-II's Pareto dominance ("at least as good in every
objective and better in one") differs only on ties: an individual with the same accuracy and
more parameters dominates under NSGA-II but not under eq. (7), so there both share a front.
The sorting and crowding are NSGA-II's, as the paper says ("we follow the idea of NSGA-II").

Crowding distance is Deb's: per objective, sort the front, give both ends infinity and every
other point the gap between its two neighbours divided by the objective's range on the front;
sum over objectives. Ties sort by position in the population, so results never depend on the
platform. Individuals with identical objective values count once: the first keeps the distance,
later copies get 0, so a duplicate never pushes out a distinct individual.

Why hand-written and not pymoo: the algorithm is the ~60 lines below, for populations of a few
to a few dozen individuals, while installing pymoo 0.6 adds 15 distributions the toolkit does not
otherwise need (matplotlib, fonttools, kiwisolver, cma, autograd, moocore, alive-progress, ...;
over 100 MB installed) to every workshop laptop on a slow connection. Its import is quick, and
its crowding distance (``"cd"``) does not single out duplicates, which the selection here must
do. The tests check these functions against hand-computed fronts and distances, against the
definition of eq. (7) on populations with many ties, and against pymoo's ``NonDominatedSorting``
(whose dominance agrees with eq. (7) where no two values tie) and ``calc_crowding_distance`` on
random populations; pymoo is a test dependency only.

Paper: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo.

Example:
    >>> points = objectives([0.90, 0.80, 0.85, 0.70], [1000, 3000, 2000, 1500])
    >>> non_dominated_fronts(points)
    [[0, 1, 2], [3]]
    >>> select(points, 2)
    [0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ..errors import ToolkitError
from ..genotype import CellPair
from ..model import EvalNetwork, NetworkSizes, count_parameters

EVAL_CELLS = 20  # cells of the evaluation network Ĝ_i (paper section III.C.3)
EVAL_CHANNELS = 36  # its initial channels (paper section IV.C, as DARTS)


def para_aug(cells: CellPair, num_classes: int, in_channels: int, eval_cells: int = EVAL_CELLS,
             channels: int = EVAL_CHANNELS) -> int:
    """``para_aug``: parameters of the evaluation network built from a derived cell pair.

    The network stacks ``eval_cells`` cells with DARTS' wiring and reductions at L//3 and 2L//3,
    ``channels`` initial channels, no auxiliary head (DARTS' parameter count). It is built on
    PyTorch's meta device, so no memory is allocated for the weights.

    Example:
        >>> from toolkit.genotype import PUBLISHED
        >>> para_aug(PUBLISHED["DARTS_V2"], num_classes=10, in_channels=3)  # DARTS paper: 3.3M
        3349342
    """
    sizes = NetworkSizes(C=channels, num_classes=num_classes, in_channels=in_channels)
    with torch.device("meta"):
        return count_parameters(EvalNetwork(cells.stack(eval_cells), sizes))


def normalise(values: Sequence[float]) -> np.ndarray:
    """Eq. (6): ``f(x_i) = x_i / (x_max - x_min)``.

    When every value is the same the range is zero and eq. (6) is undefined; every individual
    then gets 1.0 (they tie on this objective, which is all the sorting needs to know).

    Raises:
        ToolkitError: no values, or a value that is not a finite number.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ToolkitError(f"eq. (6) needs a non-empty list of numbers, got shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise ToolkitError(f"individual {int(bad[0])} has the value {x[bad[0]]}; every objective must be a finite "
                           f"number (a diverged search has no accuracy: leave it out of the population)")
    spread = x.max() - x.min()
    return np.ones_like(x) if spread == 0 else x / spread


def objectives(accuracies: Sequence[float], parameters: Sequence[float]) -> np.ndarray:
    """The points the selection maximises: column 0 is f(acc_valid), column 1 f(para_aug), eq. (6).

    Args:
        accuracies: validation accuracy of each individual's search network.
        parameters: ``para_aug`` of each individual (:func:`para_aug`).

    Returns:
        An ``n x 2`` array, row ``i`` for individual ``i``.
    """
    if len(accuracies) != len(parameters):
        raise ToolkitError(f"{len(accuracies)} accuracies but {len(parameters)} parameter counts; "
                           f"give one of each per individual")
    return np.stack([normalise(accuracies), normalise(parameters)], axis=1)


def _points(points) -> np.ndarray:
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or not np.isfinite(p).all():
        raise ToolkitError(f"objective values must be an n x m array of finite numbers, got shape {p.shape}")
    return p


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Eq. (7) for maximisation: ``a`` dominates ``b`` when it is better in every objective."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(a > b))


def non_dominated_fronts(points) -> list[list[int]]:
    """NSGA-II's fast non-dominated sort (Deb et al., section III.A) for maximisation.

    Args:
        points: ``n x m`` objective values, larger is better.

    Returns:
        The fronts, best first; each lists individual indices in ascending order. Individuals
        with identical values share a front.
    """
    p = _points(points)
    n = len(p)
    beaten_by = [0] * n  # how many individuals dominate i
    beats: list[list[int]] = [[] for _ in range(n)]  # whom i dominates
    for i in range(n):
        for j in range(i + 1, n):
            if dominates(p[i], p[j]):
                beats[i].append(j)
                beaten_by[j] += 1
            elif dominates(p[j], p[i]):
                beats[j].append(i)
                beaten_by[i] += 1
    fronts, current = [], [i for i in range(n) if beaten_by[i] == 0]
    while current:
        fronts.append(sorted(current))
        following = []
        for i in current:
            for j in beats[i]:
                beaten_by[j] -= 1
                if beaten_by[j] == 0:
                    following.append(j)
        current = following
    return fronts


def crowding_distance(points) -> np.ndarray:
    """NSGA-II's crowding distance (Deb et al., section III.B) of the points of one front.

    Identical points count once (the first keeps the distance, later copies get 0). Per objective,
    the unique points are sorted (ties by position), both ends get ``inf`` and the others add
    ``(next - previous) / (max - min)``; an objective on which all points are equal adds nothing.

    Args:
        points: ``n x m`` objective values of one front.

    Returns:
        ``n`` distances; one or two unique points all get ``inf``.
    """
    p = _points(points)
    distance = np.zeros(len(p))
    first = [i for i in range(len(p)) if not any(np.array_equal(p[i], p[j]) for j in range(i))]
    if len(first) <= 2:
        distance[first] = math.inf
        return distance
    unique = p[first]
    total = np.zeros(len(first))
    for column in unique.T:
        spread = column.max() - column.min()
        if spread == 0:
            continue
        order = np.argsort(column, kind="stable")
        total[order[0]] = total[order[-1]] = math.inf
        gaps = (column[order[2:]] - column[order[:-2]]) / spread
        total[order[1:-1]] += gaps
    distance[first] = total
    return distance


def select(points, count: int) -> list[int]:
    """NSGA-II selection: the best ``count`` individuals by front, then by crowding distance.

    Whole fronts are taken best first while they fit; the front that does not fit whole gives
    its individuals with the largest crowding distance. Equal distances (both ends of a front are
    infinitely far) go to the better first objective, accuracy in :func:`objectives`, then to the
    lower index: selecting one individual (Table I's single ``G_final``) takes the most accurate
    end of the first front, not whichever end comes first in the population.

    Args:
        points: ``n x m`` objective values, larger is better (e.g. :func:`objectives`).
        count: how many to keep, 1 to n.

    Returns:
        The kept indices, best first: by front, crowding distance (largest first), first
        objective (largest first), index. The next stage pairs parents for crossover in this
        order (:func:`~toolkit.medarts.inherit.crossover_pairs`).
    """
    p = _points(points)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(p):
        raise ToolkitError(f"can select 1 to {len(p)} individual(s) from a population of {len(p)}, not {count!r}")
    chosen: list[int] = []
    for front in non_dominated_fronts(p):
        distance = crowding_distance(p[front])
        ranked = sorted(range(len(front)), key=lambda k: (-distance[k], -p[front[k], 0], front[k]))
        chosen += [front[k] for k in ranked][: count - len(chosen)]
        if len(chosen) == count:
            break
    return chosen
