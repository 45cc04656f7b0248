"""Events that loops publish, listeners that receive them, and the stop request.

A loop calls ``bus.emit(kind, **data)``; every listener gets an :class:`Event` whose data is a
read-only snapshot of plain values (floats, lists, strings), so a listener cannot change the run.
A :class:`StopSignal` set from any thread ends the run at the next step.

Example:
    >>> seen = []
    >>> bus = EventBus([seen.append])
    >>> bus.emit("epoch_end", epoch=1, train_loss=0.5)
    >>> seen[0].kind, seen[0]["train_loss"]
    ('epoch_end', 0.5)
"""

from __future__ import annotations

import copy
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# The kinds loops emit. Search/training: run_start, epoch_start, step, epoch_end, run_end.
# epoch_end carries metrics, the α snapshot and the derived genotype; pruning adds 'masks';
# population methods add 'generation'.
KINDS = ("run_start", "epoch_start", "step", "epoch_end", "masks", "generation", "run_end")


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run.

    Attributes:
        kind: one of ``KINDS``.
        data: read-only mapping of plain values (copied at emission).
        time: seconds since the epoch when it was emitted.
    """

    kind: str
    data: Mapping[str, Any]
    time: float = field(default_factory=time.time)

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)


Listener = Callable[[Event], None]


class EventBus:
    """Delivers events to listeners; a failing listener is reported once and never stops the run."""

    def __init__(self, listeners: Iterable[Listener] = ()):
        self.listeners = list(listeners)
        self._broken: set[int] = set()

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def emit(self, kind: str, /, **data) -> Event:
        event = Event(kind, MappingProxyType(copy.deepcopy(data)))
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
    """A tqdm console bar as an event listener (the default listener of the CLI)."""

    def __init__(self, **tqdm_kwargs):
        self.kwargs = tqdm_kwargs
        self.bar = None

    def __call__(self, event: Event) -> None:
        from tqdm.auto import tqdm

        if event.kind == "run_start":
            self.bar = tqdm(total=event["total_steps"], desc=event.get("name", "run"), unit="step", **self.kwargs)
        elif event.kind == "step" and self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{event['loss']:.3f}", refresh=False)
        elif event.kind == "epoch_end" and self.bar is not None:
            shown = {k: f"{v:.3f}" for k, v in event.data.items() if k in ("train_acc", "val_acc", "test_acc")}
            self.bar.set_postfix(shown)
        elif event.kind == "run_end" and self.bar is not None:
            self.bar.close()
            self.bar = None
