"""``await run``: how notebook cells wait for a background run without blocking the kernel."""

import asyncio
import os
import signal
import threading
import time

import pytest

from widgets.runner import BackgroundRun


def loop_until_stopped(listeners, stop):
    while not stop.requested:
        time.sleep(0.01)
    return "stopped cleanly"


def test_await_returns_the_result_and_lets_the_event_loop_run():
    ticks = []

    async def main():
        run = BackgroundRun(lambda listeners, stop: (time.sleep(0.3), 42)[1])
        ticker = asyncio.create_task(tick())
        result = await run
        ticker.cancel()
        return result

    async def tick():  # stands for the kernel handling a widget message while the cell waits
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    assert asyncio.run(main()) == 42
    assert len(ticks) >= 5  # the loop kept running during the wait


def test_a_stop_handled_during_the_await_ends_the_run():
    async def main():
        run = BackgroundRun(loop_until_stopped)
        asyncio.get_running_loop().call_later(0.1, run.stop)  # a Stop click handled by the event loop
        return await asyncio.wait_for(_wait(run), timeout=10), run

    async def _wait(run):
        return await run

    result, run = asyncio.run(main())
    assert result == "stopped cleanly" and run.done


def test_cancelling_the_await_stops_the_run_and_returns_the_partial_result(capsys):
    run = BackgroundRun(loop_until_stopped)

    async def main():
        waiting = asyncio.ensure_future(_wait(run))
        await asyncio.sleep(0.1)
        waiting.cancel()  # what ipykernel does to the cell on Kernel ▸ Interrupt during a top-level await
        return await waiting

    async def _wait(run):
        return await run

    assert asyncio.run(main()) == "stopped cleanly"  # the cell goes on with the partial result
    assert run.done and run.status == "stopped"  # a result without a status of its own: stopped, as asked
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("interrupted: stopped after ")


def test_a_second_interrupt_while_stopping_still_returns_the_result(capsys):
    def slow_to_stop(listeners, stop):
        while not stop.requested:
            time.sleep(0.01)
        time.sleep(0.2)  # the current step finishes first
        return Partial("stopped")

    run = BackgroundRun(slow_to_stop)

    async def main():
        waiting = asyncio.ensure_future(_wait(run))
        for _ in range(2):
            await asyncio.sleep(0.05)
            waiting.cancel()
        return await waiting

    async def _wait(run):
        return await run

    result = asyncio.run(main())
    assert result.status == "stopped" and run.status == "stopped"
    assert capsys.readouterr().out == "interrupted: stopped after 3 epoch(s), 0 s; the result below is partial\n"


class Partial:
    def __init__(self, status):
        self.status, self.history = status, [{}, {}, {}]


def test_keyboard_interrupt_in_wait_stops_the_run_like_stop(capsys):
    run = BackgroundRun(lambda listeners, stop: (loop_until_stopped(listeners, stop), Partial("stopped"))[1])
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT))  # Ctrl-C / Kernel ▸ Interrupt
    timer.start()
    result = run.wait(timeout=10)
    timer.join()
    assert result.status == "stopped" and run.done
    assert "stopped after 3 epoch(s)" in capsys.readouterr().out


def test_await_raises_the_runs_error():
    def fail(listeners, stop):
        raise ValueError("bad input")

    async def main():
        return await BackgroundRun(fail)

    with pytest.raises(ValueError, match="bad input"):
        asyncio.run(main())


KERNEL_SETUP = """
import time
from widgets.runner import BackgroundRun
def target(listeners, stop):
    while not stop.requested:
        time.sleep(0.01)
    return 'partial'
run = BackgroundRun(target)
"""


def test_kernel_interrupt_during_a_top_level_await_ends_the_cell_cleanly():
    """A real ipykernel: Interrupt during ``result = await run`` prints one line, no traceback; the next cell runs."""
    import queue

    manager = pytest.importorskip("jupyter_client.manager")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    km, kc = manager.start_new_kernel(kernel_name="python3", cwd=root,
                                      env={**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1"})
    try:
        kc.execute_interactive(KERNEL_SETUP, timeout=60)
        waiting = kc.execute("result = await run\nprint('after:', result)")
        time.sleep(0.5)
        km.interrupt_kernel()
        following = kc.execute("print('next cell ran with', result)")
        outputs, idle, end = [], set(), time.time() + 30
        while idle != {waiting, following} and time.time() < end:
            try:
                message = kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            content = message["content"]
            if message["msg_type"] in ("stream", "error"):
                outputs.append(content.get("text") or f"{content['ename']}: traceback")
            if message["msg_type"] == "status" and content["execution_state"] == "idle":
                idle.add(message["parent_header"].get("msg_id"))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    text = "".join(outputs)
    assert text.startswith("interrupted:") and "after: partial" in text, text
    assert "next cell ran with partial" in text and "Traceback" not in text and "Error" not in text, text
