"""A Gateway's static addresses (spec.addresses) under --provision kubernetes: the first one
the cluster's load balancer can give becomes its Service's loadBalancerIP, and its status
names what the load balancer gave, never the cluster IP; the others are AddressNotUsable
(translate, through `address_usable`)."""

from __future__ import annotations

import ipaddress
from typing import Any

from gateway_contour.provisioner.kube.fleet import KubeFleet
from gateway_contour.provisioner.kube.objects import service
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import ObjectKey, Snapshot

CONTROLLER = "example.com/gc"
PROGRAMMED = {"type": "Programmed", "status": "True", "reason": "Programmed", "message": ""}


def objects(addresses: list[dict[str, str]]) -> list[dict[str, Any]]:
    gateway_class = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": "ours"},
        "spec": {"controllerName": CONTROLLER},
    }
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"namespace": "ns", "name": "gw", "uid": "u"},
        "spec": {
            "gatewayClassName": "ours",
            "addresses": addresses,
            "listeners": [{"name": "h", "port": 8080, "protocol": "HTTP"}],
        },
    }
    return [gateway_class, gateway]


def fleet(*ranges: str) -> KubeFleet:
    return KubeFleet(
        client=None,  # type: ignore[arg-type]
        credentials=None,  # type: ignore[arg-type]
        controller_name=CONTROLLER,
        address_ranges=tuple(ipaddress.ip_network(r) for r in ranges),
    )


def test_usable_means_an_ip_inside_the_ranges_when_there_are_ranges() -> None:
    anywhere, pool = fleet(), fleet("10.216.0.0/24", "fd00::/64")
    assert anywhere.address_usable("IPAddress", "192.0.2.1")
    assert not anywhere.address_usable("Hostname", "lb.example")
    assert not anywhere.address_usable("IPAddress", "not an address")
    assert pool.address_usable("IPAddress", "10.216.0.200")
    assert pool.address_usable("IPAddress", "fd00::5")
    assert not pool.address_usable("IPAddress", "192.0.2.1")


def test_the_first_usable_address_is_the_services_load_balancer_ip() -> None:
    pool = fleet("10.216.0.0/24")
    asked = [
        {"type": "IPAddress", "value": "192.0.2.1"},  # outside the pool: skipped
        {"value": "10.216.0.200"},  # the type defaults to IPAddress
        {"type": "IPAddress", "value": "10.216.0.201"},
    ]
    desired = pool.desired(Snapshot.of(objects(asked)), None)
    assert desired["ns/gw"].load_balancer_ip == "10.216.0.200"
    rendered = service(desired["ns/gw"])
    assert rendered is not None and rendered["spec"]["loadBalancerIP"] == "10.216.0.200"

    none = pool.desired(Snapshot.of(objects([{"value": "192.0.2.1"}])), None)
    rendered = service(none["ns/gw"])
    assert rendered is not None and "loadBalancerIP" not in rendered["spec"]


def test_a_static_address_is_reported_only_once_the_load_balancer_gave_it() -> None:
    pool = fleet("10.216.0.0/24")
    world = objects([{"value": "10.216.0.200"}])
    pool.desired(Snapshot.of(world), None)
    pool.wanted = {"ns/gw"}
    svc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"namespace": "ns", "name": "envoy-gw"},
        "spec": {"clusterIP": "10.0.0.7", "loadBalancerIP": "10.216.0.200"},
        "status": {},
    }
    key = ObjectKey("Gateway", "ns", "gw")

    def status_with(service_object: dict[str, Any]) -> dict[str, Any]:
        report = StatusReport()
        report.set(key, {"conditions": [dict(PROGRAMMED)]})
        pool.amend_report(report, Snapshot.of([*world, service_object]))
        return report.statuses[key]

    pending = status_with(svc)  # the cluster IP is no stand-in for the address asked for
    assert "addresses" not in pending
    assert pending["conditions"][0]["reason"] == "AddressNotAssigned"
    given = {**svc, "status": {"loadBalancer": {"ingress": [{"ip": "10.216.0.200"}]}}}
    assert status_with(given)["addresses"] == [{"type": "IPAddress", "value": "10.216.0.200"}]
