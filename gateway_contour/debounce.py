"""Batch bursts of changes without making an idle controller wait.

The first change after a quiet period triggers a rebuild at once (leading edge). Changes that
arrive while a rebuild runs, or within `holdoff` of the last one, are batched: the next
rebuild starts when no change has come for `holdoff` seconds, or `max_wait` after the first
pending change, whichever is sooner (Contour: 100 ms holdoff, 500 ms maximum).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio


class Debouncer:
    def __init__(self, holdoff: float = 0.1, max_wait: float = 0.5) -> None:
        self.holdoff = holdoff
        self.max_wait = max_wait
        self._wake = anyio.Event()
        self._first_pending: float | None = None
        self._last_change = 0.0
        self._last_run_end = -1e9
        self.runs = 0

    def poke(self) -> None:
        """Say something changed. Safe to call from the event loop at any rate."""
        now = time.monotonic()
        if self._first_pending is None:
            self._first_pending = now
        self._last_change = now
        self._wake.set()

    async def _settle(self) -> None:
        """Wait until the pending burst should be flushed."""
        while True:
            assert self._first_pending is not None
            now = time.monotonic()
            quiet_since_run = now - self._last_run_end >= self.holdoff
            first_of_burst = self._first_pending == self._last_change
            if quiet_since_run and first_of_burst:
                return  # leading edge: an idle controller rebuilds at once
            flush_at = min(self._last_change + self.holdoff, self._first_pending + self.max_wait)
            if now >= flush_at:
                return
            await anyio.sleep(flush_at - now)

    async def run(self, action: Callable[[], Awaitable[object]]) -> None:
        """Call `action` for each batch of pokes, forever."""
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            if self._first_pending is None:
                continue
            await self._settle()
            self._first_pending = None
            self.runs += 1
            await action()
            self._last_run_end = time.monotonic()
            if self._first_pending is not None:
                self._wake.set()
