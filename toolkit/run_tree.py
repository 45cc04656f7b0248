"""Progress of nested runs, read from their events: one overall count for the root run plus the run
that is going on now (a DARTS-GAL stage, a member of a population).

The rule that makes one bar possible: a root run's ``run_start`` counts in ``total_steps`` every
step of all its descendant runs, so a step of any run in the tree advances the root. A run whose
``parent`` is unknown (no ``run_start`` of that parent was seen) is a root of its own, so runs
emitted without a parent show as before: each restarts the bar. Both the console bar
(:class:`toolkit.events.ProgressBar`) and the notebook status line follow a :class:`RunTree`.

Example:
    >>> from toolkit.events import EventBus
    >>> tree = RunTree()
    >>> bus = EventBus([tree])
    >>> _ = bus.emit("run_start", name="gal", kind="gal", total_steps=3)
    >>> stage = bus.child("baseline")
    >>> _ = stage.emit("run_start", name="baseline", kind="train", total_steps=2, epochs=1)
    >>> _ = stage.emit("step", epoch=1, step=1, steps=2, loss=1.0)
    >>> tree.root.done, tree.root.total, tree.current.name, tree.current.done
    (1, 3, 'baseline', 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Event


@dataclass
class RunProgress:
    """One run of the tree: its name, kind, epochs and steps done out of ``total`` (its descendants' included)."""

    run_id: str | None
    name: str
    kind: str
    total: int
    epochs: int | None = None
    parent: RunProgress | None = None
    done: int = 0
    status: str | None = None  # set by its run_end
    children: list[RunProgress] = field(default_factory=list)

    @property
    def path(self) -> list[str]:
        """Names from the root's child down to this run (empty for the root)."""
        return [*self.parent.path, self.name] if self.parent else []


class RunTree:
    """An event listener that keeps the progress of the current root run and its descendants.

    Attributes:
        root: the root run (None before the first ``run_start``).
        current: the deepest run that has started and not ended (the root when no child runs).
    """

    def __init__(self):
        self.root: RunProgress | None = None
        self.current: RunProgress | None = None
        self.runs: dict[str | None, RunProgress] = {}

    def __call__(self, event: Event) -> RunProgress | None:
        """Follow ``event``; returns the run it belongs to (None for an event of an unknown run)."""
        if event.kind == "run_start":
            parent = self.runs.get(event.parent) if event.parent is not None else None
            run = RunProgress(event.run_id, event.get("name") or "run", event.get("kind") or "run",
                              max(int(event["total_steps"]), 0), event.get("epochs"), parent)
            if parent is None:  # a new root: forget the previous tree
                self.root, self.runs = run, {}
            else:
                parent.children.append(run)
            self.runs[event.run_id] = self.current = run
            return run
        run = self.runs.get(event.run_id)
        if run is None:
            return None
        if event.kind == "step":
            node = run
            while node is not None:
                node.done += 1
                node = node.parent
        elif event.kind == "run_end":
            run.status = event["status"]
            if run.parent is not None and self.current is run:
                self.current = run.parent
        return run

    @property
    def nested(self) -> bool:
        """True while a child run is going on (the current run is not the root)."""
        return self.current is not None and self.current.parent is not None

    def current_label(self) -> str:
        """'member 3 › stage 2 · 12/40 steps' for the current child run; '' when only the root runs."""
        if not self.nested:
            return ""
        run = self.current
        return f"{' › '.join(run.path)} · {min(run.done, run.total)}/{run.total} steps"
