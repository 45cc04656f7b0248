"""TS-ENAS environmental selection: accuracy levels by threshold α, then low density of N."""

import math
import random

import pytest

from toolkit.errors import ToolkitError
from toolkit.tsenas import accuracy_levels, environmental_selection


def test_levels_group_accuracies_within_alpha_of_the_level_best():
    acc = [0.70, 0.91, 0.905, 0.86, 0.899, 0.85]
    assert accuracy_levels(acc, alpha=0.02) == [[1, 2, 4], [3, 5], [0]]
    assert accuracy_levels(acc, alpha=0.0) == [[1], [2], [4], [3], [5], [0]]


def test_the_level_that_does_not_fit_is_filled_by_low_density_of_n():
    acc = [0.95, 0.94, 0.80, 0.80, 0.79, 0.79]
    depths = [5, 6, 5, 5, 6, 7]
    # Level 1 {0, 1} fits; level 2 {2, 3, 4, 5} must give two: N=7 (density 0) first, then the more
    # accurate of the N=5 and N=6 individuals, which have density 1 each.
    assert environmental_selection(acc, depths, count=4, alpha=0.05) == [0, 1, 5, 2]


def test_densities_are_recounted_after_each_pick():
    acc = [0.9, 0.9, 0.9, 0.9]
    depths = [4, 4, 4, 5]
    assert environmental_selection(acc, depths, count=2, alpha=0.01) == [0, 3]


def test_selection_keeps_better_levels_first_over_random_populations():
    for seed in range(100):
        rng = random.Random(seed)
        size = rng.randint(2, 30)
        acc = [round(rng.uniform(0.5, 1.0), 3) for _ in range(size)]
        depths = [rng.randint(3, 8) for _ in range(size)]
        count, alpha = rng.randint(1, size), rng.choice([0.0, 0.01, 0.05])
        chosen = environmental_selection(acc, depths, count, alpha)
        assert len(chosen) == len(set(chosen)) == count
        level = {i: k for k, members in enumerate(accuracy_levels(acc, alpha)) for i in members}
        worst_chosen = max(level[i] for i in chosen)
        assert all(level[i] >= worst_chosen for i in set(range(size)) - set(chosen))


@pytest.mark.parametrize("acc, depths, count, alpha, message", [
    ([0.9, math.nan], [3, 4], 1, 0.01, r"individual\(s\) \[1\] have no accuracy"),
    ([0.9, 0.8], [3], 1, 0.01, "2 accuracies but 1 depths"),
    ([0.9, 0.8], [3, 4], 3, 0.01, "cannot select 3 of 2"),
    ([0.9, 0.8], [3, 4], 1, -0.1, "alpha must be a number >= 0"),
])
def test_bad_arguments_name_the_problem(acc, depths, count, alpha, message):
    with pytest.raises(ToolkitError, match=message):
        environmental_selection(acc, depths, count, alpha)
