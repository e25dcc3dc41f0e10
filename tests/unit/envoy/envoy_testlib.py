"""Helpers for the envoy-stage unit tests: small IR builders, real certificates, and the
real-Envoy validation assertion. (A plain module, not a conftest: tests/unit has no package
__init__, so the name must be unique.)"""

from __future__ import annotations

from functools import cache

from gateway_contour import certs
from gateway_contour.envoy.resources import FleetResources, build_resources
from gateway_contour.envoy.validate import validate_fleet
from gateway_contour.ir.model import (
    IR,
    Cluster,
    ClusterEndpoints,
    Endpoint,
    Forward,
    Gateway,
    Listener,
    Match,
    Protocol,
    Route,
    Secret,
    VirtualHost,
    WeightedCluster,
)

FLEET = "default/web"
BACKEND = "default/backend/80/abc"
OTHER = "default/other/8080/def"


def cluster(name: str = BACKEND, **kwargs: object) -> Cluster:
    namespace, service = name.split("/")[:2]
    return Cluster(name=name, service=f"{namespace}/{service}", port=80, **kwargs)  # type: ignore[arg-type]


def endpoints(name: str = BACKEND, *addresses: str) -> ClusterEndpoints:
    return ClusterEndpoints(
        cluster=name, endpoints=tuple(Endpoint(a, 8080) for a in addresses or ("10.0.0.1",))
    )


def forward(*clusters: str) -> Forward:
    return Forward(clusters=tuple(WeightedCluster(c) for c in clusters or (BACKEND,)))


def route(name: str = "r", match: Match | None = None, **kwargs: object) -> Route:
    action = kwargs.pop("action", forward())
    return Route(name=name, match=match or Match(), action=action, **kwargs)  # type: ignore[arg-type]


def http_ir(
    *routes: Route,
    hostname: str = "*",
    clusters: tuple[Cluster, ...] = (),
    extra_hosts: tuple[VirtualHost, ...] = (),
) -> IR:
    """One fleet, one HTTP listener on :80, one virtual host holding `routes`."""
    vh = VirtualHost(name=hostname, hostname=hostname, routes=routes)
    listener = Listener("http-80", "0.0.0.0", 80, Protocol.HTTP, (vh, *extra_hosts))
    all_clusters = clusters or (cluster(BACKEND), cluster(OTHER))
    return IR(
        gateways=(Gateway(FLEET, (listener,)),),
        clusters=all_clusters,
        endpoints=tuple(endpoints(c.name) for c in all_clusters),
    )


def fleet_of(ir: IR, fleet: str = FLEET) -> FleetResources:
    return build_resources(ir)[fleet]


def assert_envoy_accepts(resources: FleetResources) -> None:
    result = validate_fleet(resources)
    assert result.ok, result.output


@cache
def self_signed(hostname: str = "www.example.com") -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `hostname`, self-signed (its own CA), valid for
    a day; the same pair for the same hostname within a test run."""
    return certs.self_signed(hostname)


def tls_secret(name: str, hostname: str = "www.example.com", with_ca: bool = False) -> Secret:
    cert, key = self_signed(hostname)
    return Secret(name=name, cert_chain=cert, private_key=key, ca=cert if with_ca else b"")


def ca_only_secret(name: str, hostname: str = "ca.example.com") -> Secret:
    cert, _ = self_signed(hostname)
    return Secret(name=name, ca=cert)
