"""The Prometheus series of what the controller refused: objects a provider could not take
(`objects_rejected_total{kind, reason}`) and ADS streams the xDS server refused
(`xds_streams_refused_total{reason}`), read from the live counters at scrape time."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gateway_contour.observability.metrics import Metrics, Observed
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer


def scrape(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_rejected_objects_are_counted_by_kind_and_reason_at_scrape_time() -> None:
    counts: dict[tuple[str, str], int] = {}
    metrics = Metrics(Observed(rejected=lambda: counts))
    name = "gateway_contour_objects_rejected_total"
    assert not any(sample_name == name for sample_name, _ in scrape(metrics))
    counts[("HTTPProxy", "too_deep")] = 2
    counts[("HTTPRoute", "apply_failed")] = 1
    scraped = scrape(metrics)
    assert scraped[(name, (("kind", "HTTPProxy"), ("reason", "too_deep")))] == 2
    assert scraped[(name, (("kind", "HTTPRoute"), ("reason", "apply_failed")))] == 1


def test_refused_xds_streams_are_counted_by_reason() -> None:
    server = XdsServer(SnapshotCache())
    metrics = Metrics(Observed(xds=server))
    name = "gateway_contour_xds_streams_refused_total"
    assert scrape(metrics)[(name, (("reason", "bounds"),))] == 0
    server.stats.streams_refused, server.stats.streams_denied = 3, 1
    scraped = scrape(metrics)
    assert scraped[(name, (("reason", "bounds"),))] == 3
    assert scraped[(name, (("reason", "credentials"),))] == 1
