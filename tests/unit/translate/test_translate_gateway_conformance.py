"""Gateway and HTTPRoute status semantics the conformance suite checks that golden cases do
not pin alone: attachedRoutes counting, Gateway-level acceptance (parametersRef, addresses),
infrastructure metadata in the IR, the CORS and retry fields, and BackendTLSPolicy outcomes
reaching cached routes."""

from __future__ import annotations

from typing import Any

import pytest

from gateway_contour.ir.model import CORSPolicy, Forward, GatewayAddress, Route
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, TranslationCache, translate
from gateway_contour.translate.gatewayapi.filters import FilterError, cors_policy

CLASS = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "GatewayClass",
    "metadata": {"name": "gc"},
    "spec": {"controllerName": "gateway-contour.dev/gateway-controller"},
}


def gateway(spec: dict[str, Any], name: str = "gw") -> dict[str, Any]:
    listeners = spec.pop("listeners", [{"name": "http", "port": 80, "protocol": "HTTP"}])
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": "default", "generation": 3},
        "spec": {"gatewayClassName": "gc", "listeners": listeners, **spec},
    }


def route(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"parentRefs": [{"name": "gw"}], **spec},
    }


def statuses(*objects: dict[str, Any], **options: Any) -> tuple[Any, dict[str, Any]]:
    ir, report = translate(Snapshot.of([CLASS, *objects]), TranslateOptions(**options))
    data = report.to_data()
    return ir, {s["object"]: s["status"] for s in data["statuses"]}


def condition(status: dict[str, Any], type_: str) -> tuple[str, str]:
    found = next(c for c in status["conditions"] if c["type"] == type_)
    return found["status"], found["reason"]


def test_attached_routes_count_only_accepted_routes() -> None:
    gw = gateway(
        {
            "listeners": [
                {"name": "http", "port": 80, "protocol": "HTTP", "hostname": "foo.example.com"}
            ]
        }
    )
    _, by_object = statuses(
        gw,
        route("ok", {}),
        route("other-host", {"hostnames": ["bar.example.com"]}),
        route("bad-filter", {"rules": [{"filters": [{"type": "Nope"}]}]}),
    )
    listener = by_object["Gateway default/gw"]["listeners"][0]
    assert listener["attachedRoutes"] == 1
    parent = by_object["HTTPRoute default/other-host"]["parents"][0]
    assert condition(parent, "Accepted") == ("False", "NoMatchingListenerHostname")
    parent = by_object["HTTPRoute default/bad-filter"]["parents"][0]
    assert condition(parent, "Accepted") == ("False", "UnsupportedValue")


def test_route_on_listener_waiting_for_its_certificate_is_attached_not_programmed() -> None:
    https = {
        "name": "tls",
        "port": 443,
        "protocol": "HTTPS",
        "tls": {"certificateRefs": [{"name": "missing"}]},
    }
    ir, by_object = statuses(gateway({"listeners": [https]}), route("r", {}))
    listener = by_object["Gateway default/gw"]["listeners"][0]
    assert listener["attachedRoutes"] == 1
    assert [condition(listener, t) for t in ("Accepted", "Programmed", "ResolvedRefs")] == [
        ("True", "Accepted"),
        ("False", "Invalid"),
        ("False", "InvalidCertificateRef"),
    ]
    assert condition(by_object["Gateway default/gw"], "Accepted") == ("True", "Accepted")
    assert condition(by_object["HTTPRoute default/r"]["parents"][0], "Accepted")[0] == "True"
    assert ir.gateways[0].listeners == ()


def test_listener_without_the_route_kind_is_not_allowed_by_listeners() -> None:
    http = {
        "name": "http",
        "port": 80,
        "protocol": "HTTP",
        "allowedRoutes": {"kinds": [{"kind": "GRPCRoute"}]},
    }
    _, by_object = statuses(gateway({"listeners": [http]}), route("r", {}))
    parent = by_object["HTTPRoute default/r"]["parents"][0]
    assert condition(parent, "Accepted") == ("False", "NotAllowedByListeners")


def test_parameters_ref_makes_the_gateway_not_accepted_and_unprogrammed() -> None:
    gw = gateway({"infrastructure": {"parametersRef": {"group": "x.io", "kind": "P", "name": "p"}}})
    ir, by_object = statuses(gw, route("r", {}))
    status = by_object["Gateway default/gw"]
    assert condition(status, "Accepted") == ("False", "InvalidParameters")
    assert condition(status, "Programmed") == ("False", "Invalid")
    assert condition(status["listeners"][0], "Programmed") == ("False", "Invalid")
    assert ir.gateways[0].listeners == ()
    parent = by_object["HTTPRoute default/r"]["parents"][0]
    assert condition(parent, "Accepted") == ("False", "NoMatchingParent")


@pytest.mark.parametrize(
    "address",
    [
        {"type": "test/fake-invalid-type", "value": "x"},
        {"value": "not-an-ip"},
        {"type": "Hostname", "value": "Bad_Host"},
    ],
)
def test_unsupported_addresses(address: dict[str, str]) -> None:
    _, by_object = statuses(gateway({"addresses": [address]}))
    assert condition(by_object["Gateway default/gw"], "Accepted") == (
        "False",
        "UnsupportedAddress",
    )


def test_static_addresses_usable_and_not() -> None:
    spec = {"addresses": [{"value": "10.0.0.1"}, {"type": "Hostname", "value": "gw.example.com"}]}
    ir, by_object = statuses(gateway(dict(spec)))
    status = by_object["Gateway default/gw"]
    assert condition(status, "Programmed") == ("True", "Programmed")
    assert status["addresses"] == [
        {"type": "IPAddress", "value": "10.0.0.1"},
        {"type": "Hostname", "value": "gw.example.com"},
    ]
    assert ir.gateways[0].addresses == (
        GatewayAddress("IPAddress", "10.0.0.1"),
        GatewayAddress("Hostname", "gw.example.com"),
    )

    def usable(type_: str, value: str) -> bool:
        return value != "10.0.0.1"

    _, by_object = statuses(gateway(dict(spec)), address_usable=usable)
    status = by_object["Gateway default/gw"]
    assert condition(status, "Accepted") == ("True", "Accepted")
    assert condition(status, "Programmed") == ("False", "AddressNotUsable")
    assert status["addresses"] == [{"type": "Hostname", "value": "gw.example.com"}]


def test_infrastructure_metadata_reaches_the_ir() -> None:
    gw = gateway({"infrastructure": {"labels": {"b": "2", "a": "1"}, "annotations": {"n": "v"}}})
    ir, _ = statuses(gw)
    assert ir.gateways[0].labels == (("a", "1"), ("b", "2"))
    assert ir.gateways[0].annotations == (("n", "v"),)


def test_cors_and_retry_reach_the_route() -> None:
    rule = {
        "filters": [
            {
                "type": "CORS",
                "cors": {"allowOrigins": ["https://*.bar.com"], "allowMethods": ["GET"]},
            }
        ],
        "retry": {"codes": [503, 500], "attempts": 3, "backoff": "100ms"},
        "backendRefs": [{"name": "svc", "port": 80}],
    }
    ir, _ = statuses(gateway({}), route("r", {"rules": [rule]}))
    (only,) = ir.gateways[0].listeners[0].virtual_hosts[0].routes
    assert isinstance(only, Route) and isinstance(only.action, Forward)
    assert only.cors == CORSPolicy(
        allow_origins=("https://*.bar.com",), allow_methods=("GET",), max_age=5
    )
    assert only.retry is not None
    assert (only.retry.attempts, only.retry.status_codes, only.retry.backoff_base) == (
        3,
        (500, 503),
        0.1,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"allowOrigins": ["ftp://x.com"]},
        {"allowOrigins": ["https://a.com,https://b.com"]},
        {"allowMethods": ["get"]},
        {"allowHeaders": ["bad header"]},
        {"allowCredentials": "yes"},
        {"maxAge": 0},
    ],
)
def test_invalid_cors(body: dict[str, Any]) -> None:
    with pytest.raises(FilterError):
        cors_policy(body)


@pytest.mark.parametrize("retry", [{"attempts": 0}, {"codes": [200]}, {"backoff": "soon"}, "x"])
def test_invalid_retry_is_unsupported_value(retry: Any) -> None:
    _, by_object = statuses(gateway({}), route("r", {"rules": [{"retry": retry}]}))
    parent = by_object["HTTPRoute default/r"]["parents"][0]
    assert condition(parent, "Accepted") == ("False", "UnsupportedValue")


def test_backend_tls_policy_validity_change_reaches_cached_routes() -> None:
    """A ConfigMap is no input kind of the route cache; the policies' outcome is. Deleting
    the CA ConfigMap must make the cached route's backend fail, and restoring it heal it."""
    ca = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ca", "namespace": "default"},
        "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "svc", "namespace": "default"},
        "spec": {"ports": [{"name": "btls", "port": 443}]},
    }
    policy = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "BackendTLSPolicy",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "targetRefs": [{"group": "", "kind": "Service", "name": "svc"}],
            "validation": {
                "hostname": "svc.example.com",
                "caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "ca"}],
            },
        },
    }
    r = route("r", {"rules": [{"backendRefs": [{"name": "svc", "port": 443}]}]})
    cache = TranslationCache()
    base = [CLASS, gateway({}), r, service, policy]

    def forward() -> Forward:
        ir, _ = translate(Snapshot.of([*base, *extra]), TranslateOptions(), cache)
        (only,) = ir.gateways[0].listeners[0].virtual_hosts[0].routes
        assert isinstance(only.action, Forward)
        return only.action

    extra: list[dict[str, Any]] = [ca]
    healthy = forward()
    assert len(healthy.clusters) == 1 and healthy.invalid_weight == 0
    extra = []
    broken = forward()
    assert broken.clusters == () and broken.invalid_weight == 1
    extra = [ca]
    assert forward() == healthy
