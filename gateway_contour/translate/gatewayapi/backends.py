"""backendRefs: which references resolve (kind, ReferenceGrant, Service and port) and the
Cluster each valid one becomes (with the upstream TLS of its BackendTLSPolicy)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway_contour.ir.model import Cluster, UpstreamProtocol
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate.data import dicts, mapping, text
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.backend_tls import BackendTLSPolicies
from gateway_contour.translate.services import (
    WEBSOCKET_APP_PROTOCOLS,
    ServiceIndex,
    find_service_port,
)

GRPC_ROUTE = "GRPCRoute"


@dataclass(frozen=True, slots=True)
class Resolved:
    """A backendRef's outcome: a cluster, or why there is none."""

    cluster: Cluster | None = None
    websocket: bool = False
    # (reason, message) for ResolvedRefs False; None with no cluster: the backend exists but
    # must fail (its BackendTLSPolicy is unusable), without a route condition
    error: tuple[str, str] | None = None


class ReferenceGrants:
    """ReferenceGrants by the namespace they grant access into."""

    __slots__ = ("_by_namespace",)

    def __init__(self, snapshot: Snapshot) -> None:
        self._by_namespace: dict[str, list[tuple[set[tuple[str, str, str]], list[Any]]]] = {}
        for grant in snapshot.objects("ReferenceGrant"):
            spec = mapping(grant.get("spec"))
            froms = {
                (text(f.get("group")), text(f.get("kind")), text(f.get("namespace")))
                for f in dicts(spec.get("from"))
            }
            tos = dicts(spec.get("to"))
            ns = grant["metadata"]["namespace"]
            self._by_namespace.setdefault(ns, []).append((froms, tos))

    def permits(
        self,
        from_group: str,
        from_kind: str,
        from_namespace: str,
        to_group: str,
        to_kind: str,
        to_namespace: str,
        to_name: str,
    ) -> bool:
        for froms, tos in self._by_namespace.get(to_namespace, ()):
            if (from_group, from_kind, from_namespace) not in froms:
                continue
            for to in tos:
                if (
                    text(to.get("group")) == to_group
                    and text(to.get("kind")) == to_kind
                    and to.get("name") in (None, "", to_name)
                ):
                    return True
        return False


class BackendResolver:
    """Resolves backendRefs of routes. Results are cached: thousands of routes usually
    point at a few Services."""

    __slots__ = ("_cache", "_grants", "_policies", "_services", "tracks_services")

    def __init__(
        self,
        services: ServiceIndex,
        grants: ReferenceGrants,
        policies: BackendTLSPolicies | None = None,
    ) -> None:
        self._services = services
        self._grants = grants
        self._policies = policies
        self._cache: dict[tuple[Any, ...], Resolved] = {}
        # whether compiled routes should list the Services they name (for policy status)
        self.tracks_services = policies is not None and bool(policies.policies)

    def resolve(self, ref: Mapping[str, Any], route_kind: str, route_namespace: str) -> Resolved:
        group = str(ref.get("group", ""))
        kind = str(ref.get("kind", "Service"))
        name = str(ref.get("name", ""))
        namespace = str(ref.get("namespace") or route_namespace)
        port = ref.get("port") if isinstance(ref.get("port"), int) else None
        key = (route_kind, route_namespace, group, kind, namespace, name, port)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(group, kind, name, namespace, port, route_kind, route_namespace)
            self._cache[key] = found
        return found

    def _resolve(
        self,
        group: str,
        kind: str,
        name: str,
        namespace: str,
        port: Any,
        route_kind: str,
        route_namespace: str,
    ) -> Resolved:
        where = f"{namespace}/{name}"
        if (group, kind) != ("", "Service"):
            shown = f"{group}/{kind}" if group else kind
            return Resolved(
                error=(c.REASON_INVALID_KIND, f"backend {where}: kind {shown} is not supported")
            )
        if namespace != route_namespace and not self._grants.permits(
            c.GROUP, route_kind, route_namespace, "", "Service", namespace, name
        ):
            return Resolved(
                error=(
                    c.REASON_REF_NOT_PERMITTED,
                    f"backend {where}: no ReferenceGrant in namespace {namespace} allows "
                    f"{route_kind}s in {route_namespace} to use it",
                )
            )
        service = self._services.service(namespace, name)
        if service is None:
            return Resolved(error=(c.REASON_BACKEND_NOT_FOUND, f"Service {where} not found"))
        if not isinstance(port, int):
            return Resolved(
                error=(c.REASON_BACKEND_NOT_FOUND, f"backend {where}: a Service needs a port")
            )
        service_port = find_service_port(service, port)
        if service_port is None:
            return Resolved(
                error=(c.REASON_BACKEND_NOT_FOUND, f"Service {where} has no port {port}")
            )
        tls = None
        if self._policies is not None:
            policy = self._policies.for_backend(namespace, name, text(service_port.get("name")))
            if policy is not None:
                if policy.tls is None:
                    return Resolved()  # unusable policy: fail rather than send plaintext
                tls = policy.tls
        protocol = None
        if route_kind == GRPC_ROUTE:  # gRPC is HTTP/2, in clear text or over TLS
            protocol = UpstreamProtocol.H2 if tls is not None else UpstreamProtocol.H2C
        cluster = self._services.cluster(namespace, name, service_port, tls, protocol)
        websocket = text(service_port.get("appProtocol")) in WEBSOCKET_APP_PROTOCOLS
        return Resolved(cluster=cluster, websocket=websocket)
