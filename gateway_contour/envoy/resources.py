"""The IR -> xDS entry point: every Envoy resource of every fleet.

`build_resources(ir)` returns fleet (IR Gateway name) -> type URL -> resource name ->
message. Each fleet gets its listeners, their route configurations, and exactly the clusters,
ClusterLoadAssignments and secrets those reference. Clusters, assignments and secrets are
built once per IR and the same message objects are shared by every fleet that uses them, so
the xDS server can serialize each once. Every mapping is ordered by resource name, and the
same IR always gives the same bytes.

With a `BuildMemo`, messages whose IR value is unchanged since the last build are reused
(the same objects), so a rebuild after a small change builds only what changed.

`build_endpoints(ir)` builds only the ClusterLoadAssignments (the EDS fast path: endpoint
changes never rebuild listeners, routes or clusters).
"""

from __future__ import annotations

import dataclasses
from functools import partial

from envoy.config.endpoint.v3 import endpoint_pb2
from google.protobuf.message import Message

from gateway_contour.envoy import names
from gateway_contour.envoy.cluster import cluster as build_cluster
from gateway_contour.envoy.endpoint import empty_assignment, load_assignment
from gateway_contour.envoy.listener import listener as build_listener
from gateway_contour.envoy.listener import served_virtual_hosts
from gateway_contour.envoy.memo import BuildMemo
from gateway_contour.envoy.secret import ca_secret, certificate_secret
from gateway_contour.ir.model import (
    IR,
    Cluster,
    Forward,
    Gateway,
    HTTPSettings,
    Listener,
    Protocol,
    Secret,
    WeightedCluster,
)

_PREFIX = "type.googleapis.com/"
LISTENER = _PREFIX + "envoy.config.listener.v3.Listener"
ROUTE = _PREFIX + "envoy.config.route.v3.RouteConfiguration"
CLUSTER = _PREFIX + "envoy.config.cluster.v3.Cluster"
ENDPOINT = _PREFIX + "envoy.config.endpoint.v3.ClusterLoadAssignment"
SECRET = _PREFIX + "envoy.extensions.transport_sockets.tls.v3.Secret"
TYPE_URLS = (LISTENER, ROUTE, CLUSTER, ENDPOINT, SECRET)

FleetResources = dict[str, dict[str, Message]]  # type URL -> resource name -> message
Resources = dict[str, FleetResources]  # fleet -> ...


def build_endpoints(
    ir: IR, memo: BuildMemo | None = None
) -> dict[str, endpoint_pb2.ClusterLoadAssignment]:
    """A ClusterLoadAssignment for every IR cluster (empty when it has no endpoints)."""
    memo = memo if memo is not None else BuildMemo()
    by_cluster = {ce.cluster: ce for ce in ir.endpoints}
    out = {}
    for c in sorted(ir.clusters, key=lambda c: c.name):
        ce = by_cluster.get(c.name)
        if ce is None:
            out[names.cluster(c.name)] = empty_assignment(c.name)
        else:
            out[names.cluster(c.name)] = memo.get("eds", ce, partial(load_assignment, ce))
    return out


def build_resources(ir: IR, memo: BuildMemo | None = None) -> Resources:
    """Every fleet's resources. Pass the same `memo` to successive calls to reuse the
    messages of unchanged IR objects; the result is the same with or without it."""
    memo = memo if memo is not None else BuildMemo()
    memo.begin()
    shared = _Shared(ir, memo)
    return {gw.name: _fleet(gw, shared, ir.http) for gw in ir.gateways}


class _Shared:
    """Per-IR caches so that each cluster, assignment and secret is built once."""

    def __init__(self, ir: IR, memo: BuildMemo) -> None:
        self.memo = memo
        self.ir_clusters: dict[str, Cluster] = {c.name: c for c in ir.clusters}
        self.ir_secrets: dict[str, Secret] = {s.name: s for s in ir.secrets}
        self.endpoints = build_endpoints(ir, memo)
        self._clusters: dict[str, Message] = {}
        self._secrets: dict[str, Message] = {}

    def cluster(self, name: str) -> Message:
        msg = self._clusters.get(name)
        if msg is None:
            ir_cluster = self.ir_clusters[name]
            msg = self.memo.get("cds", ir_cluster, lambda: build_cluster(ir_cluster))
            self._clusters[name] = msg
        return msg

    def secret(self, name: str, ca: bool) -> tuple[str, Message] | None:
        key = names.ca_secret(name) if ca else names.cert_secret(name)
        msg = self._secrets.get(key)
        if msg is None:
            ir_secret = self.ir_secrets.get(name)
            if ir_secret is None:
                return None
            msg = self._secrets[key] = ca_secret(ir_secret) if ca else certificate_secret(ir_secret)
        return key, msg


def _fleet(gw: Gateway, shared: _Shared, http: HTTPSettings) -> FleetResources:
    listeners: dict[str, Message] = {}
    routes: dict[str, Message] = {}
    cluster_refs: set[str] = set()
    cert_refs: set[str] = set()
    ca_refs: set[str] = set()
    for ir_listener in gw.listeners:
        msg, route_configs = build_listener(ir_listener, shared.memo, http)
        if msg is None:
            continue
        listeners[msg.name] = msg
        for rc in route_configs:
            routes[rc.name] = rc
        _collect_refs(ir_listener, cluster_refs, cert_refs, ca_refs)

    clusters: dict[str, Message] = {}
    endpoints: dict[str, Message] = {}
    for name in sorted(cluster_refs):
        ir_cluster = shared.ir_clusters.get(name)
        if ir_cluster is None:
            continue  # the translator reported it; Envoy answers 503 for the route
        clusters[names.cluster(name)] = shared.cluster(name)
        endpoints[names.cluster(name)] = shared.endpoints[names.cluster(name)]
        if (
            ir_cluster.tls is not None
            and gw.backend_client_secret
            and not ir_cluster.tls.client_secret
        ):
            # the Gateway's own client certificate: this fleet's copy of the cluster presents it
            ir_cluster = dataclasses.replace(
                ir_cluster,
                tls=dataclasses.replace(ir_cluster.tls, client_secret=gw.backend_client_secret),
            )
            clusters[names.cluster(name)] = build_cluster(ir_cluster)
        if ir_cluster.tls is not None:
            if ir_cluster.tls.ca_secret:
                ca_refs.add(ir_cluster.tls.ca_secret)
            if ir_cluster.tls.client_secret:
                cert_refs.add(ir_cluster.tls.client_secret)

    secrets: dict[str, Message] = {}
    for ref, ca in [(r, False) for r in cert_refs] + [(r, True) for r in ca_refs]:
        found = shared.secret(ref, ca)
        if found is not None:
            secrets[found[0]] = found[1]

    return {
        LISTENER: _sorted(listeners),
        ROUTE: _sorted(routes),
        CLUSTER: clusters,
        ENDPOINT: endpoints,
        SECRET: _sorted(secrets),
    }


def _collect_refs(
    ir_listener: Listener, cluster_refs: set[str], cert_refs: set[str], ca_refs: set[str]
) -> None:
    def add(weighted: tuple[WeightedCluster, ...]) -> None:
        cluster_refs.update(wc.cluster for wc in weighted if wc.weight > 0)

    if ir_listener.tcp_proxy is not None and ir_listener.protocol is Protocol.TCP:
        add(ir_listener.tcp_proxy.clusters)
    if ir_listener.udp_proxy is not None and ir_listener.protocol is Protocol.UDP:
        add(ir_listener.udp_proxy.clusters)
    if ir_listener.protocol not in (Protocol.HTTP, Protocol.HTTPS, Protocol.TLS):
        return
    tls_listener = ir_listener.protocol is not Protocol.HTTP
    for vh in served_virtual_hosts(ir_listener):
        if tls_listener and vh.tls is not None:
            cert_refs.update(vh.tls.secrets)
            if vh.fallback_tls is not None:
                cert_refs.update(vh.fallback_tls.secrets)
            if vh.tls.client_validation is not None:
                ca_refs.add(vh.tls.client_validation.ca_secret)
        if tls_listener and vh.passthrough is not None:
            add(vh.passthrough.clusters)
            continue
        for route in vh.routes:
            if isinstance(route.action, Forward):
                add(route.action.clusters)
            for mirror in route.mirrors:
                cluster_refs.add(mirror.cluster)


def _sorted(resources: dict[str, Message]) -> dict[str, Message]:
    return {name: resources[name] for name in sorted(resources)}
