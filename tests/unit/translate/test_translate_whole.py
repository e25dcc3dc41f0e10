"""translate() as a whole: robustness against malformed objects, options, and speed."""

from __future__ import annotations

from typing import Any

from gateway_contour.envoy.resources import build_resources
from gateway_contour.store.objects import ObjectKey, Snapshot
from gateway_contour.translate import TranslateOptions, translate

CLASS = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "GatewayClass",
    "metadata": {"name": "c", "generation": 1},
    "spec": {"controllerName": "gateway-contour.dev/gateway-controller"},
}


def gateway(name: str = "gw", **spec: Any) -> dict[str, Any]:
    spec.setdefault("listeners", [{"name": "http", "port": 80, "protocol": "HTTP"}])
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": "default", "generation": 2},
        "spec": {"gatewayClassName": "c", **spec},
    }


def route(name: str, spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "default", "generation": 1},
        "spec": spec,
    }


def test_garbage_never_raises_and_good_objects_survive() -> None:
    good = route("good", {"parentRefs": [{"name": "gw"}]})
    objects = [
        CLASS,
        gateway(),
        gateway("bad-listeners", listeners="nope"),
        gateway("weird-listeners", listeners=[{"name": 1, "port": "80", "protocol": None}, 7]),
        route("spec-list", ["a"]),
        route("rules-strings", {"parentRefs": [{"name": "gw"}], "rules": ["x", 3]}),
        route("matches-bad", {"parentRefs": [{"name": "gw"}], "rules": [{"matches": [5]}]}),
        route(
            "weights-bad",
            {
                "parentRefs": [{"name": "gw"}],
                "rules": [{"backendRefs": [{"name": "web", "port": "80", "weight": "x"}]}],
            },
        ),
        route("parents-bad", {"parentRefs": "gw"}),
        route("hostnames-bad", {"parentRefs": [{"name": "gw"}], "hostnames": ["UPPER.com"]}),
        good,
    ]
    ir, report = translate(Snapshot.of(objects), TranslateOptions())
    assert [g.name for g in ir.gateways] == [
        "default/bad-listeners",
        "default/gw",
        "default/weird-listeners",
    ]
    good_status = report.statuses[ObjectKey("HTTPRoute", "default", "good")]
    assert good_status["parents"][0]["conditions"][0]["status"] == "True"
    for name in ("rules-strings", "matches-bad", "weights-bad", "hostnames-bad"):
        status = report.statuses[ObjectKey("HTTPRoute", "default", name)]
        accepted = status["parents"][0]["conditions"][0]
        assert (accepted["status"], accepted["reason"]) == ("False", "UnsupportedValue"), name
    gw_status = report.statuses[ObjectKey("Gateway", "default", "bad-listeners")]
    assert gw_status["conditions"][0]["status"] == "False"


def test_gateway_addresses_option() -> None:
    snapshot = Snapshot.of([CLASS, gateway(), gateway("other")])
    options = TranslateOptions(gateway_addresses={"default/gw": "127.0.0.7"})
    ir, report = translate(snapshot, options)
    addresses = {g.name: g.listeners[0].address for g in ir.gateways}
    assert addresses == {"default/gw": "127.0.0.7", "default/other": "0.0.0.0"}
    status = report.statuses[ObjectKey("Gateway", "default", "gw")]
    assert status["addresses"] == [{"type": "IPAddress", "value": "127.0.0.7"}]
    assert "addresses" not in report.statuses[ObjectKey("Gateway", "default", "other")]
    assert status["conditions"][0]["observedGeneration"] == 2


def test_other_controller_name() -> None:
    ir, report = translate(Snapshot.of([CLASS, gateway()]), TranslateOptions(controller_name="x/y"))
    assert ir.gateways == ()
    assert report.statuses == {}


def test_translation_is_deterministic() -> None:
    objects = [
        CLASS,
        gateway(),
        *(route(f"r{i}", {"parentRefs": [{"name": "gw"}]}) for i in range(5)),
    ]
    first = translate(Snapshot.of(objects), TranslateOptions())
    second = translate(Snapshot.of(list(reversed(objects))), TranslateOptions())
    assert first[0] == second[0]
    assert first[1].to_data() == second[1].to_data()


def test_ten_thousand_routes_over_a_hundred_hosts() -> None:
    """10k routes land in their 100 virtual hosts (how fast: `make bench`, not here)."""
    objects: list[dict[str, Any]] = [
        CLASS,
        gateway(),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"ports": [{"port": 80}]},
        },
    ]
    for i in range(10_000):
        objects.append(
            route(
                f"r{i}",
                {
                    "parentRefs": [{"name": "gw"}],
                    "hostnames": [f"h{i % 100}.example.com"],
                    "rules": [
                        {
                            "matches": [{"path": {"type": "PathPrefix", "value": f"/p{i}"}}],
                            "backendRefs": [{"name": "web", "port": 80}],
                        }
                    ],
                },
            )
        )
    ir, _ = translate(Snapshot.of(objects), TranslateOptions())
    vhosts = ir.gateways[0].listeners[0].virtual_hosts
    assert len(vhosts) == 100
    assert sum(len(v.routes) for v in vhosts) == 10_000


def test_endpoint_slice_ports_out_of_range_are_no_endpoints() -> None:
    """A slice port that is no port number (-1, 70000, true) yields no endpoint, and the
    Envoy build of the rest does not fail on it."""
    objects: list[dict[str, Any]] = [
        CLASS,
        gateway(),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": 80}]},
        },
        route(
            "r",
            {
                "parentRefs": [{"name": "gw"}],
                "rules": [{"backendRefs": [{"name": "web", "port": 80}]}],
            },
        ),
    ]
    for i, port in enumerate((-1, 70000, True, 8080)):
        objects.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"web-{i}",
                    "namespace": "default",
                    "labels": {"kubernetes.io/service-name": "web"},
                },
                "ports": [{"name": "http", "port": port}],
                "endpoints": [{"addresses": [f"10.0.0.{i + 1}"]}],
            }
        )
    ir, _ = translate(Snapshot.of(objects), TranslateOptions())
    (assignment,) = ir.endpoints
    assert [(e.address, e.port) for e in assignment.endpoints] == [("10.0.0.4", 8080)]
    assert build_resources(ir)  # no endpoint Envoy would refuse


def test_virtual_hosts_follow_listener_ownership() -> None:
    """A virtual host serves the routes of the listener owning its hostname: its own routes,
    then those of covering wildcards of that listener, then that listener's catch-all; never
    the routes of a less specific listener on the same port."""
    listeners = [
        {"name": "any", "port": 80, "protocol": "HTTP"},
        {"name": "foo", "port": 80, "protocol": "HTTP", "hostname": "foo.example.com"},
        {"name": "wild", "port": 80, "protocol": "HTTP", "hostname": "*.example.org"},
    ]
    objects = [
        CLASS,
        gateway(listeners=listeners),
        route("catch-all", {"parentRefs": [{"name": "gw", "sectionName": "any"}]}),
        route("on-foo", {"parentRefs": [{"name": "gw", "sectionName": "foo"}]}),
        route("wild-all", {"parentRefs": [{"name": "gw", "sectionName": "wild"}]}),
        route(
            "wild-exact",
            {"parentRefs": [{"name": "gw", "sectionName": "wild"}], "hostnames": ["a.example.org"]},
        ),
    ]
    ir, _ = translate(Snapshot.of(objects), TranslateOptions())
    vhosts = {
        v.hostname: [r.name.split("/")[2] for r in v.routes]
        for v in ir.gateways[0].listeners[0].virtual_hosts
    }
    assert vhosts == {
        "a.example.org": ["wild-exact", "wild-all"],
        "foo.example.com": ["on-foo"],
        "*.example.org": ["wild-all"],
        "*": ["catch-all"],
    }
    assert list(vhosts) == ["a.example.org", "foo.example.com", "*.example.org", "*"]
