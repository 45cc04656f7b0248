"""``await run``: how notebook cells wait for a background run without blocking the kernel."""

import asyncio
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


def test_cancelling_the_await_stops_the_run():
    run = BackgroundRun(loop_until_stopped)

    async def main():
        await asyncio.wait_for(_wait(run), timeout=0.1)  # cancels the wait, as Kernel ▸ Interrupt does

    async def _wait(run):
        return await run

    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(main())
    assert run.wait(timeout=5) == "stopped cleanly"


def test_await_raises_the_runs_error():
    def fail(listeners, stop):
        raise ValueError("bad input")

    async def main():
        return await BackgroundRun(fail)

    with pytest.raises(ValueError, match="bad input"):
        asyncio.run(main())
