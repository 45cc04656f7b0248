"""ME-DARTS stage plans: the paper's Table II preset, the CPU preset and the checks on bad plans."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from toolkit import ToolkitError
from toolkit.medarts.config import MeDartsConfig
from toolkit.medarts.stages import Stage, StagePlan, stage_plan


def test_paper_preset_is_table_ii():
    plan = stage_plan("paper")
    assert [s.name for s in plan] == ["init", "mid", "final"]
    assert [s.cells for s in plan] == [4, 6, 8]
    assert [s.epochs for s in plan] == [5, 5, 15]
    assert [s.train_samples for s in plan] == [10000, 10000, 20000]
    assert all(s.downsample == 2 for s in plan)  # 32x32 -> 16x16 in every stage
    assert plan.total_epochs == 25  # section IV.B.2: "a total of 25 epochs"
    assert plan.final.population == 1  # Table I: a single network in the final stage


def test_cpu_preset_is_the_default_and_fits_digits():
    plan = stage_plan()
    assert MeDartsConfig().stages == plan and MeDartsConfig().preset == "cpu-small"
    assert [s.cells for s in plan] == sorted(s.cells for s in plan)
    assert plan.final.train_samples <= 1390  # digits: the smallest class has 139 training images
    assert plan.total_epochs * 5 == stage_plan("paper").total_epochs * 2  # Table II's epochs, scaled
    assert plan.init.parents == 0 and plan.init.children == 0
    assert (plan.mid.parents, plan.mid.children) == (2, 2)


def test_plan_round_trips_through_json():
    for plan in map(stage_plan, ("cpu-small", "paper")):
        assert StagePlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    with pytest.raises(ToolkitError, match="exactly the stages"):
        StagePlan.from_dict({"init": {}})
    with pytest.raises(ToolkitError, match="not a stage"):
        StagePlan.from_dict({**stage_plan("paper").to_dict(), "mid": {"name": "mid", "layers": 3}})


def test_scaled_replaces_a_field_in_every_stage():
    plan = stage_plan("paper").scaled(downsample=1, channels=8)
    assert {(s.downsample, s.channels) for s in plan} == {(1, 8)}
    assert [s.cells for s in plan] == [4, 6, 8]


@pytest.mark.parametrize("fields, words", [
    ({"name": "middle"}, "unknown stage"),
    ({"cells": 2}, "cells must be"),
    ({"channels": 5}, "even number"),
    ({"epochs": 2.5}, "whole number"),
    ({"epochs": 0}, "epochs must be"),
    ({"train_samples": 1}, "train_samples must be"),
    ({"downsample": 0}, "downsample must be"),
    ({"batch_size": 0}, "batch_size must be"),
    ({"population": 0}, "population must be"),
    ({"parents": 5}, "parents must be"),
    ({"parents": 2, "population": 3}, "is odd"),
    ({"parents": 2, "population": 6}, "at most 2 crossover children"),
])
def test_bad_stage_is_refused(fields, words):
    base = dict(name="mid", cells=4, channels=8, epochs=1, train_samples=100, population=4, parents=2)
    with pytest.raises(ToolkitError, match=words):
        Stage(**{**base, **fields})


def test_bad_plans_are_refused():
    init, mid, final = stage_plan()
    with pytest.raises(ToolkitError, match="order is init, mid, final"):
        StagePlan(mid, init, final)
    with pytest.raises(ToolkitError, match="parents must be 0"):
        StagePlan(replace(init, parents=2, population=4), mid, final)
    with pytest.raises(ToolkitError, match="selects 5 parent"):
        StagePlan(init, replace(mid, parents=5, population=5), final)
    with pytest.raises(ToolkitError, match="selects 0 parent"):
        StagePlan(init, mid, replace(final, parents=0))
    with pytest.raises(ToolkitError, match="fewer cells"):
        StagePlan(init, mid, replace(final, cells=mid.cells - 1))
    with pytest.raises(ToolkitError, match="fewer train_samples"):
        StagePlan(init, replace(mid, train_samples=init.train_samples - 10), final)
    with pytest.raises(ToolkitError, match="me-darts has no preset 'gpu'; its presets: cpu-small, paper"):
        stage_plan("gpu")
