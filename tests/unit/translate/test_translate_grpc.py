"""GRPCRoute pieces: method matches as paths, CRD defaults, and the backends' protocol."""

from __future__ import annotations

import copy
import re

import pytest

from gateway_contour.ir.model import Forward, PathMatchKind, StringMatchKind, UpstreamProtocol
from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, translate
from gateway_contour.translate.cache import TranslationCache
from gateway_contour.translate.gatewayapi.defaults import grpcroute_with_defaults
from gateway_contour.translate.gatewayapi.grpc_matches import grpc_match, method_path
from gateway_contour.translate.gatewayapi.matches import MatchError


@pytest.mark.parametrize(
    ("method", "kind", "value"),
    [
        (None, PathMatchKind.PREFIX, "/"),
        ({"service": "a.B", "method": "M"}, PathMatchKind.EXACT, "/a.B/M"),
        ({"service": "a.B"}, PathMatchKind.STRING_PREFIX, "/a.B/"),
        ({"method": "M"}, PathMatchKind.REGEX, "/[^/]+/M"),
        ({"type": "RegularExpression", "service": "a|b"}, PathMatchKind.REGEX, "/(?:a|b)/[^/]+"),
    ],
)
def test_method_match_forms(method: dict[str, str] | None, kind: PathMatchKind, value: str) -> None:
    path = method_path(copy.deepcopy(method) if method else None)
    assert (path.kind, path.value) == (kind, value)


def test_regex_parts_stay_in_their_segment() -> None:
    path = method_path({"type": "RegularExpression", "service": "a|b", "method": "X|Y"})
    pattern = re.compile(path.value)
    assert pattern.fullmatch("/a/Y") and pattern.fullmatch("/b/X")
    # without the groups, "a|b/X|Y" would also take "/a" alone
    assert not pattern.fullmatch("/a") and not pattern.fullmatch("/c/X")


@pytest.mark.parametrize(
    "method",
    [
        {"type": "Exact"},
        {"service": "has space"},
        {"service": "1starts.with.digit"},
        {"method": "a.b"},
        {"service": "a/b"},
        {"type": "RegularExpression", "method": "(?!x)"},
        {"type": "RegularExpression", "method": "("},
        {"type": "Prefix", "service": "a"},
        {"service": 5},
        "Echo",
    ],
)
def test_invalid_method_matches_raise_match_error(method: object) -> None:
    with pytest.raises(MatchError):
        method_path(method)


def test_match_requires_grpc_and_keeps_first_equivalent_header() -> None:
    match = grpc_match(
        {
            "method": {"service": "s", "method": "m"},
            "headers": [
                {"name": "Version", "value": "one", "type": "Exact"},
                {"name": "version", "value": "two", "type": "Exact"},
                {"name": "color", "value": "bl.*", "type": "RegularExpression"},
            ],
        }
    )
    assert match.grpc
    assert [(h.name, h.value, h.kind) for h in match.headers] == [
        ("version", "one", StringMatchKind.EXACT),
        ("color", "bl.*", StringMatchKind.REGEX),
    ]


def test_defaults_fill_types_and_refs_without_mutating() -> None:
    route = {
        "kind": "GRPCRoute",
        "metadata": {"name": "r", "namespace": "ns"},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "rules": [
                {
                    "matches": [
                        {"method": {"service": "s"}, "headers": [{"name": "a", "value": "b"}]}
                    ],
                    "backendRefs": [{"name": "svc", "port": 80}],
                }
            ],
        },
    }
    before = copy.deepcopy(route)
    out = grpcroute_with_defaults(route)
    assert route == before
    assert out["spec"]["parentRefs"] == [
        {"name": "gw", "group": "gateway.networking.k8s.io", "kind": "Gateway"}
    ]
    rule = out["spec"]["rules"][0]
    assert rule["matches"][0]["method"]["type"] == "Exact"
    assert rule["matches"][0]["headers"][0]["type"] == "Exact"
    assert rule["backendRefs"][0] == {
        "name": "svc",
        "port": 80,
        "group": "",
        "kind": "Service",
        "weight": 1,
    }
    assert grpcroute_with_defaults(out) is out  # already defaulted: the same object


ROUTE_AND_SERVICE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gc}
spec: {controllerName: gateway-contour.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: gc
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: ns}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [web.example.com]
  rules: [{backendRefs: [{name: svc, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: api, namespace: ns, creationTimestamp: "2026-02-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw}]
  hostnames: [api.example.com]
  rules:
    - backendRefs: [{name: svc, port: 80}, {name: gone, port: 80}]
"""


def test_same_service_is_http1_for_httproute_and_h2c_for_grpcroute() -> None:
    objects = load_text(ROUTE_AND_SERVICE, "in.yaml").objects
    ir, report = translate(Snapshot.of(objects), TranslateOptions())
    assert {c.protocol for c in ir.clusters} == {UpstreamProtocol.HTTP1, UpstreamProtocol.H2C}
    hosts = {
        vhost.hostname: vhost
        for gateway in ir.gateways
        for listener in gateway.listeners
        for vhost in listener.virtual_hosts
    }
    (route,) = hosts["api.example.com"].routes
    assert route.name.startswith("grpcroute/ns/api/")
    assert route.match.grpc and not hosts["web.example.com"].routes[0].match.grpc
    # half the weight names a missing Service: that share answers UNAVAILABLE (503)
    assert isinstance(route.action, Forward)
    assert route.action.invalid_weight == 1
    assert route.action.unavailable_status == 503
    statuses = {str(key): status for key, status in report.statuses.items()}
    conditions = statuses["GRPCRoute ns/api"]["parents"][0]["conditions"]
    assert [(c["type"], c["status"], c["reason"]) for c in conditions] == [
        ("Accepted", "True", "Accepted"),
        ("ResolvedRefs", "False", "BackendNotFound"),
    ]


CONFLICT = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: old-web, namespace: ns, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw}]
  hostnames: [api.example.com]
  rules: [{backendRefs: [{name: svc, port: 80}]}]
"""


def test_hostname_conflict_follows_the_other_kind_through_the_cache() -> None:
    """A GRPCRoute loses its hostname to an older HTTPRoute, wins it back when that route
    goes, and loses it again when it returns; cached translations agree with fresh ones."""
    base = load_text(ROUTE_AND_SERVICE, "in.yaml").objects
    older = load_text(CONFLICT, "in.yaml").objects
    cache = TranslationCache()

    def grpc_accepted(objects: list[dict[str, object]]) -> tuple[str, str]:
        snapshot = Snapshot.of(copy.deepcopy(objects))
        ir, report = translate(snapshot, TranslateOptions(), cache)
        fresh_ir, fresh_report = translate(snapshot, TranslateOptions())
        assert (ir, report.to_data()) == (fresh_ir, fresh_report.to_data())
        status = {str(k): v for k, v in report.statuses.items()}["GRPCRoute ns/api"]
        accepted = status["parents"][0]["conditions"][0]
        return accepted["status"], accepted["reason"]

    assert grpc_accepted(base) == ("True", "Accepted")
    assert grpc_accepted(base + older) == ("False", "HostnameConflict")
    assert grpc_accepted(base) == ("True", "Accepted")
    assert grpc_accepted(base + older) == ("False", "HostnameConflict")
