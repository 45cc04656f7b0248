"""ME-DARTS selection: eq. (6), para_aug, non-dominated fronts and crowding distance against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from toolkit import PUBLISHED, EvalNetwork, Genotype, NetworkSizes, ToolkitError, count_parameters
from toolkit.genotype import CellPair
from toolkit.medarts.selection import (
    crowding_distance,
    dominates,
    non_dominated_fronts,
    normalise,
    objectives,
    para_aug,
    select,
)

INF = math.inf


def test_eq6_divides_by_the_range():
    np.testing.assert_allclose(normalise([2.0, 4.0, 6.0]), [0.5, 1.0, 1.5])
    np.testing.assert_allclose(normalise([3.0, 3.0]), [1.0, 1.0])  # zero range: a tie
    for bad in ([], [1.0, float("nan")], [1.0, float("inf")]):
        with pytest.raises(ToolkitError):
            normalise(bad)
    with pytest.raises(ToolkitError, match="3 accuracies but 2"):
        objectives([0.1, 0.2, 0.3], [1, 2])


def test_both_objectives_are_maximised():
    points = objectives([0.9, 0.95, 0.8], [1000, 2000, 3000])
    assert dominates(points[1], points[0])  # more accurate and more parameters: better (section III.C.3)
    assert not dominates(points[0], points[1]) and not dominates(points[0], points[0])
    assert non_dominated_fronts(points) == [[1, 2], [0]]


def test_dominance_is_strict_as_in_eq7():
    # equal accuracy, more parameters: better in one objective only, so no dominance under eq. (7)
    tied = objectives([0.9, 0.9, 0.8], [1000, 2000, 3000])
    assert not dominates(tied[1], tied[0]) and not dominates(tied[0], tied[1])
    assert non_dominated_fronts(tied) == [[0, 1, 2]]
    assert non_dominated_fronts([[1.0, 2.0], [1.0, 2.0], [0.5, 1.0]]) == [[0, 1], [2]]  # copies share a front


def test_fronts_of_a_hand_made_population():
    # (acc, para_aug) of 7 individuals; front 1: 0, 1, 2 (none beats another); 3 is beaten by 2;
    # 4 by 0 and 3; 5 equals 3 (same front); 6 is beaten by everyone.
    acc = [0.90, 0.70, 0.80, 0.75, 0.74, 0.75, 0.50]
    par = [1000, 3000, 2000, 1500, 900, 1500, 800]
    assert non_dominated_fronts(objectives(acc, par)) == [[0, 1, 2], [3, 5], [4], [6]]
    assert non_dominated_fronts([[1.0, 1.0]]) == [[0]]
    assert non_dominated_fronts(np.zeros((0, 2))) == []


def test_crowding_distance_by_hand():
    # objective 1: 0 1 3 5 (range 5): point 1 gets (3-0)/5, point 2 gets (5-1)/5;
    # objective 2: 5 3 2 0 (range 5): point 1 gets (5-2)/5, point 2 gets (3-0)/5.
    front = [[0, 5], [1, 3], [3, 2], [5, 0]]
    np.testing.assert_allclose(crowding_distance(front), [INF, 0.6 + 0.6, 0.8 + 0.6, INF])
    np.testing.assert_array_equal(crowding_distance([[0.3, 0.1]]), [INF])
    np.testing.assert_array_equal(crowding_distance([[0.3, 0.1], [0.1, 0.3]]), [INF, INF])


def test_crowding_distance_with_ties_and_duplicates():
    # 1 duplicates 0 and gets 0; on the unique points (1,3) (2,1) (0,4): objective 1 sorts 3, 0, 2
    # (range 2): point 0 gets (2-0)/2; objective 2 sorts 2, 0, 3 (range 3): point 0 gets (4-1)/3.
    front = [[1, 3], [1, 3], [2, 1], [0, 4]]
    np.testing.assert_allclose(crowding_distance(front), [2.0, 0.0, INF, INF])
    np.testing.assert_array_equal(crowding_distance([[1, 3], [1, 3]]), [INF, 0.0])
    # a tie on objective 2 (all equal): it adds nothing; objective 1 sorts 0, 1, 2 (range 2)
    np.testing.assert_allclose(crowding_distance([[0, 1], [1, 1], [2, 1]]), [INF, 1.0, INF])


def test_select_fills_best_fronts_then_cuts_by_crowding():
    acc = [0.90, 0.70, 0.80, 0.75, 0.74, 0.75, 0.50]
    par = [1000, 3000, 2000, 1500, 900, 1500, 800]
    points = objectives(acc, par)
    assert select(points, 2) == [0, 1]  # the two ends of the first front (inf distance), by index
    assert select(points, 3) == [0, 1, 2]
    assert select(points, 4) == [0, 1, 2, 3]  # 3 and 5 are duplicates: the first keeps its distance
    assert select(points, 7) == [0, 1, 2, 3, 5, 4, 6]
    duplicates = [[1, 3], [1, 3], [2, 1], [0, 4]]
    assert select(duplicates, 3) == [2, 3, 0]  # the copy of 0 goes last
    assert select([[0.5, 0.5]], 1) == [0]
    ends = objectives([0.7, 0.9, 0.8], [3000, 1000, 2000])  # 0 and 1 are both ends of the front (inf)
    assert select(ends, 1) == [1]  # equal distance: the more accurate end, not the lower index
    for count in (0, 8, True, 2.0):
        with pytest.raises(ToolkitError, match="can select 1 to 7"):
            select(points, count)


@pytest.mark.parametrize("seed", range(5))
def test_fronts_with_ties_follow_the_definition_of_eq7(seed):
    points = np.random.default_rng(seed).integers(0, 5, size=(30, 2)).astype(float)  # many ties and duplicates
    fronts = non_dominated_fronts(points)
    assert sorted(i for f in fronts for i in f) == list(range(30))
    for k, front in enumerate(fronts):
        later = [j for f in fronts[k:] for j in f]
        for i in front:
            assert not any(np.all(points[j] > points[i]) for j in later)  # nothing here or later beats it
            if k:  # and something in the front before does, in every objective
                assert any(np.all(points[j] > points[i]) for j in fronts[k - 1])


@pytest.mark.parametrize("seed", range(5))
def test_fronts_and_distances_agree_with_pymoo(seed):
    rng = np.random.default_rng(seed)
    points = rng.permutation(30 * 2).reshape(30, 2).astype(float)  # no ties: pymoo's dominance is eq. (7)'s
    expected = NonDominatedSorting().do(-points)  # pymoo minimises
    assert non_dominated_fronts(points) == [sorted(front.tolist()) for front in expected]
    front = rng.random((12, 2))  # distinct values: pymoo's distance is Deb's divided by the objective count
    np.testing.assert_allclose(crowding_distance(front), 2 * calc_crowding_distance(front))


def test_para_aug_counts_the_twenty_cell_evaluation_network():
    assert para_aug(PUBLISHED["DARTS_V2"], num_classes=10, in_channels=3) == 3349342  # DARTS paper: 3.3M
    cells = PUBLISHED["DARTS_V1"]
    built = EvalNetwork(cells.stack(5), NetworkSizes(C=8, num_classes=7, in_channels=1))
    assert para_aug(cells, num_classes=7, in_channels=1, eval_cells=5, channels=8) == count_parameters(built)
    skips = Genotype.from_text("skip_connect(0)+skip_connect(1) | skip_connect(0)+skip_connect(1) ; 2,3")
    convs = Genotype.from_text("sep_conv_3x3(0)+sep_conv_3x3(1) | sep_conv_3x3(0)+sep_conv_3x3(1) ; 2,3")
    assert para_aug(CellPair(convs, convs), 10, 3) > para_aug(CellPair(skips, skips), 10, 3)
