"""spec.tcpproxy of a root HTTPProxy (TLS passthrough or TLS terminated) -> an IR TCPProxy.

`services` are weighted like route services (equal shares when no weight is set); or
`include` names another HTTPProxy (namespace defaults to the root's) whose own
`tcpproxy.services` are used. The included proxy counts as reached (not orphaned). A
`loadBalancerPolicy` strategy applies to the TCP clusters as to route clusters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway_contour.ir.model import TCPProxy, UpstreamProtocol, WeightedCluster
from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.data import dicts, mapping, text
from gateway_contour.translate.httpproxy import status as s
from gateway_contour.translate.httpproxy.services import (
    ClusterSink,
    cluster_settings,
    with_settings,
)
from gateway_contour.translate.services import ServiceIndex, find_service_port

ErrorSink = Callable[[str, str, str], None]


def tcp_proxy(
    spec: dict[str, Any],
    namespace: str,
    proxies: Mapping[tuple[str, str], KubeObject],
    reach: Callable[[tuple[str, str]], ErrorSink],
    services: ServiceIndex,
    add_cluster: ClusterSink,
    error: ErrorSink,
) -> TCPProxy | None:
    """`reach(key)` marks an included proxy reached and returns its error sink."""
    include = mapping(spec.get("include") or spec.get("includes"))
    owner_ns, owner_error = namespace, error
    if include:
        key = (text(include.get("namespace")) or namespace, text(include.get("name")))
        child = proxies.get(key)
        if child is None:
            error(
                s.TCP_PROXY_ERROR,
                "IncludeNotFound",
                f"tcpproxy: include {key[0]}/{key[1]} not found",
            )
            return None
        owner_ns, owner_error = key[0], reach(key)
        spec = mapping(mapping(child.get("spec")).get("tcpproxy"))
        if not spec.get("services"):
            owner_error(
                s.TCP_PROXY_ERROR,
                "NothingDefined",
                "tcpproxy included by a root must define services",
            )
            error(
                s.TCP_PROXY_ERROR,
                "IncludeNotValid",
                f"tcpproxy: included HTTPProxy {key[0]}/{key[1]} has no tcpproxy services",
            )
            return None
    entries = dicts(spec.get("services"))
    if not entries:
        error(
            s.TCP_PROXY_ERROR,
            "NothingDefined",
            "either services or include must be specified in a tcpproxy",
        )
        return None
    lb, _ = cluster_settings({"loadBalancerPolicy": spec.get("loadBalancerPolicy")}, owner_error)
    any_weight = any(isinstance(e.get("weight"), int) and e.get("weight") for e in entries)
    clusters = []
    for entry in entries:
        name, port = text(entry.get("name")), entry.get("port")
        service = services.service(owner_ns, name)
        service_port = None
        if service is not None and isinstance(port, int) and not isinstance(port, bool):
            service_port = find_service_port(service, port)
        if service_port is None:
            owner_error(
                s.SERVICE_ERROR,
                "ServiceUnresolvedReference",
                f"Spec.TCPProxy unresolved service reference: {owner_ns}/{name}:{port}",
            )
            return None
        cluster = services.cluster(owner_ns, name, service_port, protocol=UpstreamProtocol.TCP)
        cluster = with_settings(cluster, lb, None)
        add_cluster(cluster)
        weight = entry.get("weight")
        weight = weight if isinstance(weight, int) and not isinstance(weight, bool) else 0
        clusters.append(WeightedCluster(cluster.name, max(weight, 0) if any_weight else 1))
    return TCPProxy(clusters=tuple(clusters))
