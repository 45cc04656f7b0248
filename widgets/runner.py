"""Runs in a background thread, so a notebook's Stop button and plots stay responsive.

A Jupyter kernel handles widget clicks only while no cell is running, so a search started from
a button must not block the kernel: :class:`BackgroundRun` executes it in a thread, forwards its
events to listeners (live plots), and hands back the result or the error. A notebook cell that
needs the result writes ``result = await run``: while it waits, the kernel keeps handling widget
messages (ipykernel >= 7.4 dispatches them during an awaiting cell), so the Stop button works even
during *Run All*, and *Kernel ▸ Interrupt* stops the run. Scripts call ``run.wait()``.

Example:
    >>> from toolkit import SearchConfig
    >>> run = start_search(SearchConfig(dataset="fake", epochs=1, channels=4, cells=3))  # doctest: +SKIP
    >>> result = run.wait()  # doctest: +SKIP
    >>> result = await run  # in a notebook cell  # doctest: +SKIP
"""

from __future__ import annotations

import html
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from toolkit.errors import ToolkitError
from toolkit.events import Event, StopSignal

# target(listeners, stop) -> result: the run itself, e.g. a wrapped run_search.
Target = Callable[[tuple, StopSignal], Any]
STATUSES = ("running", "finished", "stopped", "failed")


def error_html(message: str) -> str:
    """A readable, escaped error line for a panel (messages may contain '<' or '&')."""
    return f'<div style="color:#b30000;font-weight:600">⚠ {html.escape(message)}</div>'


def progress_text(run: BackgroundRun) -> str:
    """How far a run got, from its result: '2 epoch(s)', '1 generation(s)', ..., then its seconds."""
    result = run.result
    seconds = f"{(run.finished_at or time.time()) - run.started:.0f} s"
    for name, unit in (("generations", "generation(s)"), ("stages", "stage(s)")):
        done = getattr(result, name, None)
        if isinstance(done, list):
            return f"{len(done)} {unit}, {seconds}"
    history = getattr(result, "history", None)
    if isinstance(history, list):
        return f"{len(history)} epoch(s), {seconds}"
    if isinstance(history, dict) and history:  # per-stage epochs (DARTS-GAL)
        return ", ".join(f"{stage} {len(epochs)}" for stage, epochs in history.items()) + f" epoch(s), {seconds}"
    return seconds


def interrupt_line(run: BackgroundRun) -> str:
    """The one line printed when *Kernel ▸ Interrupt* ended a run: how far it got, and that the result is partial."""
    if run.error is not None:
        return f"interrupted: the run failed ({describe_error(run.error)})"
    if run.status == "stopped":
        return f"interrupted: stopped after {progress_text(run)}; the result below is partial"
    return f"interrupted: the run had already {run.status} ({progress_text(run)})"


def describe_error(error: BaseException) -> str:
    """One readable line: a ToolkitError's own message, otherwise the exception type and text."""
    if isinstance(error, ToolkitError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class BackgroundRun:
    """One run executing in a daemon thread.

    Attributes:
        status: 'running', then 'finished', 'stopped' (after :meth:`stop`) or 'failed': the result's own
            ``status`` when it has one, else 'stopped' when a stop was asked for.
        result: what the target returned (e.g. a SearchResult), once it has.
        error: the exception that ended the run, if any.
        last_event: the latest event the run emitted (handy for status lines).

    Args:
        target: ``target(listeners, stop) -> result``; it must pass ``listeners`` and ``stop`` on
            to the toolkit loop.
        listeners: event callbacks; they run in the background thread.
        name: the thread's name.
    """

    def __init__(self, target: Target, listeners: Iterable[Callable[[Event], None]] = (), name: str = "run"):
        self.status = "running"
        self.result = None
        self.error: BaseException | None = None
        self.last_event: Event | None = None
        self.started = time.time()
        self.finished_at: float | None = None
        self._target = target
        self._listeners = (self._remember, *listeners)
        self._stop = StopSignal()
        self._done = threading.Event()
        self._callbacks: list[Callable[[BackgroundRun], None]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _remember(self, event: Event) -> None:
        self.last_event = event

    def _main(self) -> None:
        try:
            self.result = self._target(self._listeners, self._stop)
            # a result without a status of its own (a list of sweep points, ...) is partial after a stop
            self.status = getattr(self.result, "status", "stopped" if self._stop.requested else "finished")
        except BaseException as e:  # noqa: BLE001 - every failure must reach the panel, not a log
            self.error = e
            self.status = "failed"
        finally:
            self.finished_at = time.time()
            self._finish()

    def _finish(self) -> None:
        """Call the done callbacks, then mark the run done: whoever waits finds what they set up in place."""
        while True:
            with self._lock:
                callbacks, self._callbacks = self._callbacks, []
                if not callbacks:
                    self._done.set()
                    return
            for callback in callbacks:
                try:
                    callback(self)
                except Exception:  # noqa: BLE001 - one failing callback must not leave the run unfinished
                    traceback.print_exc()

    @property
    def done(self) -> bool:
        """True once the run has finished, stopped or failed."""
        return self._done.is_set()

    @property
    def message(self) -> str:
        """The run's error as one readable line ('' when there is none)."""
        return describe_error(self.error) if self.error is not None else ""

    def stop(self) -> None:
        """Ask the run to end after its current step (it keeps a resumable checkpoint if it has a run folder)."""
        self._stop.stop()

    def wait(self, timeout: float | None = None):
        """Block until the run ends and return its result.

        A blocked cell holds up every widget message, the Stop button's included, until it ends:
        in a notebook use ``await run`` instead. Interrupting while waiting ends the run like Stop:
        it prints one line and returns the partial result.

        Args:
            timeout: seconds to wait at most (None: no limit).

        Raises:
            TimeoutError: the run is still going after ``timeout`` seconds.
            Exception: the run's own error, re-raised so a notebook cell shows it.
        """
        try:
            finished = self._done.wait(timeout)
        except KeyboardInterrupt:
            return self._interrupted()
        if not finished:
            raise TimeoutError(f"the run is still {self.status} after {timeout} s; call run.stop() to end it")
        return self._outcome()

    def __await__(self):
        """``result = await run`` in a notebook cell: wait without blocking the kernel.

        The kernel's event loop keeps running, so widget messages (a Stop click, also during *Run
        All*) are handled while the cell waits. *Kernel ▸ Interrupt* ends the run like Stop: the
        kernel cancels the waiting cell, the wait catches that, stops the run, waits for it to end
        after its current step, prints one "interrupted: stopped after ..." line and returns the
        partial result, so the cell ends without a traceback and *Run All* goes on. Returns the
        result or raises the run's error, as :meth:`wait`.
        """
        return self._wait_async().__await__()

    async def _wait_async(self, poll: float = 0.05):
        import asyncio

        interrupted = False
        while not self._done.is_set():
            try:
                await asyncio.sleep(poll)  # short sleeps: an interrupt reaches the wait at once
            except (asyncio.CancelledError, KeyboardInterrupt):
                interrupted = True
                self.stop()
                task = asyncio.current_task()
                if task is not None and hasattr(task, "uncancel"):
                    task.uncancel()  # handled: the cell goes on (Python >= 3.11 counts cancellations)
        return self._report_interrupt() if interrupted else self._outcome()

    def _interrupted(self):
        """Stop after a KeyboardInterrupt in :meth:`wait`, wait for the end (further interrupts too) and report."""
        self.stop()
        while True:
            try:
                self._done.wait()
                break
            except KeyboardInterrupt:
                continue
        return self._report_interrupt()

    def _report_interrupt(self):
        print(interrupt_line(self))
        return self._outcome()

    def _outcome(self):
        if self.error is not None:
            raise self.error
        return self.result

    def add_done_callback(self, callback: Callable[[BackgroundRun], None]) -> None:
        """Call ``callback(run)`` when the run ends (at once if it already has), from the run's thread,
        before :meth:`wait` and ``await`` return."""
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        callback(self)

    def __repr__(self) -> str:
        return f"<BackgroundRun {self._thread.name}: {self.status}>"


def start_search(config, *, listeners: Iterable = (), data=None, run_dir=None, resume: bool = False) -> BackgroundRun:
    """Start :func:`toolkit.search.run_search` in a background thread.

    Args:
        config: a SearchConfig.
        listeners: event callbacks (live plots, panels).
        data: preloaded DatasetSplits (default: load ``config.dataset``).
        run_dir, resume: as in ``run_search``.
    """
    from toolkit.search import run_search

    def target(listeners, stop):
        return run_search(config, data=data, listeners=listeners, stop=stop, run_dir=run_dir, resume=resume)

    return BackgroundRun(target, listeners, name=f"search-{config.method}")


def start_training(architecture, config, *, listeners: Iterable = (), data=None, run_dir=None,
                   resume: bool = False) -> BackgroundRun:
    """Start :func:`toolkit.train.train_network` in a background thread (arguments as there)."""
    from toolkit.train import train_network

    def target(listeners, stop):
        return train_network(architecture, config, data=data, listeners=listeners, stop=stop, run_dir=run_dir,
                             resume=resume)

    return BackgroundRun(target, listeners, name="train")
