"""manifests/install.yaml against a real API server: every object is accepted, our CRDs get
Established, the RBAC grants what the controller needs and no more, and the controller runs
with exactly that RBAC: `serve --provision kubernetes` authenticated as the shipped
ServiceAccount (a token from the TokenRequest API) syncs, provisions a Gateway's fleet and
writes its status."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway_contour.certs import generate_xds_certificates, write_tls_dir
from gateway_contour.manifests.install import GATEWAY_CLASS, NAME, NAMESPACE
from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.translate.options import DEFAULT_CONTROLLER_NAME
from tests.e2e.http_client import eventually
from tests.k8s import manifests as m
from tests.k8s.controller import running, serve_config
from tests.support.kube_cluster import KubeCluster

INSTALL = Path(__file__).resolve().parents[2] / "manifests" / "install.yaml"
SERVICE_ACCOUNT = f"system:serviceaccount:{NAMESPACE}:{NAME}"


def rest_path(kube: KubeCluster, doc: dict[str, Any]) -> str:
    """The object's URL path, from the API server's own discovery."""
    api_version, kind = doc["apiVersion"], doc["kind"]
    base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    status, listing = kube.request("GET", base)
    assert status == 200, (api_version, listing)
    resource = next(r for r in listing["resources"] if r["kind"] == kind and "/" not in r["name"])
    meta = doc["metadata"]
    if resource["namespaced"]:
        return f"{base}/namespaces/{meta['namespace']}/{resource['name']}/{meta['name']}"
    return f"{base}/{resource['name']}/{meta['name']}"


@pytest.fixture(scope="module")
def installed(kube: KubeCluster) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(INSTALL.read_text()) if d]
    for doc in docs:
        status, body = kube.request_apply(rest_path(kube, doc), doc)
        assert status in (200, 201), (doc["kind"], doc["metadata"]["name"], body)
        if doc["kind"] == "CustomResourceDefinition":
            kube.wait_crd_established(doc["metadata"]["name"])
    return docs


def test_install_yaml_is_accepted(kube: KubeCluster, installed: list[dict[str, Any]]) -> None:
    kinds = {d["kind"] for d in installed}
    assert {"Namespace", "CustomResourceDefinition", "ClusterRole", "Deployment"} <= kinds
    for doc in installed:
        status, live = kube.request("GET", rest_path(kube, doc))
        assert status == 200, (doc["kind"], live)
        if doc["kind"] == "ClusterRole":
            assert live["rules"] == doc["rules"]  # stored as shipped: nothing dropped


def can(kube: KubeCluster, verb: str, resource: str, group: str = "", namespace: str = "") -> bool:
    group_part, _, sub = resource.partition("/")
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": SERVICE_ACCOUNT,
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}"],
            "resourceAttributes": {
                "verb": verb,
                "group": group,
                "resource": group_part,
                "subresource": sub,
                "namespace": namespace,
            },
        },
    }
    status, answer = kube.request(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review
    )
    assert status == 201, answer
    return bool(answer["status"].get("allowed"))


def test_rbac_grants_what_is_needed_and_no_more(
    kube: KubeCluster, installed: list[dict[str, Any]]
) -> None:
    gw = "gateway.networking.k8s.io"
    assert can(kube, "watch", "gateways", gw)
    assert can(kube, "update", "httproutes/status", gw, "any")
    assert can(kube, "patch", "daemonsets", "apps", "any")
    assert can(kube, "list", "daemonsets", "apps")  # the implicit fleet is found by label
    assert can(kube, "create", "leases", "coordination.k8s.io", NAMESPACE)
    assert not can(kube, "create", "leases", "coordination.k8s.io", "elsewhere")
    assert not can(kube, "update", "gateways", gw, "any")  # status only
    assert not can(kube, "get", "secrets", "", "any")
    # Pods: the provisioned Envoys' readiness is read by label, nothing else
    assert can(kube, "watch", "pods")
    assert not can(kube, "get", "pods", "", "any")
    assert not can(kube, "delete", "pods", "", "any")
    assert not can(kube, "create", "pods", "", "any")


@pytest.fixture
async def service_account_kubeconfig(
    kube: KubeCluster, installed: list[dict[str, Any]], tmp_path: Path
) -> Path:
    status, answer = kube.request(
        "POST",
        f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{NAME}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    assert status == 201, answer
    path = tmp_path / "kubeconfig-sa"
    kube.write_kubeconfig(path, SERVICE_ACCOUNT, answer["status"]["token"])
    return path


def condition(obj: dict[str, Any], kind: str) -> tuple[str, str]:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == kind:
            return (c["status"], c["reason"])
    return ("", "")


async def test_controller_runs_with_exactly_the_shipped_rbac(
    kube: KubeCluster,
    service_account_kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    certs = generate_xds_certificates()
    config = serve_config(
        kube,
        namespace,
        # the shipped ServiceAccount, controller name and Lease namespace, not the test's own
        kubeconfig=service_account_kubeconfig,
        controller_name=DEFAULT_CONTROLLER_NAME,
        leader_namespace=NAMESPACE,
        provision="kubernetes",
        envoy_cert_dir=write_tls_dir(tmp_path / "envoy", *certs.envoy, certs.ca.cert_pem),
        ingress_class_names=(f"ic-{namespace}",),
        # this test's own implicit fleet: other tests' leftovers are not in the way
        legacy_fleet=f"{namespace}/contour",
    )
    admin = KubeClient(kube.kubeconfig)
    try:
        async with running(config) as mode:
            # a sanity check that the controller is not admin: its own token cannot read a
            # Secret by name (it lists the TLS and Opaque ones only)
            as_sa = KubeClient(service_account_kubeconfig)
            with pytest.raises(ApiError) as denied:
                await as_sa.get(f"/api/v1/namespaces/{namespace}/secrets/anything")
            await as_sa.close()
            assert denied.value.status == 403

            gw = m.gateway(namespace, "shipped", GATEWAY_CLASS, 8080)
            await admin.request("POST", m.collection_path(gw), body=gw)
            # no load balancer runs on this tier: stand in for one once the Service exists
            await _balancer_assigns(
                admin, f"/api/v1/namespaces/{namespace}/services/envoy-shipped", "192.0.2.30"
            )
            live = await eventually(
                lambda: admin.get(m.object_path(gw)),
                lambda o: condition(o, "Programmed") == ("True", "Programmed"),
                timeout=30,
            )
            assert condition(live, "Accepted") == ("True", "Accepted")
            assert live["status"]["addresses"] == [{"type": "IPAddress", "value": "192.0.2.30"}]
            daemonset = await admin.get(
                f"/apis/apps/v1/namespaces/{namespace}/daemonsets/envoy-shipped"
            )
            assert daemonset["metadata"]["ownerReferences"][0]["uid"] == live["metadata"]["uid"]
            gateway_class = await admin.get(m.object_path(m.gateway_class(GATEWAY_CLASS, "")))
            assert condition(gateway_class, "Accepted") == ("True", "Accepted")
            assert mode.source is not None and mode.source.synced.is_set()
            assert mode.writer is not None and mode.writer.total.failures == 0
            assert mode.leader is not None and mode.leader.is_leader

            # an Ingress: the implicit fleet is made, its address written, and removed by label
            await _implicit_fleet_comes_and_goes(admin, namespace)
            refused = [r.getMessage() for r in caplog.records if "403" in r.getMessage()]
            assert refused == []
    finally:
        with contextlib.suppress(ApiError):
            await admin.request("DELETE", m.object_path(m.gateway(namespace, "shipped", "", 0)))
        await admin.close()


async def _implicit_fleet_comes_and_goes(admin: KubeClient, namespace: str) -> None:
    backend = {"service": {"name": "app", "port": {"number": 80}}}
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"namespace": namespace, "name": "shipped"},
        "spec": {"ingressClassName": f"ic-{namespace}", "defaultBackend": backend},
    }
    path = f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses"
    await admin.request("POST", path, body=ingress)
    service_path = f"/api/v1/namespaces/{namespace}/services/gateway-contour-envoy"

    async def get(p: str) -> Any:
        try:
            return await admin.get(p)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    await _balancer_assigns(admin, service_path, "192.0.2.31")
    address = [{"ip": "192.0.2.31"}]
    await eventually(
        lambda: get(f"{path}/shipped"),
        lambda o: ((o or {}).get("status") or {}).get("loadBalancer", {}).get("ingress") == address,
        timeout=30,
    )
    await admin.request("DELETE", f"{path}/shipped")
    await eventually(lambda: get(service_path), lambda o: o is None, timeout=30)


async def _balancer_assigns(admin: KubeClient, service_path: str, ip: str) -> None:
    """What a cloud's load balancer controller does: once the Service exists, its status
    gets the balancer's address."""

    async def exists() -> bool:
        try:
            await admin.get(service_path)
        except ApiError as err:
            if err.status == 404:
                return False
            raise
        return True

    await eventually(exists, bool, timeout=30)
    await admin.request(
        "PATCH",
        f"{service_path}/status",
        body={"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}},
        content_type="application/merge-patch+json",
    )
