"""The rebuild pipeline: snapshot -> translate -> envoy resources -> xDS cache.

Shared by every mode (files, Kubernetes). A rebuild that fails keeps the last good snapshot
serving; nothing here raises on user data. The heavy, pure part (translate + build) runs in a
worker thread so the event loop keeps serving xDS meanwhile; only the cache update runs on
the loop.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import anyio
from google.protobuf.message import Message

from gateway_contour.envoy.memo import BuildMemo
from gateway_contour.envoy.resources import build_resources
from gateway_contour.gcpolicy import CollectorPolicy
from gateway_contour.ir.model import IR
from gateway_contour.status.hints import ForeignClassHints
from gateway_contour.status.report import Problem, StatusReport
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, TranslationCache, translate
from gateway_contour.xds.cache import SnapshotCache

log = logging.getLogger(__name__)

FleetResources = Mapping[str, Mapping[str, Mapping[str, Message]]]


@dataclass(frozen=True, slots=True)
class BuildResult:
    ir: IR
    report: StatusReport
    resources: FleetResources
    translate_seconds: float
    build_seconds: float

    @property
    def fleets(self) -> set[str]:
        return {gw.name for gw in self.ir.gateways}


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a build allocates: the IR and protobufs it makes are
    acyclic (refcounting frees them), but every allocation burst over a heap of ten thousand
    objects triggers full collections that measured a third of a 10k-route build."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build(
    snapshot: Snapshot,
    options: TranslateOptions,
    cache: TranslationCache | None = None,
    memo: BuildMemo | None = None,
) -> BuildResult:
    """The pure part of a rebuild. `cache` and `memo` carry per-object work (translation,
    Envoy messages) over from the last rebuild (one rebuild at a time may use them)."""
    with gc_paused():
        t0 = time.perf_counter()
        ir, report = translate(snapshot, options, cache)
        t1 = time.perf_counter()
        resources = build_resources(ir, memo)
        t2 = time.perf_counter()
    return BuildResult(ir, report, resources, t1 - t0, t2 - t1)


class Pipeline:
    """Rebuilds on demand and publishes to the cache; remembers the last good result."""

    def __init__(self, cache: SnapshotCache, options: TranslateOptions) -> None:
        self.cache = cache
        self.options = options
        self.translation_cache = TranslationCache()
        self.build_memo = BuildMemo()
        self.last: BuildResult | None = None
        self.rebuilds = 0
        self.failures = 0
        # freezes what survives each rebuild; its `run` (started by the mode) collects fully
        # when the controller is quiet
        self.collector = CollectorPolicy()
        self.on_rebuild: Callable[[float, bool], None] | None = None  # (seconds, ok): metrics
        self.hints = ForeignClassHints()  # every mode's log names the classes not ours

    async def rebuild(
        self, snapshot: Snapshot, problems: list[Problem] | None = None
    ) -> BuildResult | None:
        started = time.perf_counter()
        self.hints.publish(snapshot, self.options.controller_name)
        try:
            result = await anyio.to_thread.run_sync(
                build, snapshot, self.options, self.translation_cache, self.build_memo
            )
        except Exception:
            # a bug of ours, never the user's: keep serving the last good config
            self.failures += 1
            log.exception("rebuild failed; the last good configuration keeps serving")
            if self.on_rebuild is not None:
                self.on_rebuild(time.perf_counter() - started, False)
            return None
        if problems:
            result.report.problems[:0] = problems
        self.publish(result)
        if self.on_rebuild is not None:
            self.on_rebuild(time.perf_counter() - started, True)
        return result

    def publish(self, result: BuildResult) -> None:
        previous = set(self.last.resources) if self.last else set()
        for fleet, resources in result.resources.items():
            self.cache.set_fleet(fleet, resources)
        for fleet in previous - set(result.resources):
            self.cache.remove_fleet(fleet)
        self.cache.mark_ready()
        self.last = result
        self.rebuilds += 1
        self.collector.after_rebuild()
        log.debug(
            "rebuild %d: translate %.1f ms, build %.1f ms, %d fleets",
            self.rebuilds,
            result.translate_seconds * 1e3,
            result.build_seconds * 1e3,
            len(result.resources),
        )
