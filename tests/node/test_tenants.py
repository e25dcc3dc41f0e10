"""Tenants stay apart on the real install (issue 22): what tenant A can read in its own
namespace, the client certificate Secret of its Gateway's Envoys, opens an ADS stream to the
controller's Service for A's fleet only. Naming B's fleet with it gets PERMISSION_DENIED and
no byte of B's resources (Delta and SotW, Secrets and Listeners), no certificate gets no
stream at all, and A's Envoy keeps serving throughout."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import discovery_pb2

from gateway_contour.xds import types
from tests.e2e.test_fleet_credentials import first_answer
from tests.node.install import NAMESPACE, create_gateway, serve_gateway
from tests.node.objects import await_value, fresh_namespace
from tests.node.traffic import Traffic
from tests.support.node_cluster import NodeCluster

SERVER_NAME = f"{NAMESPACE}.{NAMESPACE}.svc"  # the name certgen put in the serving cert


def fleet_credentials(node: NodeCluster, namespace: str, gateway: str) -> grpc.ChannelCredentials:
    """Channel credentials from the Secret `envoy-<gateway>-xds` (readable in `namespace`)."""
    path = f"/api/v1/namespaces/{namespace}/secrets/envoy-{gateway}-xds"
    secret = await_value(
        f"Secret envoy-{gateway}-xds", lambda: node.cluster.request("GET", path)[1].get("data")
    )
    cert, key, ca = (base64.b64decode(secret[k]) for k in ("tls.crt", "tls.key", "ca.crt"))
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )


def requests_for(fleet: str) -> list[Any]:
    node = base_pb2.Node(id="tenant-a", cluster=fleet)
    return [
        discovery_pb2.DeltaDiscoveryRequest(
            node=node, type_url=types.SECRET, resource_names_subscribe=["*"]
        ),
        discovery_pb2.DeltaDiscoveryRequest(node=node, type_url=types.LISTENER),
        discovery_pb2.DiscoveryRequest(node=node, type_url=types.LISTENER),
    ]


def test_a_tenants_certificate_opens_only_its_own_fleet(installed: NodeCluster) -> None:
    cluster = installed.cluster
    team_a, team_b = fresh_namespace(cluster), fresh_namespace(cluster)
    served = serve_gateway(installed, team_a, "gw-a", "a.example")
    create_gateway(cluster, team_b, "gw-b")
    _, controller = cluster.request("GET", f"/api/v1/namespaces/{NAMESPACE}/services/{NAMESPACE}")
    xds = controller["spec"]["clusterIP"]
    port = next(p["port"] for p in controller["spec"]["ports"] if p["name"] == "xds")
    a_creds = fleet_credentials(installed, team_a, "gw-a")

    async def ask(fleet: str, credentials: grpc.ChannelCredentials | None) -> list[Any]:
        return [
            await first_answer(
                port, request, credentials=credentials, host=xds, server_name=SERVER_NAME
            )
            for request in requests_for(fleet)
        ]

    with Traffic(served.address, served.host) as traffic:
        stolen = asyncio.run(ask(f"{team_b}/gw-b", a_creds))
        own = asyncio.run(ask(f"{team_a}/gw-a", a_creds))
        anonymous = asyncio.run(ask(f"{team_b}/gw-b", None))  # plaintext to the TLS port
        traffic.more(20)
    assert stolen == [("PERMISSION_DENIED", b"")] * 3
    assert [answer for answer, _ in own] == ["ok"] * 3
    assert all(received for _, received in own[1:])  # A's own Listeners came
    assert all(answer == "UNAVAILABLE" and received == b"" for answer, received in anonymous)
    assert traffic.failures() == {}, traffic.outcomes
