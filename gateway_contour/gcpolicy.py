"""Keeps full garbage collections off the route propagation path.

The controller holds every watched Kubernetes object as dicts, and the IR and Envoy messages
of every route: hundreds of thousands of objects the cyclic collector tracks. A full
(generation 2) collection walks all of them; at 1,000 routes it measured 20-75 ms, and
whenever it lands between a watch event and the xDS push, that route's propagation takes
that much longer (it was the whole tail of the propagation benchmark).

Almost none of those objects can be in a reference cycle (JSON-shaped dicts, frozen IR
dataclasses, protobuf messages): reference counting frees them. So after each rebuild the
surviving objects are frozen (`gc.freeze`: moved to a generation no collection walks), and
the collector only ever walks what is newer than the last rebuild. The objects frozen that
do sit in cycles (asyncio's, mostly) are collected by a full collection with everything
unfrozen, run when the controller is quiet (no rebuild for `quiet` seconds, at most every
`min_interval`), or after `max_interval` whatever the load.

`GCWatch` logs the pauses over 5 ms (with -v), to check this on a running controller.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

import anyio

log = logging.getLogger(__name__)


class CollectorPolicy:
    def __init__(
        self, quiet: float = 1.0, min_interval: float = 60.0, max_interval: float = 600.0
    ) -> None:
        self.quiet = quiet
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.last_rebuild = 0.0
        self.last_full = time.monotonic()
        self.full_collections = 0

    def after_rebuild(self) -> None:
        """What lives now (the snapshot, IR, messages) is long-lived: stop walking it."""
        gc.freeze()
        self.last_rebuild = time.monotonic()

    def full_collection_due(self, now: float) -> bool:
        since_full = now - self.last_full
        if since_full >= self.max_interval:
            return True
        return since_full >= self.min_interval and now - self.last_rebuild >= self.quiet

    def collect(self) -> int:
        """Everything unfrozen, one full collection, everything frozen again."""
        started = time.perf_counter()
        gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        self.last_full = time.monotonic()
        self.full_collections += 1
        log.debug(
            "full collection: %d unreachable, %.1f ms",
            collected,
            (time.perf_counter() - started) * 1e3,
        )
        return collected

    async def run(self) -> None:
        """Run full collections when due, forever."""
        while True:
            await anyio.sleep(self.quiet)
            if self.full_collection_due(time.monotonic()):
                self.collect()


class GCWatch:
    """A gc callback logging collections that pause the process over `threshold_seconds`."""

    def __init__(self, threshold_seconds: float = 0.005) -> None:
        self.threshold = threshold_seconds
        self.started = 0.0
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds), the last 100

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        took = time.perf_counter() - self.started
        if took >= self.threshold:
            generation = int(info.get("generation", -1))
            self.pauses.append((generation, took))
            del self.pauses[:-100]
            log.debug("gc generation %d paused %.1f ms", generation, took * 1e3)

    def install(self) -> GCWatch:
        if self not in gc.callbacks:
            gc.callbacks.append(self)
        return self

    def uninstall(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)
