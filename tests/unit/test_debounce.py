"""The debouncer: idle -> immediate; bursts and a busy controller -> batched within
holdoff/max_wait. Timings are generous: the machine is shared, nothing here is a benchmark."""

from __future__ import annotations

import itertools
import time

import anyio

from gateway_contour.debounce import Debouncer


async def test_first_change_after_quiet_runs_at_once_and_bursts_are_batched() -> None:
    debouncer = Debouncer(holdoff=1.0, max_wait=3.0)
    runs: list[float] = []
    ran = anyio.Event()

    async def action() -> None:
        runs.append(time.monotonic())
        ran.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(debouncer.run, action)
        poked = time.monotonic()
        debouncer.poke()
        with anyio.fail_after(5):
            await ran.wait()
        # leading edge: it did not wait for the holdoff
        assert runs[0] - poked < 0.8
        # a burst of 20 pokes right after: one more run, not twenty
        for _ in range(20):
            debouncer.poke()
            await anyio.sleep(0.01)
        with anyio.fail_after(5):
            while len(runs) < 2:
                await anyio.sleep(0.02)
        # the batched run waited for quiet
        assert runs[1] - runs[0] >= 1.0
        await anyio.sleep(1.5)  # long enough for a wrongly scheduled extra run to show up
        tg.cancel_scope.cancel()
    assert len(runs) == 2
    assert debouncer.runs == 2


async def test_a_continuous_stream_on_a_busy_controller_flushes_by_max_wait() -> None:
    debouncer = Debouncer(holdoff=0.3, max_wait=0.9)
    runs: list[float] = []

    async def action() -> None:
        runs.append(time.monotonic())
        await anyio.sleep(0.15)  # each rebuild takes longer than the gap between changes

    async with anyio.create_task_group() as tg:
        tg.start_soon(debouncer.run, action)
        start = time.monotonic()
        # a poke every 100 ms for 3 s never leaves 300 ms of quiet
        while time.monotonic() - start < 3.0:
            debouncer.poke()
            await anyio.sleep(0.1)
        tg.cancel_scope.cancel()
    # the leading run, then a flush per max_wait window: not starved, not one per poke
    assert 3 <= len(runs) <= 8, runs
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert all(g < 0.9 + 0.5 for g in gaps), gaps


async def test_changes_one_after_another_on_an_idle_controller_each_run_at_once() -> None:
    # one change, served, then the next: the propagation case; each gap is longer than the
    # (tiny) run but shorter than the holdoff, and none of them waits for the holdoff
    debouncer = Debouncer(holdoff=2.0, max_wait=5.0, min_quiet=0.05)
    runs: list[float] = []
    ran = anyio.Event()

    async def action() -> None:
        runs.append(time.monotonic())
        ran.set()

    waits = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(debouncer.run, action)
        for _ in range(5):
            await anyio.sleep(0.2)
            ran = anyio.Event()
            poked = time.monotonic()
            debouncer.poke()
            with anyio.fail_after(5):
                await ran.wait()
            waits.append(runs[-1] - poked)
        tg.cancel_scope.cancel()
    assert debouncer.runs == debouncer.leading_runs == 5
    assert max(waits) < 1.0, waits
