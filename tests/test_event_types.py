"""Typed events: every kind's payload is checked when emitted; runs nest through bus.child()."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.errors import ToolkitError
from toolkit.event_types import KINDS, SearchEpochEnd, payload_type
from toolkit.events import EventBus

SEARCH_EPOCH = {"epoch": 1, "lr": 0.025, "train_loss": 2.0, "train_acc": 0.3, "val_loss": 2.1, "val_acc": 0.2,
                "alphas": {"normal": [[0.5, 0.5]], "reduce": [[0.5, 0.5]]}, "genotype": {"normal": {}, "reduce": {}}}
TRAIN_EPOCH = {"epoch": 1, "lr": 0.025, "train_loss": 2.0, "train_acc": 0.3, "test_loss": 2.1, "test_acc": 0.2}
MEMBERS = [{"id": "a", "metrics": {"val_acc": 0.9, "parameters": 1200}, "genotype": {"normal": {}, "reduce": {}}},
           {"id": "b", "metrics": {"val_acc": 0.8, "parameters": 800}, "genotype": {"cells": 5}, "parents": ["x"]}]


def test_every_kind_has_a_declared_payload():
    assert KINDS == ("run_start", "epoch_start", "step", "epoch_end", "masks", "member", "generation", "run_end")
    assert payload_type("epoch_end", "search") is SearchEpochEnd
    with pytest.raises(ToolkitError, match="unknown event kind 'stepp'"):
        EventBus().emit("stepp", loss=1.0)


@pytest.mark.parametrize("data, message", [
    ({"epoch": 1, "step": 1, "steps": 2}, "event 'step': required field 'loss' is missing"),
    ({"epoch": 1, "step": 1, "steps": 2, "loss": 1.0, "los": 1.0}, "event 'step': unknown field 'los'"),
    ({"epoch": 1, "step": 1, "steps": 2, "loss": "1.0"}, "event 'step': field 'loss' must be float, got str"),
    ({"epoch": True, "step": 1, "steps": 2, "loss": 1.0}, "event 'step': field 'epoch' must be int, got bool"),
    ({"epoch": 1.5, "step": 1, "steps": 2, "loss": 1.0}, "event 'step': field 'epoch' must be int, got float"),
    ({"epoch": 1, "step": 1, "steps": 2, "loss": 1.0, "acc": [0.5]}, "field 'acc' must be float or None"),
])
def test_a_wrong_payload_fails_naming_the_kind_and_the_field(data, message):
    seen = []
    with pytest.raises(ToolkitError, match=message):
        EventBus([seen.append]).emit("step", **data)
    assert seen == []  # a wrong event reaches no listener


def test_numbers_of_any_numeric_type_and_none_for_optional_fields_pass():
    event = EventBus().emit("step", epoch=np.int64(1), step=1, steps=2, loss=np.float32(0.5), acc=1,
                            peak_memory_mb=None)
    assert event["loss"] == 0.5


def test_epoch_end_is_checked_against_the_payload_of_the_run_kind():
    search = EventBus()
    search.emit("run_start", name="search darts", kind="search", total_steps=1)
    search.emit("epoch_end", **SEARCH_EPOCH, skip_normal=1, skip_reduce=0, peak_memory_mb=None)
    with pytest.raises(ToolkitError, match="event 'epoch_end' of a search run: unknown field 'test_acc'"):
        search.emit("epoch_end", **SEARCH_EPOCH, test_acc=0.5)
    train = EventBus()
    train.emit("run_start", name="train", kind="train", total_steps=1)
    with pytest.raises(ToolkitError, match="of a train run: required field 'train_loss' is missing"):
        train.emit("epoch_end", **{k: v for k, v in TRAIN_EPOCH.items() if k != "train_loss"})
    assert train.emit("epoch_end", **TRAIN_EPOCH).run_kind == "train"
    # a candidate of a search is measured on validation images only: no test figures in its epochs
    no_test = {k: v for k, v in TRAIN_EPOCH.items() if not k.startswith("test_")}
    assert train.emit("epoch_end", **no_test, val_loss=1.0, val_acc=0.5)["val_acc"] == 0.5
    # a run kind without a payload of its own gets the union of the three, kind-specific fields optional
    other = EventBus()
    other.emit("run_start", name="population", kind="population", total_steps=1)
    other.emit("epoch_end", epoch=1, val_acc=0.5, test_acc=0.4)
    with pytest.raises(ToolkitError, match="required field 'epoch'"):
        other.emit("epoch_end", val_acc=0.5)


def test_run_start_carries_the_run_kind_to_later_events():
    seen = []
    bus = EventBus([seen.append], run_id="r1")
    bus.emit("run_start", name="baseline", kind="train", total_steps=2, epochs=1)
    bus.emit("epoch_start", epoch=1, lr=0.1)
    bus.emit("run_end", status="finished", epochs_done=1)
    assert [(e.run_id, e.parent, e.run_kind) for e in seen] == [("r1", None, "train")] * 3


def test_child_buses_form_one_tree_and_share_the_listeners():
    seen = []
    root = EventBus([seen.append])
    first, second = root.child("baseline"), root.child("baseline")
    grandchild = second.child()
    late = []
    root.subscribe(late.append)  # a listener added later reaches the children too
    ids = {root.run_id, first.run_id, second.run_id, grandchild.run_id}
    assert len(ids) == 4 and None not in ids
    assert first.parent == second.parent == root.run_id and grandchild.parent == second.run_id
    assert EventBus().run_id != root.run_id  # roots get fresh ids
    root.emit("run_start", name="gal", kind="gal", total_steps=3)
    first.emit("run_start", name="baseline", kind="train", total_steps=1)
    grandchild.emit("step", epoch=1, step=1, steps=1, loss=1.0)
    assert [(e.run_id, e.parent) for e in seen] == [(root.run_id, None), (first.run_id, root.run_id),
                                                    (grandchild.run_id, second.run_id)]
    assert [e.run_kind for e in seen] == ["gal", "train", None]  # each run knows its own kind only
    assert len(late) == 3


def test_generation_event_holds_members_metrics_genotypes_and_front():
    event = EventBus().emit("generation", index=2, population=MEMBERS, pareto_front=["a", "b"])
    assert event["population"][1]["metrics"]["parameters"] == 800 and event["pareto_front"] == ["a", "b"]
    EventBus().emit("generation", index=0, population=[])  # front and parents are optional
    with pytest.raises(ToolkitError, match=r"'pareto_front' names ids \['c'\]"):
        EventBus().emit("generation", index=2, population=MEMBERS, pareto_front=["a", "c"])
    with pytest.raises(ToolkitError, match=r"population\[0\]: required field 'metrics' is missing"):
        EventBus().emit("generation", index=2, population=[{"id": "a", "genotype": {}}])
    with pytest.raises(ToolkitError, match=r"population\[0\] must be a dict"):
        EventBus().emit("generation", index=2, population=["a"])
    with pytest.raises(ToolkitError, match=r"population\[0\]: field 'genotype' must be dict, got str"):
        EventBus().emit("generation", index=2, population=[{"id": 1, "metrics": {}, "genotype": "normal=..."}])


def test_member_event_holds_one_member_record_of_a_generation():
    event = EventBus().emit("member", index=1, member=MEMBERS[1])
    assert event["index"] == 1 and event["member"]["metrics"]["val_acc"] == 0.8
    with pytest.raises(ToolkitError, match=r"event 'member': member: required field 'metrics' is missing"):
        EventBus().emit("member", index=1, member={"id": "a", "genotype": {}})
    with pytest.raises(ToolkitError, match=r"event 'member': field 'member' must be dict, got str"):
        EventBus().emit("member", index=1, member="a")
