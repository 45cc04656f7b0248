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

import contextlib
import logging
import multiprocessing
import signal
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor

from .errors import ToolkitError
from .runtime import usable_cores

EXECUTORS = ("local", "process", "dask")
CONNECT_TIMEOUT = 10.0  # seconds to reach a Dask scheduler before giving up


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
                  timeout: float | None = None) -> Iterator[Executor]:
    """An executor for ``kind`` (local | process | dask), shut down when the block ends.

    Args:
        kind: ``local`` (in this process), ``process`` (a pool on this machine) or ``dask``.
        workers: parallel evaluations for ``process`` and a local Dask cluster (default: the usable
            CPU cores); a running Dask cluster has as many as its workers' threads.
        scheduler: a running Dask scheduler's address such as ``tcp://host:8786`` (``dask`` only);
            None starts a ``LocalCluster`` of ``workers`` processes with one thread each.
        timeout: seconds to reach the scheduler (default :data:`CONNECT_TIMEOUT`).

    Raises:
        ToolkitError: an unknown kind, a bad worker count, a scheduler without ``dask``, Dask not
            installed, or a scheduler that cannot be reached in time.
    """
    from .loop import require  # here: workers importing this module need not load the run loop

    require(kind, str, "kind", f"pass one of: {', '.join(EXECUTORS)}")
    require(scheduler, (str, type(None)), "scheduler", "pass an address such as 'tcp://host:8786', or None")
    require(timeout, (int, float, type(None)), "timeout", "pass seconds such as 30, or None")
    if kind not in EXECUTORS:
        raise ToolkitError(f"unknown executor '{kind}'; choose one of: {', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ToolkitError(f"workers must be a positive whole number, got {workers!r}")
    if scheduler is not None and kind != "dask":
        raise ToolkitError(f"a scheduler address ({scheduler}) needs the dask executor (--executor dask)")
    workers = workers or usable_cores()
    if kind == "local":
        yield InlineExecutor()
    elif kind == "process":
        with _process_pool(workers) as pool:
            yield pool
    else:
        with _dask_client(workers, scheduler, CONNECT_TIMEOUT if timeout is None else timeout) as client:
            yield client.get_executor(pure=False)  # pure=False: equal specs still run (and key nothing by hash)


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


@contextlib.contextmanager
def _dask_client(workers: int, scheduler: str | None, timeout: float):
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
    try:
        client = Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        raise ToolkitError(f"cannot reach the Dask scheduler at '{scheduler}' ({_first_line(e)}); "
                           f"start one with 'dask scheduler' and pass its address, e.g. tcp://host:8786") from None
    with client:
        yield client


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
