"""IR ClusterEndpoints -> Envoy ClusterLoadAssignment (EDS).

Only ready endpoints are sent: Envoy's panic threshold would otherwise route to hosts marked
unhealthy once most of them are, and a not-ready Kubernetes endpoint must never receive
traffic. Endpoints are grouped by zone (one LocalityLbEndpoints per zone, sorted; no zone
first) and sorted by address and port, so the same set always gives the same bytes. A cluster
without endpoints still gets an (empty) assignment so Envoy finishes warming it.
"""

from __future__ import annotations

from envoy.config.core.v3 import address_pb2, base_pb2
from envoy.config.endpoint.v3 import endpoint_components_pb2 as ec
from envoy.config.endpoint.v3 import endpoint_pb2

from gateway_contour.envoy import names
from gateway_contour.ir.model import ClusterEndpoints, Endpoint


def load_assignment(ce: ClusterEndpoints) -> endpoint_pb2.ClusterLoadAssignment:
    by_zone: dict[str, list[Endpoint]] = {}
    for ep in ce.endpoints:
        if ep.ready:
            by_zone.setdefault(ep.zone or "", []).append(ep)
    localities = []
    for zone in sorted(by_zone):
        endpoints = sorted(by_zone[zone], key=lambda e: (e.address, e.port))
        group = ec.LocalityLbEndpoints(lb_endpoints=[_lb_endpoint(e) for e in endpoints])
        if zone:
            group.locality.CopyFrom(base_pb2.Locality(zone=zone))
        localities.append(group)
    return endpoint_pb2.ClusterLoadAssignment(
        cluster_name=names.cluster(ce.cluster), endpoints=localities
    )


def empty_assignment(cluster_name: str) -> endpoint_pb2.ClusterLoadAssignment:
    return endpoint_pb2.ClusterLoadAssignment(cluster_name=names.cluster(cluster_name))


def _lb_endpoint(ep: Endpoint) -> ec.LbEndpoint:
    socket = address_pb2.SocketAddress(address=ep.address, port_value=ep.port)
    return ec.LbEndpoint(endpoint=ec.Endpoint(address=address_pb2.Address(socket_address=socket)))
