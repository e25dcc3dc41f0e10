"""A rotated Envoy CA on the real install (issue 22): the Secret `gateway-contour-envoy-ca`
is replaced under running controllers and a Gateway answering requests. The kubelet delivers
it to the controllers, which sign the fleet a certificate of the new CA; the kubelet delivers
that to the Envoy Pod, whose Envoy reads it through file-based SDS. The controllers are then
rolled: the new ones trust the new CA only (no grace survives a restart), so the Envoy's
reconnect succeeds only with the delivered certificate, and a route created afterwards
reaching traffic shows it did. Every request of the loop around it must answer 200."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from gateway_contour.certs import generate_ca
from gateway_contour.certs.fleet import fleet_of
from tests.node.install import NAMESPACE, a_new_route_serves, restart_controllers, serve_gateway
from tests.node.objects import await_value, fresh_namespace, ready_pods
from tests.node.traffic import Traffic
from tests.support.node_cluster import NodeCluster

CA_SECRET = f"/api/v1/namespaces/{NAMESPACE}/secrets/gateway-contour-envoy-ca"
# what the controller's Envoy-CA check, the kubelet's two Secret deliveries and a roll take
ROTATION_TIMEOUT = 180.0


def delivered(node: NodeCluster, pod_uid: str) -> bytes | None:
    """The client certificate the kubelet wrote into an Envoy Pod's `certs` volume."""
    path = (
        node.node.workdir / "kubelet" / "pods" / pod_uid / "volumes" / "kubernetes.io~secret"
        / "certs" / "tls.crt"
    )  # fmt: skip
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def test_a_rotated_envoy_ca_reaches_the_fleet_without_a_failed_request(
    installed: NodeCluster,
) -> None:
    cluster = installed.cluster
    ns = fresh_namespace(cluster)
    served = serve_gateway(installed, ns, "rotating", "rotating.example")
    fleet = f"{ns}/rotating"
    fleet_secret = f"/api/v1/namespaces/{ns}/secrets/envoy-rotating-xds"
    _, before = cluster.request("GET", fleet_secret)
    old_cert = base64.b64decode(before["data"]["tls.crt"])
    _, ca_secret = cluster.request("GET", CA_SECRET)
    old_ca = base64.b64decode(ca_secret["data"]["tls.crt"])
    assert fleet_of(old_cert, old_ca) == fleet
    envoys = [
        p["metadata"]["uid"]
        for p in ready_pods(cluster, ns, "gateway.networking.k8s.io/gateway-name=rotating")
    ]
    assert envoys and all(delivered(installed, uid) == old_cert for uid in envoys)

    new_ca = generate_ca(f"gateway-contour-envoy-ca-{uuid.uuid4().hex[:6]}")
    ca_secret["data"]["tls.crt"] = base64.b64encode(new_ca.cert_pem).decode()
    ca_secret["data"]["tls.key"] = base64.b64encode(new_ca.key_pem).decode()
    with Traffic(served.address, served.host) as traffic:
        status, body = cluster.request("PUT", CA_SECRET, ca_secret)
        assert status == 200, body

        def reissued() -> bytes | None:
            data = cluster.request("GET", fleet_secret)[1]["data"]
            cert = base64.b64decode(data["tls.crt"])
            return cert if fleet_of(cert, new_ca.cert_pem) == fleet else None

        new_cert = await_value("the fleet's certificate of the new CA", reissued, ROTATION_TIMEOUT)
        await_value(
            "the new certificate in every Envoy Pod",
            lambda: all(delivered(installed, uid) == new_cert for uid in envoys),
            ROTATION_TIMEOUT,
        )
        traffic.more(20)
        # New controllers trust the new CA alone: the Envoy gets its configuration from them
        # only if it presents the delivered certificate.
        restart_controllers(installed)
        a_new_route_serves(installed, served, f"rotated-{uuid.uuid4().hex[:6]}.example")
        traffic.more(20)
    assert traffic.failures() == {}, traffic.outcomes
    assert traffic.sent > 50
