"""Events that loops publish, listeners that receive them, and the stop request.

A loop calls ``bus.emit(kind, **data)``; every listener gets an :class:`Event` whose data is a
read-only snapshot of plain values (floats, lists, strings), so a listener cannot change the run.
A :class:`StopSignal` set from any thread ends the run at the next step.

Every kind has a declared payload (:mod:`toolkit.event_types`) and ``emit`` checks the data against
it, so a loop that emits a misspelt or missing field fails at once. Runs nest: ``bus.child(name)``
gives a bus for a sub-run (a DARTS-GAL stage, a member of a population) that reaches the same
listeners; its events carry a fresh ``run_id`` and ``parent`` = the parent bus's ``run_id``, so the
runs of one experiment form a tree. A root run's ``run_start`` counts in ``total_steps`` every step
of its descendants.

Example:
    >>> seen = []
    >>> bus = EventBus([seen.append])
    >>> _ = bus.emit("run_start", name="search darts", kind="search", total_steps=8)
    >>> _ = bus.emit("epoch_start", epoch=1, lr=0.025)
    >>> stage = bus.child("stage 1")
    >>> _ = stage.emit("run_start", name="stage 1", kind="train", total_steps=4)
    >>> seen[2].parent == seen[0].run_id, seen[2].run_kind, seen[1].run_kind
    (True, 'train', 'search')
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .event_types import KINDS, check_event
from .run_tree import RunTree

__all__ = ["KINDS", "Event", "EventBus", "Listener", "ProgressBar", "StopSignal"]


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run.

    Attributes:
        kind: one of ``KINDS``.
        data: read-only mapping of plain values (copied at emission).
        time: seconds since the epoch when it was emitted.
        run_id: the run that emitted it (unique; a child run's id starts with its parent's).
        parent: the ``run_id`` of the run this one is part of, or None for a root run.
        run_kind: the ``kind`` its run's ``run_start`` announced ('search', 'train', 'prune', ...),
            or None before any ``run_start``; listeners need not guess the run type from the data.
    """

    kind: str
    data: Mapping[str, Any]
    time: float = field(default_factory=time.time)
    run_id: str | None = None
    parent: str | None = None
    run_kind: str | None = None

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)


Listener = Callable[[Event], None]


class EventBus:
    """Checks events and delivers them to listeners; a failing listener is reported once and never
    stops the run.

    Args:
        listeners: called with every :class:`Event` of this run and of its child runs.
        run_id: this run's id (a fresh unique one when None).
        parent: the parent run's id, or None for a root run.
    """

    def __init__(self, listeners: Iterable[Listener] = (), *, run_id: str | None = None, parent: str | None = None):
        self.listeners = list(listeners)
        self.run_id = run_id if run_id is not None else uuid.uuid4().hex[:8]
        self.parent = parent
        self.run_kind: str | None = None
        self._broken: set[int] = set()
        self._children = itertools.count(1)
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        """Add a listener (child buses made before or after share it)."""
        self.listeners.append(listener)

    def child(self, name: str | None = None) -> EventBus:
        """A bus for a sub-run: the same listeners, a fresh ``run_id`` ('<this run_id>/<name>#k'),
        ``parent`` = this bus's ``run_id``."""
        with self._lock:
            k = next(self._children)
        bus = EventBus(run_id=f"{self.run_id}/{name or 'run'}#{k}", parent=self.run_id)
        bus.listeners, bus._broken = self.listeners, self._broken  # shared, not copied
        return bus

    def emit(self, kind: str, /, **data) -> Event:
        """Check ``data`` against ``kind``'s payload (ToolkitError naming the field if it does not
        match) and deliver a read-only copy to every listener."""
        check_event(kind, data, self.run_kind)
        if kind == "run_start":
            self.run_kind = data["kind"]
        event = Event(kind, MappingProxyType(copy.deepcopy(data)), run_id=self.run_id, parent=self.parent,
                      run_kind=self.run_kind)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as e:  # a plot must not kill an hour-long search
                if id(listener) not in self._broken:
                    self._broken.add(id(listener))
                    warnings.warn(f"event listener {listener!r} failed on '{kind}': {e!r}", stacklevel=2)
        return event


class StopSignal:
    """A thread-safe stop request, checked by loops before every step."""

    def __init__(self):
        self._event = threading.Event()

    def stop(self) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()


class ProgressBar:
    """A tqdm console bar as an event listener (the default listener of the CLI).

    Nested runs share one bar: the root run's ``run_start`` opens it over all its steps (its
    descendants' included), a step of any run in the tree advances it, and the description names the
    current child run and its own progress ('gal · retrain · 3/10 steps'). A run with no known
    parent opens a bar of its own, as a single run always did.
    """

    def __init__(self, **tqdm_kwargs):
        self.kwargs = tqdm_kwargs
        self.bar = None
        self.tree = RunTree()

    def __call__(self, event: Event) -> None:
        from tqdm.auto import tqdm

        run = self.tree(event)
        root = self.tree.root
        if event.kind == "run_start" and run is root:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=root.total, desc=root.name, unit="step", **self.kwargs)
        elif self.bar is None or run is None:
            return
        elif event.kind == "run_start" or (event.kind == "run_end" and run is not root):
            label = self.tree.current_label()
            self.bar.set_description(f"{root.name} · {label}" if label else root.name, refresh=False)
        elif event.kind == "step":
            self.bar.update(1)
            if self.tree.nested:
                self.bar.set_description(f"{root.name} · {self.tree.current_label()}", refresh=False)
            self.bar.set_postfix(loss=f"{event['loss']:.3f}", refresh=False)
        elif event.kind == "epoch_end":
            shown = {k: f"{v:.3f}" for k, v in event.data.items() if k in ("train_acc", "val_acc", "test_acc")}
            self.bar.set_postfix(shown)
        elif event.kind == "run_end":
            self.bar.close()
            self.bar = None
