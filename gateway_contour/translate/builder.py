"""Collects what the per-API translators produce and assembles one deterministic IR.

Translators for different source APIs may ask for the same Cluster (two routes to one
Service port); the builder keeps one per name. Everything is sorted by name at the end.
"""

from __future__ import annotations

from gateway_contour.ir.model import IR, Cluster, ClusterEndpoints, Gateway, HTTPSettings, Secret


class IRBuilder:
    __slots__ = ("_clusters", "_endpoints", "_gateways", "_secrets")

    def __init__(self) -> None:
        self._gateways: dict[str, Gateway] = {}
        self._clusters: dict[str, Cluster] = {}
        self._endpoints: dict[str, ClusterEndpoints] = {}
        self._secrets: dict[str, Secret] = {}

    def add_gateway(self, gateway: Gateway) -> None:
        self._gateways[gateway.name] = gateway

    def has_cluster(self, name: str) -> bool:
        return name in self._clusters

    def add_cluster(self, cluster: Cluster, endpoints: ClusterEndpoints) -> None:
        self._clusters.setdefault(cluster.name, cluster)
        self._endpoints.setdefault(cluster.name, endpoints)

    def add_secret(self, secret: Secret) -> None:
        self._secrets.setdefault(secret.name, secret)

    def build(self, http: HTTPSettings | None = None) -> IR:
        return IR(
            http=http if http is not None else HTTPSettings(),
            gateways=tuple(self._gateways[k] for k in sorted(self._gateways)),
            clusters=tuple(self._clusters[k] for k in sorted(self._clusters)),
            endpoints=tuple(self._endpoints[k] for k in sorted(self._endpoints)),
            secrets=tuple(self._secrets[k] for k in sorted(self._secrets)),
        )
