"""TS-ENAS environmental selection of the rough stage (section IV.B.4; Algorithm 2 line 21).

Individuals whose accuracies differ by less than a threshold α are equally good: sorted by
accuracy, they form *levels*, each holding the individuals within α of the level's best. Whole
levels enter the next population in order. The level that does not fit is filled by *density*:
an individual's density is the number of individuals already selected with the same N (number of
cells), and the least dense goes in first, so the next population keeps a spread of depths for the
fine stage. Densities are recounted after each pick; ties go to the more accurate individual, then
to the earlier one, so the selection is deterministic.

Example:
    >>> environmental_selection([0.90, 0.89, 0.80, 0.79], depths=[5, 5, 5, 6], count=3, alpha=0.02)
    [0, 1, 3]
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Sequence

from ..errors import ToolkitError


def accuracy_levels(accuracies: Sequence[float], alpha: float) -> list[list[int]]:
    """Indices grouped into levels, best level first: each within ``alpha`` of its level's best.

    Within a level, indices are in order of decreasing accuracy (ties: lower index first).
    """
    _check(accuracies, alpha)
    order = sorted(range(len(accuracies)), key=lambda i: (-accuracies[i], i))
    levels: list[list[int]] = []
    for i in order:
        if levels and accuracies[levels[-1][0]] - accuracies[i] < alpha:
            levels[-1].append(i)
        else:
            levels.append([i])
    return levels


def environmental_selection(accuracies: Sequence[float], depths: Sequence[int], count: int,
                            alpha: float) -> list[int]:
    """Indices of the ``count`` individuals that form the next population (IV.B.4).

    Args:
        accuracies: fitness (validation accuracy) of each individual of ``P_t ∪ Q_t``.
        depths: N, the number of cells, of each individual.
        count: size of the next population.
        alpha: accuracies closer than this are one level.

    Returns:
        Selected indices, in the order they were selected.
    """
    if len(depths) != len(accuracies):
        raise ToolkitError(f"got {len(accuracies)} accuracies but {len(depths)} depths")
    if not isinstance(count, int) or not 1 <= count <= len(accuracies):
        raise ToolkitError(f"cannot select {count!r} of {len(accuracies)} individuals")
    chosen: list[int] = []
    density: Counter = Counter()
    for level in accuracy_levels(accuracies, alpha):
        if len(chosen) + len(level) <= count:
            chosen += level
            density.update(depths[i] for i in level)
            continue
        rest = list(level)  # already sorted by accuracy, so min() breaks density ties by accuracy
        while len(chosen) < count:
            best = min(rest, key=lambda i: density[depths[i]])
            rest.remove(best)
            chosen.append(best)
            density[depths[best]] += 1
        break
    return chosen


def _check(accuracies: Sequence[float], alpha: float) -> None:
    if not isinstance(alpha, numbers.Real) or not alpha >= 0:
        raise ToolkitError(f"the level threshold alpha must be a number >= 0, got {alpha!r}")
    bad = [i for i, a in enumerate(accuracies) if not isinstance(a, numbers.Real) or math.isnan(a)]
    if bad:
        raise ToolkitError(f"individual(s) {bad} have no accuracy (NaN or not a number); evaluate them first")
