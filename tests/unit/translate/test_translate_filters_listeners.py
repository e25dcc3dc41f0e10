"""Redirect port rules, listener conflicts and label selectors."""

from __future__ import annotations

import pytest

from gateway_contour.translate.gatewayapi.filters import FilterError, parse_filters, redirect_for
from gateway_contour.translate.gatewayapi.listeners import validate_listeners
from gateway_contour.translate.gatewayapi.matches import http_match
from gateway_contour.translate.gatewayapi.selectors import SelectorError, parse_selector

ROOT = http_match({"path": {"type": "PathPrefix", "value": "/"}})


@pytest.mark.parametrize(
    ("body", "listener_port", "port", "strip", "keep"),
    [
        ({"scheme": "https"}, 80, None, True, False),  # well-known port of the new scheme
        ({"scheme": "https", "port": 8443}, 80, 8443, False, False),
        ({"scheme": "https", "port": 443}, 80, None, True, False),
        ({}, 80, None, True, False),  # the listener's port, http's own
        ({}, 8080, 8080, False, False),  # the listener's port
        # clients put :8080 in Host, which would stay: the well-known port is written out
        ({"scheme": "http"}, 8080, 80, False, True),
        ({"scheme": "https"}, 8080, 443, False, True),
        # ... unless a new hostname replaces Host altogether
        ({"hostname": "x.example.com", "port": 80}, 8080, None, True, False),
    ],
)
def test_redirect_port(
    body: dict, listener_port: int, port: int | None, strip: bool, keep: bool
) -> None:
    redirect = redirect_for(body, ROOT, listener_port, "http")
    assert (redirect.port, redirect.strip_port, redirect.keep_port) == (port, strip, keep)


@pytest.mark.parametrize(
    "body", [{"scheme": "ftp"}, {"statusCode": 200}, {"port": 0}, {"path": {"type": "Nope"}}]
)
def test_invalid_redirects(body: dict) -> None:
    with pytest.raises(FilterError):
        redirect_for(body, ROOT, 80, "http")


@pytest.mark.parametrize(
    "filters",
    [
        [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {"set": [{"name": "a b", "value": "1"}]},
            }
        ],
        [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {"add": [{"name": "a", "value": "x\ny"}]},
            }
        ],
        [
            {
                "type": "ResponseHeaderModifier",
                "responseHeaderModifier": {"remove": ["ok", "not ok"]},
            }
        ],
        [{"type": "ExtensionRef", "extensionRef": {"group": "x", "kind": "y", "name": "z"}}],
        [{"type": "CORS", "cors": {"allowMethods": ["get"]}}],
        [{"type": "RequestHeaderModifier"}],
        [
            {"type": "RequestRedirect", "requestRedirect": {}},
            {"type": "URLRewrite", "urlRewrite": {}},
        ],
    ],
)
def test_invalid_filters(filters: list) -> None:
    with pytest.raises(FilterError):
        parse_filters(filters)


def test_redirect_hostname_must_be_precise() -> None:
    with pytest.raises(FilterError):
        redirect_for({"hostname": "*.example.com"}, ROOT, 80, "http")


def listener(name: str, port: int, protocol: str = "HTTP", hostname: str | None = None) -> dict:
    out = {"name": name, "port": port, "protocol": protocol}
    if hostname:
        out["hostname"] = hostname
    return out


def test_conflicts() -> None:
    states = validate_listeners(
        [
            listener("a", 80, hostname="a.com"),
            listener("b", 80, hostname="b.com"),
            listener("c", 80, hostname="*.com"),
            listener("d", 81),
            listener("e", 81),
            listener("f", 82),
            listener("g", 82, "TLS"),
            listener("h", 83, "TCP"),
            listener("i", 83, "UDP"),
            listener("j", 84, "HTTPS", hostname="x.com"),
            listener("k", 84, "TLS", hostname="y.com"),
        ]
    )
    conflicts = {s.name: s.conflict[0] if s.conflict else None for s in states}
    assert conflicts == {
        "a": None,
        "b": None,
        "c": None,
        "d": "HostnameConflict",
        "e": "HostnameConflict",
        "f": "ProtocolConflict",
        "g": "ProtocolConflict",
        "h": None,
        "i": None,
        "j": None,
        "k": None,
    }
    ready = [s.name for s in states if s.ready]
    # TCP and UDP may share a port; j and k have no tls (HTTPS and TLS need one)
    assert ready == ["a", "b", "c", "h", "i"]


def test_invalid_listener_fields() -> None:
    bad_port, bad_host, bad_from = validate_listeners(
        [
            listener("p", 70000),
            listener("h", 80, hostname="Not_A_Host"),
            {**listener("f", 81), "allowedRoutes": {"namespaces": {"from": "Nowhere"}}},
        ]
    )
    assert bad_port.not_accepted and bad_port.not_accepted[0] == "PortUnavailable"
    assert bad_host.not_accepted and bad_host.not_accepted[0] == "InvalidHostname"
    assert bad_from.not_accepted and bad_from.not_accepted[0] == "UnsupportedValue"


def test_selector() -> None:
    selector = parse_selector(
        {
            "matchLabels": {"team": "a"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "tier", "operator": "NotIn", "values": ["db"]},
                {"key": "owner", "operator": "Exists"},
            ],
        }
    )
    assert selector.matches({"team": "a", "env": "prod", "owner": "x"})
    assert not selector.matches({"team": "a", "env": "prod", "owner": "x", "legacy": "1"})
    assert not selector.matches({"team": "a", "env": "prod", "owner": "x", "tier": "db"})
    assert not selector.matches({"team": "a", "env": "dev", "owner": "x"})
    assert not selector.matches({"team": "b", "env": "prod", "owner": "x"})
    assert parse_selector({}).matches({"anything": "goes"})


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {"matchLabels": ["a"]},
        {"matchExpressions": [{"key": "a", "operator": "In"}]},
        {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
        {"matchExpressions": [{"key": "a", "operator": "Like"}]},
    ],
)
def test_bad_selectors(raw: object) -> None:
    with pytest.raises(SelectorError):
        parse_selector(raw)
