"""CRD defaults: filled in where missing, never mutating the input, idempotent."""

from __future__ import annotations

import copy

from gateway_contour.translate.gatewayapi.defaults import (
    gateway_with_defaults,
    httproute_with_defaults,
)

ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "r", "namespace": "default"},
    "spec": {
        "parentRefs": [{"name": "gw"}],
        "rules": [
            {"backendRefs": [{"name": "web", "port": 80}]},
            {
                "matches": [
                    {"path": {"value": "/x"}, "headers": [{"name": "h", "value": "v"}]},
                    {"queryParams": [{"name": "q", "value": "1"}]},
                ],
                "filters": [
                    {"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}},
                    {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "m"}}},
                ],
            },
        ],
    },
}

GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "gw", "namespace": "default"},
    "spec": {
        "gatewayClassName": "c",
        "listeners": [
            {"name": "a", "port": 80, "protocol": "HTTP"},
            {
                "name": "b",
                "port": 443,
                "protocol": "HTTPS",
                "tls": {"certificateRefs": [{"name": "cert"}]},
                "allowedRoutes": {"kinds": [{"kind": "HTTPRoute"}]},
            },
        ],
    },
}


def test_route_defaults() -> None:
    spec = httproute_with_defaults(ROUTE)["spec"]
    assert spec["parentRefs"] == [
        {"name": "gw", "group": "gateway.networking.k8s.io", "kind": "Gateway"}
    ]
    first, second = spec["rules"]
    assert first["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert first["backendRefs"] == [
        {"name": "web", "port": 80, "group": "", "kind": "Service", "weight": 1}
    ]
    assert second["matches"][0]["path"] == {"type": "PathPrefix", "value": "/x"}
    assert second["matches"][0]["headers"][0]["type"] == "Exact"
    assert second["matches"][1]["path"] == {"type": "PathPrefix", "value": "/"}
    assert second["matches"][1]["queryParams"][0]["type"] == "Exact"
    assert second["filters"][0]["requestRedirect"]["statusCode"] == 302
    assert second["filters"][1]["requestMirror"]["backendRef"]["kind"] == "Service"


def test_route_without_rules_gets_the_default_rule() -> None:
    route = {"kind": "HTTPRoute", "metadata": {"name": "r"}, "spec": {}}
    rules = httproute_with_defaults(route)["spec"]["rules"]
    assert rules == [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}]


def test_gateway_defaults() -> None:
    a, b = gateway_with_defaults(GATEWAY)["spec"]["listeners"]
    assert a["allowedRoutes"] == {"namespaces": {"from": "Same"}}
    assert b["allowedRoutes"]["kinds"] == [
        {"kind": "HTTPRoute", "group": "gateway.networking.k8s.io"}
    ]
    assert b["tls"]["mode"] == "Terminate"
    assert b["tls"]["certificateRefs"] == [{"name": "cert", "group": "", "kind": "Secret"}]


def test_input_is_not_mutated() -> None:
    route, gateway = copy.deepcopy(ROUTE), copy.deepcopy(GATEWAY)
    httproute_with_defaults(route)
    gateway_with_defaults(gateway)
    assert route == ROUTE
    assert gateway == GATEWAY


def test_idempotent_and_identity_when_complete() -> None:
    once = httproute_with_defaults(ROUTE)
    twice = httproute_with_defaults(once)
    assert twice == once
    assert twice is once  # nothing to fill in: the same object back, no copy
    gw_once = gateway_with_defaults(GATEWAY)
    assert gateway_with_defaults(gw_once) is gw_once


def test_explicit_values_are_kept() -> None:
    route = copy.deepcopy(ROUTE)
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = 0
    route["spec"]["parentRefs"][0]["kind"] = "ListenerSet"
    spec = httproute_with_defaults(route)["spec"]
    assert spec["rules"][0]["backendRefs"][0]["weight"] == 0
    assert spec["parentRefs"][0]["kind"] == "ListenerSet"
