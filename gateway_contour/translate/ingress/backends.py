"""Ingress backends: `service.name` + `service.port.number|name` -> an IR Cluster.

The Service port is found by number or by name; Contour's Service annotations
(`translate/service_annotations.py`) set its protocol, upstream TLS and circuit breakers.
Resource backends (`backend.resource`) are not supported (Contour supports Services only).
A backend that cannot be resolved is a message; the caller answers its route with 503.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway_contour.ir.model import Cluster
from gateway_contour.translate.data import dicts, mapping, text
from gateway_contour.translate.service_annotations import apply_settings, service_settings
from gateway_contour.translate.services import ServiceIndex


class IngressBackends:
    __slots__ = ("_add_cluster", "_services")

    def __init__(self, services: ServiceIndex, add_cluster: Callable[[Cluster], None]) -> None:
        self._services = services
        self._add_cluster = add_cluster

    def resolve(self, namespace: str, backend: Any) -> tuple[Cluster | None, list[str]]:
        """The cluster for `backend` (added to the IR) and the problems met on the way; no
        cluster when the backend cannot be served."""
        backend = mapping(backend)
        if backend.get("resource") is not None:
            ref = mapping(backend.get("resource"))
            return None, [
                f"resource backend {text(ref.get('kind'))} {text(ref.get('name'))} is not "
                "supported (only Services are)"
            ]
        service_ref = mapping(backend.get("service"))
        name = text(service_ref.get("name"))
        if not name:
            return None, ["backend names no service"]
        port_ref = mapping(service_ref.get("port"))
        where = f"Service {namespace}/{name}"
        service = self._services.service(namespace, name)
        if service is None:
            return None, [f"{where} not found"]
        service_port = _find_port(service, port_ref)
        if service_port is None:
            wanted = port_ref.get("number", port_ref.get("name"))
            return None, [f"{where} has no port {wanted!r}"]
        settings = service_settings(service, service_port)
        cluster = self._services.cluster(namespace, name, service_port, protocol=settings.protocol)
        cluster = apply_settings(cluster, settings)
        self._add_cluster(cluster)
        return cluster, [f"{where}: {p}" for p in settings.problems]


def _find_port(service: Mapping[str, Any], port_ref: Mapping[str, Any]) -> Mapping[str, Any] | None:
    number, name = port_ref.get("number"), port_ref.get("name")
    for entry in dicts(mapping(service.get("spec")).get("ports")):
        if not isinstance(entry.get("port"), int):
            continue
        if isinstance(number, int) and entry.get("port") == number:
            return entry
        if isinstance(name, str) and name and entry.get("name") == name:
            return entry
    return None
