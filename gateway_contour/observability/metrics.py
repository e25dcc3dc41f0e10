"""Prometheus metrics of a running controller, read from its live parts at scrape time.

Counters that the pipeline, the xDS server and the status writer already keep are not
duplicated: a custom collector reads them when Prometheus scrapes (on the event loop, where
they change, so no locking). Only the rebuild durations need observing as they happen
(`Metrics.observe_rebuild`, hooked to `Pipeline.on_rebuild`). Each `Metrics` has its own
registry: several controllers in one process (tests) never share series.

Series (prefix `gateway_contour_`): `ready`; `rebuilds_total`, `rebuild_failures_total`,
`rebuild_duration_seconds{outcome}`; `objects{kind}`; `objects_rejected_total{kind, reason}`
(objects a provider could not take: reason `too_deep`, `apply_failed`);
`xds_connected_clients{fleet, protocol}`, `xds_pushes_total`, `xds_requests_total`,
`xds_acks_total`, `xds_nacks_total{type}`, `xds_streams_refused_total{reason}` (`bounds`: a
request over a bound; `credentials`: no credential for the fleet named; `limit`: too many
streams open),
`xds_certificate_reloads_total` (with mTLS); `withheld_objects` (withheld after a NACK,
nack/), `nack_searches_total{outcome}`, `nack_search_probes_total` (envoy --mode validate
runs), `nack_search_seconds_total`; `status_writes_total`,
`status_write_conflicts_total`, `status_write_failures_total`, `status_writes_skipped_total`
(serve mode, once the writer exists).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway_contour.nack.fallback import NackFallback
from gateway_contour.nack.search import Outcome
from gateway_contour.pipeline import Pipeline
from gateway_contour.store.objects import Snapshot
from gateway_contour.xds.server import XdsServer

if TYPE_CHECKING:  # the writer pulls in the Kubernetes client; host mode has none
    from gateway_contour.status.writer import WriteStats

PREFIX = "gateway_contour"
REBUILD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Observed:
    """The live parts a controller has (assigned as they come into existence)."""

    pipeline: Pipeline | None = None
    xds: XdsServer | None = None
    nack_fallback: NackFallback | None = None
    status: Callable[[], WriteStats | None] = lambda: None  # the writer's running totals
    snapshot: Callable[[], Snapshot | None] = lambda: None  # the objects watched now
    kinds: Callable[[], Iterable[str]] = lambda: ()  # kinds watched (counted even when none)
    synced: Callable[[], bool] = lambda: False  # every watched kind listed once
    # objects the provider could not take, by (kind, reason)
    rejected: Callable[[], Mapping[tuple[str, str], int]] = lambda: {}
    not_ready: list[str] = field(default_factory=list)  # filled by `ready`, for /readyz

    def ready(self) -> bool:
        """Every kind synced and the first snapshot published to the xDS cache."""
        problems = []
        if not self.synced():
            problems.append("not every watched kind has synced")
        if self.pipeline is None or not self.pipeline.cache.ready:
            problems.append("no configuration published yet")
        self.not_ready = problems
        return not problems


class _LiveCollector(Collector):
    def __init__(self, observed: Observed) -> None:
        self.observed = observed

    def collect(self) -> Iterator[Metric]:
        o = self.observed
        yield _gauge("ready", "1 when every kind synced and a snapshot is served", o.ready())
        if o.pipeline is not None:
            yield _counter("rebuilds", "Rebuilds published to the xDS cache", o.pipeline.rebuilds)
            yield _counter(
                "rebuild_failures", "Rebuilds that failed (last good kept)", o.pipeline.failures
            )
            yield _gauge(
                "withheld_objects",
                "Objects left out after Envoy refused what they produce, until they change",
                len(o.pipeline.withheld),
            )
        if o.nack_fallback is not None:
            yield from _nack_fallback(o.nack_fallback)
        snapshot = o.snapshot()
        if snapshot is not None:
            objects = GaugeMetricFamily(
                f"{PREFIX}_objects", "Objects watched, by kind", labels=["kind"]
            )
            for kind in sorted({*snapshot.kinds(), *o.kinds()}):
                objects.add_metric([kind], snapshot.count(kind))
            yield objects
        rejected = CounterMetricFamily(
            f"{PREFIX}_objects_rejected",
            "Objects a provider could not take (not served), by kind and reason",
            labels=["kind", "reason"],
        )
        for (kind, reason), count in sorted(o.rejected().items()):
            rejected.add_metric([kind, reason], count)
        yield rejected
        if o.xds is not None:
            yield from _xds(o.xds)
        status = o.status()
        if status is not None:
            yield _counter("status_writes", "Status subresource writes", status.writes)
            yield _counter(
                "status_write_conflicts", "Status writes that hit a 409", status.conflicts
            )
            yield _counter("status_write_failures", "Status writes that failed", status.failures)
            yield _counter("status_writes_skipped", "Statuses already as desired", status.skipped)


def _nack_fallback(fallback: NackFallback) -> Iterator[Metric]:
    searches = CounterMetricFamily(
        f"{PREFIX}_nack_searches",
        "Searches for the objects behind a NACK, by outcome (found, not_reproduced, "
        "outside_candidates, over_budget)",
        labels=["outcome"],
    )
    for outcome in Outcome:
        searches.add_metric([outcome.value], fallback.searches[outcome])
    yield searches
    yield _counter(
        "nack_search_probes", "envoy --mode validate runs of those searches", fallback.probes
    )
    yield _counter("nack_search_seconds", "Time spent in those searches", fallback.search_seconds)


def _xds(server: XdsServer) -> Iterator[Metric]:
    stats = server.stats
    clients = GaugeMetricFamily(
        f"{PREFIX}_xds_connected_clients",
        "Envoys with an open ADS stream, by fleet and protocol",
        labels=["fleet", "protocol"],
    )
    for (fleet, protocol), count in sorted(
        Counter((s.fleet or "", s.protocol) for s in server.streams()).items()
    ):
        clients.add_metric([fleet, protocol], count)
    yield clients
    yield _counter("xds_pushes", "xDS responses sent", stats.responses)
    yield _counter("xds_requests", "xDS requests received", stats.requests)
    yield _counter("xds_acks", "xDS responses Envoys accepted", stats.acks)
    nacks = CounterMetricFamily(
        f"{PREFIX}_xds_nacks", "xDS responses Envoys rejected, by type", labels=["type"]
    )
    for type_url, count in sorted(stats.nacks_by_type.items()):
        nacks.add_metric([type_url.rsplit(".", 1)[-1]], count)
    yield nacks
    refused = CounterMetricFamily(
        f"{PREFIX}_xds_streams_refused",
        "ADS streams refused, by reason (bounds: a request over a bound; credentials: none for "
        "the fleet named; limit: too many streams open)",
        labels=["reason"],
    )
    refused.add_metric(["bounds"], stats.streams_refused)
    refused.add_metric(["credentials"], stats.streams_denied)
    refused.add_metric(["limit"], stats.streams_over_limit)
    yield refused
    if server.certificates is not None:
        yield _counter(
            "xds_certificate_reloads",
            "Rotated xDS server certificates taken",
            server.certificates.reloads,
        )


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


class Metrics:
    """The registry of one controller: live counters plus the rebuild histogram."""

    def __init__(self, observed: Observed) -> None:
        self.observed = observed
        self.registry = CollectorRegistry()
        self.rebuild_seconds = Histogram(
            f"{PREFIX}_rebuild_duration_seconds",
            "Time from snapshot to published xDS resources, by outcome",
            labelnames=["outcome"],
            buckets=REBUILD_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_LiveCollector(observed))

    def observe_rebuild(self, seconds: float, ok: bool) -> None:
        self.rebuild_seconds.labels("ok" if ok else "failed").observe(seconds)

    def attach(self, pipeline: Pipeline) -> None:
        """Observe `pipeline`'s rebuilds and read its counters."""
        self.observed.pipeline = pipeline
        pipeline.on_rebuild = self.observe_rebuild

    def render(self) -> bytes:
        """The Prometheus text exposition of every series."""
        return generate_latest(self.registry)
