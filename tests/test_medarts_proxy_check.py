"""ME-DARTS proxy validation: Pearson's r and Kendall's τ on hand-made lists, a tiny proxy-vs-full training."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from toolkit import ToolkitError
from toolkit.config import TrainConfig
from toolkit.data import balanced_subset, load_dataset
from toolkit.medarts.proxy import proxy_data
from toolkit.medarts.proxy_check import check_proxy, kendall_tau, pearson_r, random_cell_pair
from toolkit.medarts.stages import Stage
from toolkit.space import SearchSpace
from toolkit.train import train_network


def test_kendall_tau_on_hand_made_rankings():
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40])[0] == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [40, 30, 20, 10])[0] == pytest.approx(-1.0)
    assert kendall_tau([1, 2, 3, 4], [10, 30, 20, 40])[0] == pytest.approx((5 - 1) / 6)  # one swapped pair of 6
    # τ-b with a tie in the proxy: 5 concordant pairs, 0 discordant, 1 tied -> 5 / sqrt(5 * 6)
    assert kendall_tau([1, 2, 2, 3], [1, 2, 3, 4])[0] == pytest.approx(5 / math.sqrt(30))
    tau, p = kendall_tau([0.5, 0.5, 0.5], [0.1, 0.2, 0.3])
    assert math.isnan(tau) and math.isnan(p)  # no ranking on one side
    for proxy, full, words in (([1, 2], [1], "2 proxy accuracies but 1"), ([1], [1], "at least two"),
                               ([1, float("nan")], [1, 2], "finite")):
        with pytest.raises(ToolkitError, match=words):
            kendall_tau(proxy, full)


def test_pearson_r_on_hand_made_lists():
    assert pearson_r([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert pearson_r([1, 2, 3, 4], [8, 6, 4, 2]) == pytest.approx(-1.0)
    # x = 1, 2, 3; y = 1, 3, 2: sxy = 1, sxx = syy = 2 -> r = 0.5
    assert pearson_r([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    # the same order but not on a line: τ is 1, r is below 1 (the paper's figure is r)
    assert kendall_tau([1, 2, 3, 4], [1, 2, 3, 10])[0] == pytest.approx(1.0)
    assert pearson_r([1, 2, 3, 4], [1, 2, 3, 10]) < 0.9
    assert math.isnan(pearson_r([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]))
    with pytest.raises(ToolkitError, match="finite"):
        pearson_r([1, float("inf")], [1, 2])


def test_random_cell_pairs_are_valid_and_seeded():
    space = SearchSpace()
    pairs = [random_cell_pair(space, random.Random(7)) for _ in range(2)]
    assert pairs[0] == pairs[1]
    assert random_cell_pair(space, random.Random(8)) != pairs[0]
    for cell in (pairs[0].normal, pairs[0].reduce):
        assert cell.count("none") == 0
        assert all(len(node) == 2 and node[0][1] != node[1][1] for node in cell.nodes)


def test_check_proxy_trains_on_proxy_and_full_data():
    digits = load_dataset("digits")
    data = replace(digits, train=balanced_subset(digits.train, per_class=10, seed=0),
                   test=balanced_subset(digits.test, per_class=3, seed=0))
    stage = Stage("init", cells=3, channels=4, epochs=1, train_samples=50, population=2)
    config = TrainConfig(channels=4, cells=3, epochs=1, batch_size=32)
    result = check_proxy(data, stage, config, count=2, seed=0)
    assert len(result.architectures) == len(result.proxy_acc) == len(result.full_acc) == 2
    assert all(0.0 <= a <= 1.0 for a in result.proxy_acc + result.full_acc)
    assert math.isnan(result.tau) or -1.0 <= result.tau <= 1.0
    assert result.r == pearson_r(result.proxy_acc, result.full_acc) or math.isnan(result.r)
    # the proxy side is the stage's D_sample at D_low resolution; the full side the whole data
    again = train_network(result.architectures[0], config, data=proxy_data(data, stage, 0)).test_acc
    assert again == pytest.approx(result.proxy_acc[0])
    full = train_network(result.architectures[1], config, data=data).test_acc
    assert full == pytest.approx(result.full_acc[1])
    with pytest.raises(ToolkitError, match="at least two"):
        check_proxy(data, stage, config, count=1)
