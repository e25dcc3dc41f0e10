"""Issue 22 against a real API server: `serve --provision kubernetes --envoy-ca-dir` writes
into each Gateway's namespace a client certificate of that fleet only, and its ADS server
holds every tenant to the fleet its certificate names.

Two Gateways in two namespaces (A and B): the Secret `envoy-<gateway>-xds` in A carries a
certificate naming A's fleet only (never certgen's shared one, never B's), the one in B
B's. With the certificate read back from A's Secret (what anyone who may read Secrets in A
holds), a stream naming A is served and one naming B gets PERMISSION_DENIED and no byte.
A reconcile of a changed Gateway keeps its certificate and a restarted controller leaves
both Secrets untouched (the certificate is reused while valid, not re-issued). A rotated
Envoy CA reaches the fleet's Secret without any object changing, and the old certificate
stops opening streams."""

from __future__ import annotations

import base64
import contextlib
import uuid
from pathlib import Path
from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import discovery_pb2
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from gateway_contour import certs
from gateway_contour.certs.fleet import fleet_of
from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.xds import types
from tests.e2e.http_client import eventually
from tests.e2e.test_fleet_credentials import first_answer
from tests.k8s import manifests as m
from tests.k8s.controller import running, serve_config


def secret_path(ns: str, gateway: str) -> str:
    return f"/api/v1/namespaces/{ns}/secrets/envoy-{gateway}-xds"


async def ask_listeners(port: int, secret: dict[str, Any], fleet: str) -> tuple[str, int]:
    """("ok", bytes) once a Listener answer comes back over mTLS with the Secret's
    certificate, or (gRPC code name, bytes received before it)."""
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    channel_credentials = grpc.ssl_channel_credentials(
        root_certificates=data["ca.crt"],
        private_key=data["tls.key"],
        certificate_chain=data["tls.crt"],
    )
    request = discovery_pb2.DiscoveryRequest(
        node=base_pb2.Node(id="tenant-a", cluster=fleet), type_url=types.LISTENER
    )
    answer, received = await first_answer(port, request, credentials=channel_credentials)
    return answer, len(received)


async def test_each_namespace_gets_only_its_fleets_certificate(
    kube: Any, namespace: str, client: AsyncClient, tmp_path: Path
) -> None:
    bundle = certs.generate_xds_certificates(["gateway-contour"])
    controller_dir, _ = certs.write_xds_dirs(bundle, tmp_path / "certs")
    ca_dir = certs.write_envoy_ca_dir(bundle, tmp_path / "certs")
    ns_a, ns_b = namespace, f"test-{uuid.uuid4().hex[:8]}"
    await client.create(Namespace(metadata=ObjectMeta(name=ns_b)))
    api = KubeClient(kube.kubeconfig)
    class_name = f"gc-{namespace}"
    config = serve_config(
        kube,
        namespace,
        provision="kubernetes",
        xds_cert_dir=controller_dir,
        envoy_ca_dir=ca_dir,
        envoy_ca_check_interval=0.2,
        # no grace for the rotated CA here (tests/e2e/test_xds_ca_rotation.py tests it)
        ca_rotation_grace=0.0,
    )
    try:
        async with running(config) as mode:
            await api.request(
                "POST", "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
                body=m.gateway_class(class_name, config.controller_name),
            )  # fmt: skip
            for ns, name in ((ns_a, "gw-a"), (ns_b, "gw-b")):
                gw = m.gateway(ns, name, class_name, 8080)
                await api.request("POST", m.collection_path(gw), body=gw)
            secrets = {
                ns: await _wait_for(api, secret_path(ns, name))
                for ns, name in ((ns_a, "gw-a"), (ns_b, "gw-b"))
            }
            for ns, fleet in ((ns_a, f"{ns_a}/gw-a"), (ns_b, f"{ns_b}/gw-b")):
                data = {k: base64.b64decode(v) for k, v in secrets[ns]["data"].items()}
                assert fleet_of(data["tls.crt"], bundle.envoy_ca.cert_pem) == fleet
                assert data["tls.crt"] != bundle.envoy[0] and data["ca.crt"] == bundle.ca.cert_pem
                assert data["tls.crt"].count(b"-----BEGIN CERTIFICATE-----") == 1  # one leaf

            # what a reader of Secrets in A holds opens A, and not B
            port = mode.xds_port
            assert (await ask_listeners(port, secrets[ns_a], f"{ns_a}/gw-a"))[0] == "ok"
            denied = await ask_listeners(port, secrets[ns_a], f"{ns_b}/gw-b")
            assert denied == ("PERMISSION_DENIED", 0)

            # a change to Gateway A reapplies its fleet (labels on every object): the Secret
            # keeps its certificate
            versions = {ns: s["metadata"]["resourceVersion"] for ns, s in secrets.items()}
            await api.request(
                "PATCH",
                m.object_path(m.gateway(ns_a, "gw-a", class_name, 8080)),
                body={"spec": {"infrastructure": {"labels": {"team": "a"}}}},
                content_type="application/merge-patch+json",
            )
            live = await eventually(
                lambda: _get(api, secret_path(ns_a, "gw-a")),
                lambda o: o is not None and o["metadata"]["labels"].get("team") == "a",
                timeout=30,
            )
            assert (
                live is not None and live["data"] == secrets[ns_a]["data"]
            )  # relabeled, not re-issued
            versions[ns_a] = live["metadata"]["resourceVersion"]
        # a restarted controller (or a new leader) keeps the certificates the Secrets hold
        async with running(config) as mode:
            await eventually(lambda: _ready(mode), lambda ok: ok, timeout=30)
            for ns, name in ((ns_a, "gw-a"), (ns_b, "gw-b")):
                live = await _get(api, secret_path(ns, name))
                assert live is not None and live["data"] == secrets[ns]["data"]
                assert live["metadata"]["resourceVersion"] == versions[ns]

            # the Envoy CA rotates under the running controller: every fleet gets a
            # certificate of the new CA at once, which the ADS server takes, and the old
            # certificate no longer opens a stream
            new_ca = certs.generate_ca("gateway-contour-envoy-ca-2")
            certs.write_tls_dir(ca_dir, new_ca.cert_pem, new_ca.key_pem, bundle.ca.cert_pem)
            fleet_a = f"{ns_a}/gw-a"
            rotated = await eventually(
                lambda: _get(api, secret_path(ns_a, "gw-a")),
                lambda o: o is not None and fleet_of(_cert(o), new_ca.cert_pem) == fleet_a,
                timeout=30,
            )
            assert rotated is not None
            assert (await ask_listeners(mode.xds_port, rotated, fleet_a))[0] == "ok"
            assert (await ask_listeners(mode.xds_port, secrets[ns_a], fleet_a))[0] != "ok"
    finally:
        with contextlib.suppress(ApiError):
            await api.request("DELETE", m.object_path(m.gateway_class(class_name, "")))
        await api.close()
        await client.delete(Namespace, ns_b)


async def _get(api: KubeClient, path: str) -> dict[str, Any] | None:
    try:
        return await api.get(path)
    except ApiError as err:
        if err.status == 404:
            return None
        raise


def _cert(secret: dict[str, Any]) -> bytes:
    return base64.b64decode(secret["data"]["tls.crt"])


async def _wait_for(api: KubeClient, path: str) -> dict[str, Any]:
    found = await eventually(lambda: _get(api, path), lambda o: o is not None, timeout=30)
    assert found is not None
    return found


async def _ready(mode: Any) -> bool:
    fleet = mode.kube_fleet
    return fleet is not None and len(fleet.applied) == 2
