"""On a NACK: find the objects responsible, withhold them, re-send the rest.

`NackFallback` is hooked to the xDS server's ACK and NACK events (`XdsStats.on_ack`,
`on_nack`) and run as a task of the mode. For a NACK of a fleet it takes the build now
published (the one Envoy refused, or a newer one, which the search then checks first) and:

1. the candidates are the objects whose output in that fleet changed since the build the
   fleet's Envoys last accepted (every object of the fleet when none was accepted);
2. in a worker thread, never on the event loop, it bisects them (search.py): each probe
   builds the fleet's resources without a subset of candidates and loads them with
   `envoy --mode validate` (envoy/validate.py), at most `budget` probes;
3. the objects found (all candidates when the budget runs out, logged) are withheld by the
   pipeline with Envoy's message, each logged, and `republish` rebuilds at once, so Envoy
   stays on the refused version only as long as the search took.

Several NACKs of one published version (one per Envoy of the fleet, or repeated ones) make
one search; fleets are searched in parallel. A refusal validate mode does not reproduce, or
one no candidate explains, is logged and nothing is withheld: Envoy keeps its last accepted
configuration. The counts (`searches` by outcome, `probes`, `search_seconds`) are metrics.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from gateway_contour.envoy.memo import BuildMemo
from gateway_contour.envoy.resources import LISTENER, ROUTE, FleetResources, build_resources
from gateway_contour.envoy.validate import ValidationResult, validate_fleet
from gateway_contour.ir.model import IR, Gateway
from gateway_contour.nack.search import Outcome, SearchResult, find_responsible
from gateway_contour.nack.withhold import Withheld, changed_sources, shorten, withhold_ir
from gateway_contour.pipeline import Pipeline
from gateway_contour.store.objects import ObjectKey
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.stats import NackEvent, XdsStats

log = logging.getLogger(__name__)

DEFAULT_BUDGET = 64  # validate runs per search (one bad object among 1,000 takes 22)
# the types whose acceptance says a fleet took a build (the ones objects' values land in)
_ACCEPTING_TYPES = frozenset({LISTENER, ROUTE})

Validator = Callable[[FleetResources], ValidationResult]


@dataclass(frozen=True, slots=True)
class Search:
    """One search, for the log and for metrics."""

    fleet: str
    result: SearchResult[ObjectKey]
    candidates: int
    seconds: float


def fleet_of(ir: IR, fleet: str) -> Gateway | None:
    return next((gw for gw in ir.gateways if gw.name == fleet), None)


def probe_loads(
    ir: IR, fleet: str, validate: Validator = validate_fleet
) -> Callable[[frozenset[ObjectKey]], bool]:
    """`loads(withheld)` for the search: does `fleet`'s configuration without `withheld`
    load in Envoy? (Blocking: run it in a worker thread.)"""
    gateway = fleet_of(ir, fleet)
    only = dataclasses.replace(ir, gateways=(gateway,) if gateway is not None else ())
    memo = BuildMemo()  # the search's own: the pipeline's may be in use meanwhile

    def loads(withheld: frozenset[ObjectKey]) -> bool:
        return validate(build_resources(withhold_ir(only, withheld), memo).get(fleet, {})).ok

    return loads


class NackFallback:
    def __init__(
        self,
        pipeline: Pipeline,
        cache: SnapshotCache,
        republish: Callable[[], Awaitable[None]],
        *,
        budget: int = DEFAULT_BUDGET,
        validate: Validator = validate_fleet,
    ) -> None:
        self.pipeline = pipeline
        self.cache = cache
        self.republish = republish
        self.budget = budget
        self.validate = validate
        self.accepted: dict[str, Gateway] = {}  # fleet -> the IR its Envoys last accepted
        self._pending: dict[str, tuple[NackEvent, int]] = {}  # fleet -> (NACK, generation)
        self._searched: dict[str, int] = {}  # fleet -> the generation last searched
        self._searching: set[str] = set()  # fleets with a search running
        self._wake = anyio.Event()
        self.searches: Counter[str] = Counter()  # by outcome
        self.probes = 0  # validate runs of all searches
        self.search_seconds = 0.0  # time spent searching, all searches together
        self.last: Search | None = None

    def attach(self, stats: XdsStats) -> None:
        stats.on_nack = self.on_nack
        stats.on_ack = self.on_ack

    def on_ack(self, fleet: str, type_url: str, version: str) -> None:
        snapshot, built = self.cache.snapshot(fleet), self.pipeline.last
        if type_url not in _ACCEPTING_TYPES or snapshot is None or built is None:
            return
        if snapshot.version(type_url) == version and (gw := fleet_of(built.ir, fleet)):
            self.accepted[fleet] = gw

    def on_nack(self, event: NackEvent) -> None:
        self._pending[event.fleet] = (event, self.cache.generation(event.fleet))
        self._wake.set()

    async def run(self) -> None:
        """Search for each fleet's NACKs as they come: fleets in parallel, one search at a
        time per fleet."""
        async with anyio.create_task_group() as tg:
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                for fleet in set(self._pending) - self._searching:
                    self._searching.add(fleet)
                    tg.start_soon(self._serve_fleet, fleet)

    async def _serve_fleet(self, fleet: str) -> None:
        try:
            while (pending := self._pending.pop(fleet, None)) is not None:
                event, generation = pending
                if generation > self._searched.get(fleet, 0):
                    await self.handle(event)
        finally:
            self._searching.discard(fleet)

    async def handle(self, event: NackEvent) -> Search | None:
        """Search for what `event`'s fleet refused, withhold it and re-send the rest."""
        fleet = event.fleet
        built = self.pipeline.last
        gateway = fleet_of(built.ir, fleet) if built is not None else None
        if built is None or gateway is None:
            return None
        self._searched[fleet] = self.cache.generation(fleet)
        candidates = changed_sources(gateway, self.accepted.get(fleet))
        started = time.perf_counter()
        loads = probe_loads(built.ir, fleet, self.validate)
        result = await anyio.to_thread.run_sync(find_responsible, candidates, loads, self.budget)
        search = Search(fleet, result, len(candidates), time.perf_counter() - started)
        self.searches[result.outcome] += 1
        self.probes += result.calls
        self.search_seconds += search.seconds
        self.last = search
        if not self._withhold(search, event):
            return search
        await self.republish()
        return search

    def _withhold(self, search: Search, event: NackEvent) -> bool:
        result, fleet = search.result, search.fleet
        took = f"{result.calls} validate runs, {search.seconds:.2f} s"
        if result.outcome is Outcome.NOT_REPRODUCED:
            log.warning(
                "fleet %s refused a configuration that envoy --mode validate loads (%s): "
                "nothing withheld; Envoy keeps its last accepted one",
                fleet,
                took,
            )
            return False
        if result.outcome is Outcome.OUTSIDE_CANDIDATES:
            log.error(
                "fleet %s: the configuration fails even without the %d objects whose output "
                "changed (%s): nothing withheld; Envoy keeps its last accepted one",
                fleet,
                search.candidates,
                took,
            )
            return False
        if result.outcome is Outcome.OVER_BUDGET:
            log.error(
                "fleet %s: search over its budget of %d validate runs: withholding all %d "
                "objects whose output changed",
                fleet,
                self.budget,
                search.candidates,
            )
        snapshot = self.pipeline.last_snapshot
        message = shorten(event.message)
        entries = []
        for key in sorted(result.responsible):
            obj = snapshot.get(key.kind, key.namespace, key.name) if snapshot else None
            if obj is None:
                continue
            entries.append(Withheld(key, obj, message, fleet))
            log.warning(
                "%s %s/%s withheld from fleet %s (found among %d in %s): Envoy refused it: %s",
                key.kind,
                key.namespace,
                key.name,
                fleet,
                search.candidates,
                took,
                message,
            )
        self.pipeline.withhold(entries)
        return bool(entries)
