"""Where candidates are evaluated: this process, a process pool, or a Dask cluster.

Every option is a standard ``concurrent.futures.Executor`` (no scheduler of our own), so
:func:`toolkit.evaluate.evaluate_all` and the population methods accept any of them:

* ``local``: one candidate after another in this process (:class:`InlineExecutor`).
* ``process``: a ``ProcessPoolExecutor`` with the "spawn" start method (a forked child would
  inherit torch's thread pools in whatever state they were, which can hang).
* ``dask``: Dask distributed's ``Client.get_executor()``, on a ``LocalCluster`` started here or on
  a running scheduler (``dask scheduler`` on one host, ``dask worker tcp://host:8786 --nthreads 1``
  on the others). Dask is an optional extra: ``pip install nas-toolkit[cluster]``.

Example:
    >>> with make_executor("process", workers=2) as executor:  # doctest: +SKIP
    ...     metrics = evaluate_all(specs, executor)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from .errors import ToolkitError
from .events import StopSignal
from .runtime import usable_cores

EXECUTORS = ("local", "process", "dask")
CONNECT_TIMEOUT = 30.0  # seconds to reach a Dask scheduler, handshake included, before giving up
CONNECT_TIMEOUT_ENV = "NAS_TOOLKIT_CONNECT_TIMEOUT"  # overrides CONNECT_TIMEOUT
POLL_SECONDS = 0.2  # how often a wait for candidates checks the stop signal and the cluster
WORKERLESS_GRACE = 60.0  # seconds a Dask cluster may have no worker while candidates wait, before giving up


class InlineExecutor(Executor):
    """Runs each call at once in this process and returns a finished future (the default)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as e:  # Ctrl-C (KeyboardInterrupt) is not caught: it ends the caller at once
            future.set_exception(e)
        return future


def _ignore_interrupts() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops starting candidates (a second one aborts)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def make_executor(kind: str = "local", workers: int | None = None, scheduler: str | None = None,
                  timeout: float | None = None, stop: StopSignal | None = None) -> Iterator[Executor]:
    """An executor for ``kind`` (local | process | dask), shut down when the block ends.

    Args:
        kind: ``local`` (in this process), ``process`` (a pool on this machine) or ``dask``.
        workers: parallel evaluations for ``process`` and a local Dask cluster (default: the usable
            CPU cores); a running Dask cluster has as many as its workers' threads.
        scheduler: a running Dask scheduler's address such as ``tcp://host:8786`` (``dask`` only);
            None starts a ``LocalCluster`` of ``workers`` processes with one thread each.
        timeout: seconds to reach the scheduler, handshake included (default: the environment
            variable ``NAS_TOOLKIT_CONNECT_TIMEOUT``, else :data:`CONNECT_TIMEOUT`).
        stop: a stop signal (Ctrl-C in the CLI) that ends the wait for the scheduler at once.

    Raises:
        ToolkitError: an unknown kind, a bad worker count, a scheduler without ``dask``, Dask not
            installed, a scheduler that cannot be reached in time or that is not a Dask scheduler, or
            a stop while connecting.
    """
    from .steps import require  # here: workers importing this module need not load the run loop

    require(kind, str, "kind", f"pass one of: {', '.join(EXECUTORS)}")
    require(scheduler, (str, type(None)), "scheduler", "pass an address such as 'tcp://host:8786', or None")
    require(timeout, (int, float, type(None)), "timeout", "pass seconds such as 30, or None")
    if kind not in EXECUTORS:
        raise ToolkitError(f"unknown executor '{kind}'; choose one of: {', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ToolkitError(f"workers must be a positive whole number, got {workers!r}")
    if scheduler is not None and kind != "dask":
        raise ToolkitError(f"a scheduler address ({scheduler}) needs the dask executor (--executor dask)")
    timeout = connect_timeout(timeout)
    workers = workers or usable_cores()
    if kind == "local":
        yield InlineExecutor()
    elif kind == "process":
        with _process_pool(workers) as pool:
            yield pool
    else:
        with _dask_client(workers, scheduler, timeout, stop) as client:
            yield DaskExecutor(client)


@contextlib.contextmanager
def _process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_ignore_interrupts)
    try:
        yield pool
    except BaseException:
        _terminate(pool)  # interrupted or failed: do not wait for candidates nobody will read
        raise
    pool.shutdown(wait=True, cancel_futures=True)


def _terminate(pool: ProcessPoolExecutor) -> None:
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def connect_timeout(timeout: float | None = None) -> float:
    """The scheduler connection deadline: ``timeout``, else ``$NAS_TOOLKIT_CONNECT_TIMEOUT``, else 30 s."""
    where = "timeout"
    if timeout is None and os.environ.get(CONNECT_TIMEOUT_ENV, "").strip():
        where, timeout = CONNECT_TIMEOUT_ENV, os.environ[CONNECT_TIMEOUT_ENV].strip()
    if timeout is None:
        return CONNECT_TIMEOUT
    try:
        seconds = float(timeout)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(timeout, bool) or not math.isfinite(seconds) or seconds <= 0:
        raise ToolkitError(f"{where} must be a positive number of seconds, got {timeout!r}")
    return seconds


@contextlib.contextmanager
def _dask_client(workers: int, scheduler: str | None, timeout: float, stop: StopSignal | None):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ToolkitError("the dask executor needs Dask distributed; install it with "
                           "pip install 'nas-toolkit[cluster]'") from None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        with cluster, Client(cluster) as client:
            yield client
        return
    check_scheduler(scheduler, timeout, stop)
    try:
        client = Client(scheduler, timeout=timeout)
    except Exception as e:  # it answered as a scheduler a moment ago: whatever fails now, name the address
        raise ToolkitError(f"cannot connect to the Dask scheduler at '{scheduler}' ({_first_line(e)}); "
                           f"check that it is still running") from None
    with client:
        yield client


def check_scheduler(address: str, timeout: float, stop: StopSignal | None = None) -> None:
    """Ask ``address`` who it is, within ``timeout`` seconds overall (connection and handshake included).

    ``distributed.Client(address, timeout=...)`` bounds the TCP connection but not the handshake after
    it, so a listener that accepts and stays silent (a firewall, a wrong port) would hang it for ever.
    This probe runs Dask's own handshake and ``identity`` call in an event loop of its own, in a thread
    (a notebook's running loop is left alone), under one deadline, and checks ``stop`` ten times a
    second so Ctrl-C ends the wait.

    Raises:
        ToolkitError: no answer in time, an answer that is not a Dask scheduler's (an HTTP server, a
            Dask worker), a refused connection or a bad address, or a stop while waiting.
    """
    check = ("check the address and port (the scheduler prints them as 'Scheduler at: tcp://host:8786'), that "
             "'dask scheduler' runs there, and that no firewall or proxy stands between")
    with ThreadPoolExecutor(1, thread_name_prefix="dask-connect") as pool:
        try:
            reply = pool.submit(asyncio.run, _identity(address, timeout, stop)).result()
        except _Stopped:
            raise ToolkitError(f"stopped while connecting to the Dask scheduler at '{address}'") from None
        except TimeoutError:
            raise ToolkitError(f"the Dask scheduler at '{address}' did not answer within {timeout:g} s; {check} "
                               f"(a longer wait: --connect-timeout or ${CONNECT_TIMEOUT_ENV})") from None
        except OSError as e:  # refused, unresolvable, reset
            raise ToolkitError(f"cannot reach the Dask scheduler at '{address}' ({_first_line(e)}); {check}") from None
        except Exception:  # an answer Dask's protocol cannot parse (an HTTP server's reply gives a huge frame)
            raise ToolkitError(f"'{address}' answered, but not as a Dask scheduler (an HTTP server or proxy?); "
                               f"{check}") from None
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        what = "a Dask worker" if kind == "Worker" else "something that is not a Dask scheduler"
        raise ToolkitError(f"'{address}' is {what}; {check}")


class _Stopped(Exception):
    """The stop signal was set while waiting for the scheduler."""


async def _identity(address: str, timeout: float, stop: StopSignal | None):
    """The answer of ``address`` to Dask's ``identity`` call, or TimeoutError after ``timeout`` seconds."""
    from distributed.comm import connect

    async def ask():
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    task = asyncio.ensure_future(ask())
    deadline = time.monotonic() + timeout
    try:
        while not task.done():
            if stop is not None and stop.requested:
                raise _Stopped
            if time.monotonic() >= deadline:
                raise TimeoutError
            await asyncio.wait({task}, timeout=min(0.1, max(deadline - time.monotonic(), 0.0)))
        return task.result()
    finally:
        task.cancel()


class DaskExecutor(Executor):
    """A Dask client's executor (``pure=False``: equal specs still run) that can tell a cluster left
    without workers: a task then waits for ever, so :meth:`check` turns it into an error."""

    def __init__(self, client, grace: float = WORKERLESS_GRACE):
        self.client, self.grace = client, grace
        self.executor = client.get_executor(pure=False)
        self.workerless_since: float | None = None

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return self.executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.executor.shutdown(wait=wait)

    def check(self) -> None:
        """Raise ToolkitError once the cluster has had no worker for ``grace`` seconds (Dask moves a lost
        worker's tasks to the others by itself; with none left they would wait for ever)."""
        try:
            workers = self.client.scheduler_info().get("workers", {})
        except Exception:  # noqa: BLE001 -- a scheduler gone is reported by the futures themselves
            return
        if workers:
            self.workerless_since = None
            return
        now = time.monotonic()
        self.workerless_since = self.workerless_since or now
        if now - self.workerless_since >= self.grace:
            address = getattr(self.client.scheduler, "address", "the scheduler")
            raise ToolkitError(f"the Dask cluster at '{address}' has had no worker for {self.grace:g} s, so the "
                               f"candidates left cannot run; start workers ('dask worker {address}') and resume")


def wait_some(futures, executor: Executor | None = None, timeout: float = POLL_SECONDS) -> set[Future]:
    """The futures among ``futures`` that are done, waiting at most ``timeout`` seconds for one.

    Callers loop over it, checking their stop signal between calls, instead of blocking on a future that
    may never complete; while nothing completes, the executor's ``check()`` (a :class:`DaskExecutor`'s:
    a cluster left without workers) may raise ToolkitError.
    """
    done, _ = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
    check = getattr(executor, "check", None)
    if not done and check is not None:
        check()
    return done


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def fan_out(fn: Callable, jobs: Sequence[tuple], names: Sequence[str], executor: Executor | None = None, *,
            on_result: Callable[[int, object], None] | None = None, stop: StopSignal | None = None,
            what: str = "candidate") -> list:
    """``fn(*job)`` for every job through ``executor`` (default: one after another in this process), in job order.

    The one fan-out of the population methods (:func:`toolkit.evaluate.evaluate_all`, ME-DARTS' members):
    jobs are submitted in order until ``stop`` is set; an in-process executor's result is reported at once;
    the rest are polled (:func:`wait_some`), so a stop is seen while waiting and a Dask cluster left
    without workers becomes an error. Once stopped, jobs not started are cancelled and the running ones
    finish. ``on_result(index, result)`` is called in this thread as each job finishes.

    Returns:
        the results in job order, None for a job that never ran (stopped first).

    Raises:
        ToolkitError: a job raised one (the message is prefixed with ``what`` and its name), or its worker
            died (:func:`worker_failure`). Other exceptions from a worker propagate as is.
    """
    executor = InlineExecutor() if executor is None else executor
    results: list = [None] * len(jobs)
    pending: dict[Future, int] = {}

    def collect(future: Future, index: int) -> None:
        try:
            results[index] = future.result()
        except Exception as e:
            if stop is not None and stop.requested and not isinstance(e, ToolkitError):
                return  # a worker ended by the same Ctrl-C: not evaluated
            failure = worker_failure(e, names[index], what)
            if failure is e:
                raise
            raise failure from e
        if on_result is not None:
            on_result(index, results[index])

    try:
        for index, job in enumerate(jobs):
            if stop is not None and stop.requested:
                break
            future = executor.submit(fn, *job)
            if future.done():  # an in-process executor ran it already: report it now, not at the end
                collect(future, index)
            else:
                pending[future] = index
        _drain(pending, executor, collect, stop)
    finally:
        for future in pending:
            future.cancel()
    return results


def _drain(pending: dict[Future, int], executor: Executor, collect, stop: StopSignal | None) -> None:
    """Collect ``pending`` as they finish, polled, never one blocking wait; at a stop, cancel those not started."""
    stopping = False
    while pending:
        if stop is not None and stop.requested and not stopping:
            stopping = True
            for waiting in list(pending):
                if waiting.cancel():  # not started yet: never runs; running ones finish below
                    del pending[waiting]
        for future in wait_some(pending, executor):
            if not future.cancelled():
                collect(future, pending[future])
            del pending[future]


def worker_failure(error: Exception, name: str, what: str = "candidate") -> Exception:
    """The error to raise for a failed job: ours with its name, a dead worker explained, others as is."""
    if isinstance(error, ToolkitError):
        return ToolkitError(f"{what} '{name}': {error}")
    if isinstance(error, BrokenProcessPool) or type(error).__name__ == "KilledWorker":
        return ToolkitError(f"a worker process died while evaluating '{name}': out of memory (use fewer workers "
                            f"or smaller networks), or a script that starts workers outside "
                            f"'if __name__ == \"__main__\":' (spawned workers import the script again)")
    return error
