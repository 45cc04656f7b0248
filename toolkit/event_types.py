"""The declared payload of every event kind, and the check :meth:`EventBus.emit` runs on each event.

Each kind has one frozen dataclass whose fields are the event's data: a field without a default is
required, a field defaulting to None is optional. ``epoch_end`` is the one kind whose payload
depends on the run kind that the run's ``run_start`` announced (``kind`` 'search', 'train' or
'prune'): a search ends an epoch with α and the derived genotype, a training with test accuracy, a
mask training with the four GAL losses and the masks. Run kinds without a payload of their own (a
composite run such as a whole DARTS-GAL run, a population) and events of a bus that has seen no
``run_start`` are checked against :class:`EpochEnd`, the union of the three with every
kind-specific field optional. ``run_end`` varies less (a diverged run ends early with a message),
so it is one payload with optional fields.

The check is by basic type: ``int`` (any integral number but not bool), ``float`` (any real
number), ``str``, ``bool``, ``list`` (a list or tuple), ``dict`` (any mapping); ``X | None``
also accepts None. A missing required field, an unknown field or a wrong type raises a
:class:`~toolkit.errors.ToolkitError` naming the kind and the field, so a loop that emits a wrong
event fails in its tests instead of leaving a listener to guess.

Example:
    >>> check_event("step", {"epoch": 1, "step": 1, "steps": 4, "loss": "0.5"})
    Traceback (most recent call last):
    ...
    toolkit.errors.ToolkitError: event 'step': field 'loss' must be float, got str '0.5'
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ToolkitError


@dataclass(frozen=True)
class RunStart:
    """A run begins. ``total_steps`` counts every step of the run and of all its descendant runs, so
    a root run's bar covers the whole tree; ``kind`` names the run kind ('search', 'train', 'prune',
    or a composite kind such as 'gal')."""

    name: str
    kind: str
    total_steps: int
    epochs: int | None = None
    start_epoch: int | None = None
    steps_per_epoch: int | None = None
    config: dict | None = None
    parameters: int | None = None
    ops: list | None = None  # search: the candidate ops (α columns)
    nodes: int | None = None  # search: intermediate nodes per cell
    masks: list | None = None  # prune: the initial mask of every node, per cell
    cell_types: list | None = None  # prune: 'normal' or 'reduction' per cell


@dataclass(frozen=True)
class EpochStart:
    epoch: int
    lr: float


@dataclass(frozen=True)
class Step:
    """One optimisation step (``step`` of ``steps`` in ``epoch``, both counted from 1)."""

    epoch: int
    step: int
    steps: int
    loss: float
    acc: float | None = None
    peak_memory_mb: float | None = None


@dataclass(frozen=True)
class SearchEpochEnd:
    epoch: int
    lr: float
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    alphas: dict  # softmax weights per cell type ('normal', 'reduce'; PC-DARTS also the β weights)
    genotype: dict  # CellPair.to_dict() of the derived cells
    skip_normal: int | None = None
    skip_reduce: int | None = None
    genotype_text: str | None = None
    peak_memory_mb: float | None = None
    activation_mb: float | None = None


@dataclass(frozen=True)
class TrainEpochEnd:
    """A training epoch: on the validation split where the data has one, else on the test split."""

    epoch: int
    lr: float
    train_loss: float
    train_acc: float
    val_loss: float | None = None
    val_acc: float | None = None
    test_loss: float | None = None
    test_acc: float | None = None


@dataclass(frozen=True)
class PruneEpochEnd:
    """A DARTS-GAL mask-training epoch: mean losses (eqs. 4-7), the masked network's validation metrics
    (held-out training images; they decide a collapse), masks."""

    epoch: int
    d_loss: float
    adv_loss: float
    data_loss: float
    reg_loss: float
    agree: float
    constant_loss: float
    val_acc: float
    val_loss: float
    masks: list
    kept: list


@dataclass(frozen=True)
class Masks:
    """DARTS-GAL masks after one generator update: values per cell, kept nodes per cell, the losses."""

    epoch: int
    step: int
    steps: int
    iteration: int
    masks: list
    kept: list
    d_loss: float
    adv_loss: float
    data_loss: float
    reg_loss: float


@dataclass(frozen=True)
class Member:
    """One member of a population: an id, its metrics and its architecture (a genotype dict or a
    network description dict); ``parents`` are ids of the previous generation it came from."""

    id: str | int
    metrics: dict
    genotype: dict
    parents: list | None = None


@dataclass(frozen=True)
class MemberDone:
    """One member of a population is evaluated, before its generation ends: ``index`` is the
    generation (a stage, for ME-DARTS) as its ``generation`` event will number it, ``member`` its
    record (:class:`Member` as a dict). A chart can place the member at once; the generation's
    selection and Pareto front are known only with the ``generation`` event."""

    index: int
    member: dict


@dataclass(frozen=True)
class Generation:
    """A generation of an evolutionary method is done: its members (:class:`Member` as dicts) and,
    for a multi-objective method, the ids of the members on the Pareto front."""

    index: int
    population: list
    pareto_front: list | None = None


@dataclass(frozen=True)
class RunEnd:
    status: str  # finished, stopped, collapsed or diverged
    epochs_done: int
    message: str | None = None
    genotype: dict | None = None
    genotype_text: str | None = None
    val_acc: float | None = None
    val_loss: float | None = None
    test_acc: float | None = None
    test_loss: float | None = None
    parameters: int | None = None
    masks: list | None = None
    kept: list | None = None


def _union(name: str, *parts: type, required: tuple[str, ...]) -> type:
    """A payload holding every field of ``parts``; only ``required`` stays required."""
    fields, seen = [], set()
    for part in parts:
        for f in dataclasses.fields(part):
            if f.name not in seen:
                seen.add(f.name)
                kind = typing.get_type_hints(part)[f.name]
                fields.append((f.name, kind) if f.name in required else (f.name, kind | None, None))
    fields.sort(key=lambda f: len(f) == 3)  # required fields first
    return dataclasses.make_dataclass(name, fields, frozen=True)


EpochEnd = _union("EpochEnd", SearchEpochEnd, TrainEpochEnd, PruneEpochEnd, required=("epoch",))

PAYLOADS: dict[str, type] = {"run_start": RunStart, "epoch_start": EpochStart, "step": Step, "epoch_end": EpochEnd,
                             "masks": Masks, "member": MemberDone, "generation": Generation, "run_end": RunEnd}
EPOCH_END_BY_RUN_KIND: dict[str, type] = {"search": SearchEpochEnd, "train": TrainEpochEnd, "prune": PruneEpochEnd}
KINDS = tuple(PAYLOADS)


def payload_type(kind: str, run_kind: str | None = None) -> type:
    """The dataclass that declares ``kind``'s data (for ``epoch_end``, the one of ``run_kind``)."""
    if kind not in PAYLOADS:
        raise ToolkitError(f"unknown event kind '{kind}'; the kinds are {', '.join(KINDS)}")
    if kind == "epoch_end" and run_kind in EPOCH_END_BY_RUN_KIND:
        return EPOCH_END_BY_RUN_KIND[run_kind]
    return PAYLOADS[kind]


def check_event(kind: str, data: Mapping, run_kind: str | None = None) -> None:
    """Raise a ToolkitError unless ``data`` matches ``kind``'s declared payload."""
    payload = payload_type(kind, run_kind)
    where = f"event '{kind}'" + (f" of a {run_kind} run" if kind == "epoch_end" and run_kind else "")
    _check_fields(payload, data, where)
    if kind == "member":
        _check_fields(Member, data["member"], f"{where}: member")
    if kind == "generation":
        ids = []
        for i, member in enumerate(data["population"]):
            if not isinstance(member, Mapping):
                raise ToolkitError(f"{where}: population[{i}] must be a dict (id, metrics, genotype), "
                                   f"got {type(member).__name__}")
            _check_fields(Member, member, f"{where}: population[{i}]")
            ids.append(member["id"])
        unknown = [m for m in data.get("pareto_front") or () if m not in ids]
        if unknown:
            raise ToolkitError(f"{where}: field 'pareto_front' names ids {unknown} that are not in the population")


@functools.cache
def _fields(payload: type) -> dict[str, tuple[bool, tuple[type, ...]]]:
    """Per field of ``payload``: (required, the types it accepts); read once, as emit runs every step."""
    hints = typing.get_type_hints(payload)
    return {f.name: (f.default is dataclasses.MISSING,
                     typing.get_args(hints[f.name]) if isinstance(hints[f.name], types.UnionType) else (hints[f.name],))
            for f in dataclasses.fields(payload)}


def _check_fields(payload: type, data: Mapping, where: str) -> None:
    fields = _fields(payload)
    for name in data:
        if name not in fields:
            raise ToolkitError(f"{where}: unknown field '{name}'; its fields are {', '.join(fields)}")
    for name, (required, allowed) in fields.items():
        if name not in data:
            if required:
                raise ToolkitError(f"{where}: required field '{name}' is missing")
            continue
        value = data[name]
        if not any(_is(value, t) for t in allowed):
            names = " or ".join("None" if t is type(None) else t.__name__ for t in allowed)
            raise ToolkitError(f"{where}: field '{name}' must be {names}, got {type(value).__name__} {value!r:.60}")


def _is(value, kind: type) -> bool:
    if kind is type(None):
        return value is None
    if kind is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if kind is list:
        return isinstance(value, list | tuple)
    if kind is dict:
        return isinstance(value, Mapping)
    return isinstance(value, kind)
