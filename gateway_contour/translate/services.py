"""Kubernetes Services as upstreams: Service port -> `Cluster`, EndpointSlices -> endpoints.

Shared by every source API: a route to Service port P of namespace/name becomes the cluster
"namespace/name/P/<hash>", where the hash covers the cluster settings (protocol, TLS) so that
two routes asking different settings for the same port get two clusters, and identical
settings always give the same name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from gateway_contour.ir.model import (
    Cluster,
    ClusterEndpoints,
    Endpoint,
    UpstreamProtocol,
    UpstreamTLS,
)
from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.cache import EndpointMemo
from gateway_contour.translate.data import dicts, items, mapping, text

SERVICE_NAME_LABEL = "kubernetes.io/service-name"

_APP_PROTOCOLS = {
    "kubernetes.io/h2c": UpstreamProtocol.H2C,
    "kubernetes.io/ws": UpstreamProtocol.HTTP1,
}
WEBSOCKET_APP_PROTOCOLS = frozenset({"kubernetes.io/ws"})


def cluster_name(
    namespace: str,
    service: str,
    port: int,
    protocol: UpstreamProtocol,
    tls: UpstreamTLS | None = None,
) -> str:
    settings = f"protocol={protocol.value}"
    if tls is not None:
        settings += f";tls={tls!r}"
    digest = hashlib.sha256(settings.encode()).hexdigest()[:8]
    return f"{namespace}/{service}/{port}/{digest}"


def find_service_port(service: KubeObject, port: int) -> Mapping[str, Any] | None:
    for entry in dicts(mapping(service.get("spec")).get("ports")):
        if entry.get("port") == port:
            return entry
    return None


def upstream_protocol(service_port: Mapping[str, Any]) -> UpstreamProtocol:
    return _APP_PROTOCOLS.get(text(service_port.get("appProtocol")), UpstreamProtocol.HTTP1)


class ServiceIndex:
    """Services and their EndpointSlices, indexed once per translation. With `memo` (kept
    across translations) an endpoint list is derived again only when its slices changed."""

    __slots__ = ("_cache", "_memo", "_slices", "_snapshot")

    def __init__(self, snapshot: Snapshot, memo: EndpointMemo | None = None) -> None:
        self._snapshot = snapshot
        self._memo = memo
        self._slices: dict[tuple[str, str], list[KubeObject]] | None = None
        self._cache: dict[
            tuple[str, str, int, UpstreamTLS | None, UpstreamProtocol | None], Cluster
        ] = {}

    def service(self, namespace: str, name: str) -> KubeObject | None:
        return self._snapshot.get("Service", namespace, name)

    def cluster(
        self,
        namespace: str,
        name: str,
        service_port: Mapping[str, Any],
        tls: UpstreamTLS | None = None,
        protocol: UpstreamProtocol | None = None,
    ) -> Cluster:
        """The cluster of a Service port; `protocol` overrides the port's appProtocol (gRPC
        backends are HTTP/2 whatever the port says)."""
        port = int(service_port["port"])
        key = (namespace, name, port, tls, protocol)
        cached = self._cache.get(key)
        if cached is None:
            protocol = protocol or upstream_protocol(service_port)
            cached = Cluster(
                name=cluster_name(namespace, name, port, protocol, tls),
                service=f"{namespace}/{name}",
                port=port,
                protocol=protocol,
                tls=tls,
            )
            self._cache[key] = cached
        return cached

    def endpoints(self, cluster: Cluster) -> ClusterEndpoints:
        """The endpoints of a cluster made by `cluster` (from this or an earlier snapshot:
        endpoints are always read from this one)."""
        namespace, _, name = cluster.service.partition("/")
        service = self.service(namespace, name)
        memo = self._memo
        if memo is not None:
            slices = self._slices_of(namespace, name)
            found = memo.for_cluster(cluster.name, service, slices)
            if found is None:
                found = self._cluster_endpoints(cluster, service, namespace, name)
                memo.keep_for_cluster(cluster.name, service, slices, found)
            return found
        return self._cluster_endpoints(cluster, service, namespace, name)

    def _cluster_endpoints(
        self, cluster: Cluster, service: KubeObject | None, namespace: str, name: str
    ) -> ClusterEndpoints:
        service_port = find_service_port(service, cluster.port) if service else None
        if service_port is None:
            return ClusterEndpoints(cluster=cluster.name)
        port_name = text(service_port.get("name"))
        return ClusterEndpoints(cluster.name, self._endpoints(namespace, name, port_name))

    def _slices_of(self, namespace: str, service: str) -> list[KubeObject]:
        if self._slices is None:
            index: dict[tuple[str, str], list[KubeObject]] = {}
            for obj in self._snapshot.objects("EndpointSlice"):
                labels = mapping(mapping(obj.get("metadata")).get("labels"))
                owner = labels.get(SERVICE_NAME_LABEL)
                if owner and isinstance(owner, str):
                    index.setdefault((obj["metadata"]["namespace"], str(owner)), []).append(obj)
            self._slices = index
        return self._slices.get((namespace, service), [])

    def _endpoints(self, namespace: str, service: str, port_name: str) -> tuple[Endpoint, ...]:
        slices = self._slices_of(namespace, service)
        if self._memo is None:
            return _endpoints_of(slices, port_name)
        key = (namespace, service, port_name)
        found = self._memo.get(key, slices)
        if found is None:
            found = _endpoints_of(slices, port_name)
            self._memo.put(key, slices, found)
        return found


def _endpoints_of(slices: list[KubeObject], port_name: str) -> tuple[Endpoint, ...]:
    found: set[Endpoint] = set()
    for slice_ in slices:
        if slice_.get("addressType", "IPv4") not in ("IPv4", "IPv6"):
            continue
        port = _slice_port(slice_, port_name)
        if port is None:
            continue
        for endpoint in dicts(slice_.get("endpoints")):
            conditions = mapping(endpoint.get("conditions"))
            # the EndpointSlice API says a nil ready condition means "ready"
            ready = conditions.get("ready") is not False
            zone = text(endpoint.get("zone")) or None
            for address in items(endpoint.get("addresses")):
                if isinstance(address, str) and address:
                    found.add(Endpoint(address, port, ready, zone))
    return tuple(sorted(found, key=lambda e: (e.address, e.port, not e.ready, e.zone or "")))


def _slice_port(slice_: KubeObject, port_name: str) -> int | None:
    for entry in dicts(slice_.get("ports")):
        port = entry.get("port")
        if text(entry.get("name")) == port_name and isinstance(port, int):
            # anything but a TCP/UDP port number (a broken slice from a file) is no endpoint
            return port if 0 < port < 65536 and not isinstance(port, bool) else None
    return None
