"""The rebuild pipeline: snapshot -> translate -> envoy resources -> xDS cache.

Shared by every mode (files, Kubernetes). A rebuild that fails keeps the last good snapshot
serving; nothing here raises on user data. The heavy, pure part (translate + build) runs in a
worker thread so the event loop keeps serving xDS meanwhile; only the cache update runs on
the loop. One rebuild runs at a time (the per-object caches are not shared).

Objects withheld after a NACK (nack/) are left out of every build until they change; each
build says which of them still are (`BuildResult.withheld`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import anyio
from google.protobuf.message import Message

from gateway_contour.envoy.memo import BuildMemo
from gateway_contour.envoy.resources import build_resources
from gateway_contour.gcpolicy import CollectorPolicy
from gateway_contour.ir.model import IR
from gateway_contour.nack.withhold import Withheld, released, report_withheld, withhold_ir
from gateway_contour.status.hints import ForeignClassHints
from gateway_contour.status.report import Problem, StatusReport
from gateway_contour.store.objects import ObjectKey, Snapshot
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
    # the objects left out of this build (withheld after a NACK and unchanged since)
    withheld: Mapping[ObjectKey, Withheld] = field(default_factory=dict)

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
    withheld: Mapping[ObjectKey, Withheld] | None = None,
) -> BuildResult:
    """The pure part of a rebuild. `cache` and `memo` carry per-object work (translation,
    Envoy messages) over from the last rebuild (one rebuild at a time may use them). The
    output of `withheld` objects that did not change is left out, and their status says
    why."""
    with gc_paused():
        t0 = time.perf_counter()
        ir, report = translate(snapshot, options, cache)
        active: dict[ObjectKey, Withheld] = {}
        if withheld:
            gone = released(withheld, snapshot)
            active = {key: entry for key, entry in withheld.items() if key not in gone}
            ir = withhold_ir(ir, active)
            report_withheld(report, active.values())
        t1 = time.perf_counter()
        resources = build_resources(ir, memo)
        t2 = time.perf_counter()
    return BuildResult(ir, report, resources, t1 - t0, t2 - t1, active)


class Pipeline:
    """Rebuilds on demand and publishes to the cache; remembers the last good result."""

    def __init__(self, cache: SnapshotCache, options: TranslateOptions) -> None:
        self.cache = cache
        self.options = options
        self.translation_cache = TranslationCache()
        self.build_memo = BuildMemo()
        self.last: BuildResult | None = None
        self.last_snapshot: Snapshot | None = None  # the objects `last` was built from
        self.rebuilds = 0
        self.failures = 0
        # freezes what survives each rebuild; its `run` (started by the mode) collects fully
        # when the controller is quiet
        self.collector = CollectorPolicy()
        self.on_rebuild: Callable[[float, bool], None] | None = None  # (seconds, ok): metrics
        self.hints = ForeignClassHints()  # every mode's log names the classes not ours
        # objects left out after a NACK, until they change (nack/fallback.py adds them)
        self.withheld: dict[ObjectKey, Withheld] = {}
        self._one_at_a_time = anyio.Lock()

    def withhold(self, entries: list[Withheld]) -> None:
        """Leave these objects out of the next rebuilds (until each changes)."""
        for entry in entries:
            self.withheld[entry.key] = entry

    async def rebuild(
        self, snapshot: Snapshot, problems: list[Problem] | None = None
    ) -> BuildResult | None:
        async with self._one_at_a_time:
            return await self._rebuild(snapshot, problems)

    async def _rebuild(
        self, snapshot: Snapshot, problems: list[Problem] | None
    ) -> BuildResult | None:
        started = time.perf_counter()
        self.hints.publish(snapshot, self.options.controller_name)
        withheld = dict(self.withheld)
        try:
            result = await anyio.to_thread.run_sync(
                build,
                snapshot,
                self.options,
                self.translation_cache,
                self.build_memo,
                withheld,
            )
        except Exception:
            # a bug of ours, never the user's: keep serving the last good config
            self.failures += 1
            log.exception("rebuild failed; the last good configuration keeps serving")
            if self.on_rebuild is not None:
                self.on_rebuild(time.perf_counter() - started, False)
            return None
        for key, entry in withheld.items():
            # changed since it was withheld: served again (unless withheld anew meanwhile)
            if key not in result.withheld and self.withheld.get(key) is entry:
                del self.withheld[key]
        if problems:
            result.report.problems[:0] = problems
        self.last_snapshot = snapshot
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
