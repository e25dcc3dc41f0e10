"""Small builders for the objects the Kubernetes tests create."""

from __future__ import annotations

from typing import Any

GW = "gateway.networking.k8s.io/v1"
Obj = dict[str, Any]


def gateway_class(name: str, controller: str) -> Obj:
    return {
        "apiVersion": GW,
        "kind": "GatewayClass",
        "metadata": {"name": name},
        "spec": {"controllerName": controller},
    }


def gateway(ns: str, name: str, class_name: str, port: int, hostname: str | None = None) -> Obj:
    listener: Obj = {"name": "http", "protocol": "HTTP", "port": port}
    if hostname:
        listener["hostname"] = hostname
    return {
        "apiVersion": GW,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"gatewayClassName": class_name, "listeners": [listener]},
    }


def http_route(
    ns: str,
    name: str,
    gateway_name: str,
    path: str,
    service: str,
    hostnames: list[str] | None = None,
) -> Obj:
    spec: Obj = {
        "parentRefs": [{"name": gateway_name}],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                "backendRefs": [{"name": service, "port": 80}],
            }
        ],
    }
    if hostnames:
        spec["hostnames"] = hostnames
    return {
        "apiVersion": GW,
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def service(ns: str, name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }


def endpoint_slice(ns: str, service_name: str, address: str, port: int) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-local",
            "namespace": ns,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
    }


PLURALS = {
    "GatewayClass": ("/apis/gateway.networking.k8s.io/v1", "gatewayclasses", False),
    "Gateway": ("/apis/gateway.networking.k8s.io/v1", "gateways", True),
    "HTTPRoute": ("/apis/gateway.networking.k8s.io/v1", "httproutes", True),
    "Service": ("/api/v1", "services", True),
    "EndpointSlice": ("/apis/discovery.k8s.io/v1", "endpointslices", True),
    "Namespace": ("/api/v1", "namespaces", False),
}


def collection_path(obj: Obj) -> str:
    base, plural, namespaced = PLURALS[obj["kind"]]
    if namespaced:
        return f"{base}/namespaces/{obj['metadata']['namespace']}/{plural}"
    return f"{base}/{plural}"


def object_path(obj: Obj) -> str:
    return f"{collection_path(obj)}/{obj['metadata']['name']}"
