"""Batch bursts of changes without making an idle controller wait.

A change that finds the controller idle triggers a rebuild at once (leading edge). Idle
means no rebuild is running, none is pending, and the last one ended at least `min_quiet`
ago and at least `busy_factor` times its duration ago: so one change after another, each
arriving once the previous is served, is each served at once, while the controller never
spends more than about 1 / (1 + busy_factor) of its time on leading-edge rebuilds (2/3 by
default).

A lone change that comes too soon after a rebuild waits only until the controller counts as
idle. Two or more changes pending (a burst) are batched: the next rebuild starts when no
change has come for `holdoff` seconds, or `max_wait` after the first pending change,
whichever is sooner (Contour: 100 ms holdoff, 500 ms maximum).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import anyio

log = logging.getLogger(__name__)


class Debouncer:
    def __init__(
        self,
        holdoff: float = 0.1,
        max_wait: float = 0.5,
        min_quiet: float | None = None,
        busy_factor: float = 0.5,
    ) -> None:
        self.holdoff = holdoff
        self.max_wait = max_wait
        self.min_quiet = holdoff / 20 if min_quiet is None else min_quiet
        self.busy_factor = busy_factor
        self._wake = anyio.Event()
        self._first_pending: float | None = None
        self._last_change = 0.0
        self._last_run_end = -1e9
        self._last_run_seconds = 0.0
        self.runs = 0
        self.leading_runs = 0  # runs for a lone change, not a batch (tests, benchmarks)

    def poke(self) -> None:
        """Say something changed. Safe to call from the event loop at any rate."""
        now = time.monotonic()
        if self._first_pending is None:
            self._first_pending = now
        self._last_change = now
        self._wake.set()

    def _idle_at(self) -> float:
        """When the controller counts as idle again after its last run."""
        quiet = max(self.min_quiet, self.busy_factor * self._last_run_seconds)
        return self._last_run_end + quiet

    async def _settle(self) -> bool:
        """Wait until the pending changes should be flushed; True for a leading-edge run."""
        while True:
            assert self._first_pending is not None
            now = time.monotonic()
            if self._first_pending == self._last_change:  # one change so far, not a burst
                idle_at = self._idle_at()
                if self._first_pending >= idle_at or now >= idle_at:
                    return True  # leading edge: an idle controller rebuilds at once
                # too soon after the last run: a lone change waits only for the controller
                # to count as idle; a second change meanwhile makes it a burst
                flush_at = idle_at
            else:
                flush_at = min(
                    self._last_change + self.holdoff, self._first_pending + self.max_wait
                )
            if now >= flush_at:
                return False
            await anyio.sleep(flush_at - now)

    async def run(self, action: Callable[[], Awaitable[object]]) -> None:
        """Call `action` for each batch of pokes, forever."""
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            if self._first_pending is None:
                continue
            leading = await self._settle()
            if not leading:
                log.debug(
                    "batched run: first change %.1f ms after the last run ended (took %.1f ms)",
                    (self._first_pending - self._last_run_end) * 1e3,
                    self._last_run_seconds * 1e3,
                )
            self._first_pending = None
            self.runs += 1
            self.leading_runs += leading
            started = time.monotonic()
            await action()
            self._last_run_end = time.monotonic()
            self._last_run_seconds = self._last_run_end - started
            if self._first_pending is not None:
                self._wake.set()
