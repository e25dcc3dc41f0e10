"""Two installs of the controller in one cluster, each with its implicit Ingress/HTTPProxy
fleet: one sweeping what it no longer wants never deletes the other's (real API server)."""

from __future__ import annotations

import uuid

from gateway_contour.ir.model import IR, Gateway, Listener, Protocol
from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.provisioner.kube.apply import Applier, object_path
from gateway_contour.provisioner.kube.credentials import EphemeralCredentials
from gateway_contour.provisioner.kube.implicit import ImplicitFleet, ImplicitFleetConfig
from gateway_contour.provisioner.kube.objects import IMPLICIT_NAME, ControllerEndpoint
from gateway_contour.store.objects import Snapshot
from tests.support.kube_cluster import KubeCluster

OBJECTS = [("v1", "Service"), ("v1", "ServiceAccount"), ("apps/v1", "DaemonSet")]


async def exists(api: KubeClient, namespace: str) -> list[bool]:
    """Whether each of OBJECTS of the implicit fleet in `namespace` exists."""
    found = []
    for api_version, kind in OBJECTS:
        try:
            await api.get(object_path(api_version, kind, namespace, IMPLICIT_NAME))
            found.append(True)
        except ApiError as err:
            assert err.status == 404
            found.append(False)
    return found


async def test_one_install_never_sweeps_anothers_implicit_fleet(kube: KubeCluster) -> None:
    api = KubeClient(kube.kubeconfig)
    namespaces = [f"install-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    listener = Listener(name="ingress_http", address="0.0.0.0", port=8080, protocol=Protocol.HTTP)
    credentials = EphemeralCredentials()
    try:
        for ns in namespaces:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            await api.request("POST", "/api/v1/namespaces", body=body)
        world = Snapshot.of(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces]
        )
        installs = [
            ImplicitFleet(
                Applier(api),
                ControllerEndpoint(),
                ImplicitFleetConfig(fleet=f"{ns}/contour", controller_name=f"example.com/{ns}"),
            )
            for ns in namespaces
        ]
        for install, ns in zip(installs, namespaces, strict=True):
            ir = IR(gateways=(Gateway(f"{ns}/contour", (listener,)),))
            assert await install.reconcile(world, ir, credentials)
        assert await exists(api, namespaces[0]) == await exists(api, namespaces[1]) == [True] * 3

        # the second install's last Ingress is gone: its fleet goes, the first's stays
        assert await installs[1].reconcile(world, IR(), credentials)
        assert await exists(api, namespaces[1]) == [False] * 3
        assert await exists(api, namespaces[0]) == [True] * 3
        assert await installs[0].reconcile(world, IR(), credentials)
        assert await exists(api, namespaces[0]) == [False] * 3
    finally:
        for ns in namespaces:
            await api.request("DELETE", f"/api/v1/namespaces/{ns}")
        await api.close()
