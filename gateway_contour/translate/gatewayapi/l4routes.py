"""TLSRoutes, TCPRoutes and UDPRoutes: attach each to the listeners its parentRefs select,
claim what it serves in the Gateway's `L4Table`, and write its per-parent status.

Attachment is HTTPRoute's (`attach.py`): a listener must match the sectionName/port (else
NoMatchingParent), allow the route's kind and namespace (else NotAllowedByListeners; a
TLSRoute on an HTTP or HTTPS listener, a UDPRoute on a TLS listener), be accepted (else
NoMatchingParent) and, for TLSRoutes, share a hostname with the route (else
NoMatchingListenerHostname). An accepted route counts in `attachedRoutes` of every such
listener; `L4Table` decides which of several routes on one listener (or server name) carries
the traffic. Its counts and clusters go through `ctx.effects` as HTTPRoutes' do; they are
not recorded (L4 routes attach after the HTTP routes, when nothing records, and are not
replayed).

Rules: v1 allows one rule; the backendRefs of every rule are taken together (v1alpha2 allowed
more). Backends resolve as for HTTPRoute (kind, ReferenceGrant, Service and port); each valid
one is a cluster of protocol tcp (udp for UDPRoute) without upstream TLS, and the weight of
the invalid ones is the share of connections refused. ResolvedRefs says why they are invalid.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import Any

from gateway_contour.ir.model import Cluster, UpstreamProtocol, WeightedCluster
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import KubeObject, Snapshot, key_of
from gateway_contour.translate.data import dicts, items, mapping
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.age import Age, age
from gateway_contour.translate.gatewayapi.attach import (
    RouteAttacher,
    RouteContext,
    Wording,
    our_parent_refs,
)
from gateway_contour.translate.gatewayapi.backends import BackendResolver
from gateway_contour.translate.gatewayapi.defaults import (
    backend_ref_with_defaults,
    parent_ref_with_defaults,
)
from gateway_contour.translate.gatewayapi.gateway import GatewayState
from gateway_contour.translate.gatewayapi.hostnames import hostname_error
from gateway_contour.translate.gatewayapi.l4table import NO_HOST, Claim, L4Backends
from gateway_contour.translate.gatewayapi.listeners import ListenerState
from gateway_contour.translate.services import cluster_name

log = logging.getLogger(__name__)

L4_KINDS = ("TLSRoute", "TCPRoute", "UDPRoute")
_PROTOCOL = {
    "TLSRoute": UpstreamProtocol.TCP,
    "TCPRoute": UpstreamProtocol.TCP,
    "UDPRoute": UpstreamProtocol.UDP,
}


@dataclasses.dataclass(frozen=True, slots=True)
class CompiledL4Route:
    kind: str
    age: Age
    hostnames: tuple[str, ...]  # TLSRoute only
    backends: L4Backends
    clusters: tuple[Cluster, ...]
    unresolved: tuple[tuple[str, str], ...]  # (reason, message) of invalid backendRefs
    error: str | None = None  # why the route cannot be programmed at all


def translate_l4_routes(
    snapshot: Snapshot, resolver: BackendResolver, ctx: RouteContext, report: StatusReport
) -> None:
    """Attach every TLSRoute, TCPRoute and UDPRoute of the snapshot; one broken object does
    not stop the others."""
    for kind in L4_KINDS:
        for obj in snapshot.objects(kind):
            try:
                status = translate_l4_route(kind, obj, resolver, ctx)
            except Exception as err:  # one broken object must not break the others
                log.exception("translating %s", key_of(obj))
                report.problem(str(key_of(obj)), f"internal error while translating: {err!r}")
                continue
            if status is not None:
                report.set(key_of(obj), status)


def translate_l4_route(
    kind: str, route: KubeObject, resolver: BackendResolver, ctx: RouteContext
) -> dict[str, Any] | None:
    """Attach one route; its desired status (None when none of its parentRefs is ours)."""
    namespace = route["metadata"]["namespace"]
    raw_refs = dicts(mapping(route.get("spec")).get("parentRefs"))
    ours = our_parent_refs(map(parent_ref_with_defaults, raw_refs), namespace, ctx)
    if not ours:
        return None
    compiled = compile_l4_route(kind, route, resolver)
    return _L4Attacher(ctx, compiled, namespace, c.generation_of(route)).status(ours)


def compile_l4_route(kind: str, route: KubeObject, resolver: BackendResolver) -> CompiledL4Route:
    meta = route["metadata"]
    namespace = meta["namespace"]
    spec = mapping(route.get("spec"))
    route_age = age(meta)
    hostnames = tuple(h for h in items(spec.get("hostnames")) if isinstance(h, str))
    error = next((e for h in hostnames if (e := hostname_error(h))), None)
    if kind == "TLSRoute" and any(h == "*" for h in hostnames):
        error = "hostname '*' is not allowed on a TLSRoute"
    protocol = _PROTOCOL[kind]
    weighted: list[WeightedCluster] = []
    clusters: dict[str, Cluster] = {}
    unresolved: list[tuple[str, str]] = []
    invalid_weight = 0
    for rule in dicts(spec.get("rules")):
        for raw in dicts(rule.get("backendRefs")):
            ref = backend_ref_with_defaults(raw)
            weight = ref.get("weight")
            weight = weight if isinstance(weight, int) and weight >= 0 else 1
            found = resolver.resolve(ref, kind, namespace)
            if found.cluster is None:
                if found.error is not None:
                    unresolved.append(found.error)
                invalid_weight += weight
                continue
            cluster = _l4_cluster(found.cluster, protocol)
            clusters[cluster.name] = cluster
            weighted.append(WeightedCluster(cluster=cluster.name, weight=weight))
    return CompiledL4Route(
        kind=kind,
        age=route_age,
        hostnames=hostnames,
        backends=L4Backends(tuple(weighted), invalid_weight),
        clusters=tuple(clusters.values()),
        unresolved=tuple(unresolved),
        error=error,
    )


def _l4_cluster(cluster: Cluster, protocol: UpstreamProtocol) -> Cluster:
    """The Service port's cluster as a plain TCP/UDP upstream: no HTTP options, no TLS."""
    namespace, _, service = cluster.service.partition("/")
    return dataclasses.replace(
        cluster,
        name=cluster_name(namespace, service, cluster.port, protocol),
        protocol=protocol,
        tls=None,
    )


class _L4Attacher(RouteAttacher[CompiledL4Route]):
    """Claims what an attached route serves in its Gateway's `L4Table`."""

    wording = Wording(
        selector_joiner=" and ",
        no_selector="any name",
        listener="selected listener",
        set_not_accepted="not accepted",
    )

    def hostnames_on(self, listener: ListenerState) -> tuple[str, ...]:
        """A TLSRoute's hostnames meet the listener's; TCP and UDP have none."""
        if self.kind == "TLSRoute":
            return super().hostnames_on(listener)
        return (NO_HOST,)

    def program(
        self, gateway: GatewayState, listener: ListenerState, hostnames: tuple[str, ...]
    ) -> None:
        claim = Claim(age=self.compiled.age, backends=self.compiled.backends)
        for hostname in hostnames:
            gateway.l4.claim(listener, hostname, claim)

    def clusters(self) -> Iterable[Cluster]:
        return self.compiled.clusters
