"""The install, as README's "Installing" says, on the real node: certgen Secrets, then
manifests/install.yaml with the images swapped for the locally built ones by a kustomize
overlay (the file itself is not edited) -> the controller Pods Ready -> a Gateway of class
gateway-contour gets its own Envoy Pod (bootstrap init container, mTLS to the controller's
Service by DNS name, Ready through /ready) -> an HTTPRoute to a Deployment answers through the
Envoy Service from this host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.node.conftest import NodeCluster
from tests.node.objects import (
    await_value,
    create,
    echo_deployment,
    fresh_namespace,
    get,
    ready_pods,
    service,
)
from tests.support.kube_cluster import REPO

INSTALL = REPO / "manifests" / "install.yaml"
CONTROLLER_IMAGE = "ghcr.io/gateway-contour/gateway-contour"


def overlay(directory: Path, controller_image: str) -> Path:
    """A kustomization over an unedited copy of install.yaml: the controller image (and the
    bootstrap image it gives the Envoy Pods) become the local one. README documents it."""
    directory.mkdir()
    (directory / "install.yaml").write_bytes(INSTALL.read_bytes())
    deployment = next(
        d for d in yaml.safe_load_all(INSTALL.read_text()) if d and d["kind"] == "Deployment"
    )
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    name, tag = controller_image.rsplit(":", 1)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["install.yaml"],
        "images": [{"name": CONTROLLER_IMAGE, "newName": name, "newTag": tag}],
        "patches": [
            {
                "target": {"kind": "Deployment", "name": "gateway-contour"},
                "patch": json.dumps(
                    [
                        {
                            "op": "replace",
                            "path": "/spec/template/spec/containers/0/args/"
                            f"{args.index('--bootstrap-image') + 1}",
                            "value": controller_image,
                        }
                    ]
                ),
            },
            {
                # The Envoy image of the class's Gateways: a ContourDeployment (created by the
                # test once install.yaml has brought its CRD) instead of upstream's image.
                "target": {"kind": "GatewayClass", "name": "gateway-contour"},
                "patch": json.dumps(
                    [
                        {
                            "op": "add",
                            "path": "/spec/parametersRef",
                            "value": {
                                "group": "gateway-contour.dev",
                                "kind": "ContourDeployment",
                                "namespace": "gateway-contour",
                                "name": "local-envoy",
                            },
                        }
                    ]
                ),
            },
        ],
    }
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return directory


def test_install_serves_an_httproute_through_a_provisioned_envoy_pod(
    node: NodeCluster, tmp_path: Path
) -> None:
    kubectl = node.node.kubectl
    cluster = node.cluster
    certs = tmp_path / "certs.yaml"
    subprocess.run(
        [
            sys.executable, "-m", "gateway_contour.cli", "certgen",
            "--secrets", str(certs), "--dns-name", "gateway-contour.gateway-contour.svc",
        ],
        check=True,
    )  # fmt: skip
    kubectl("create", "namespace", "gateway-contour")
    kubectl("apply", "-f", str(certs))
    kubectl("apply", "-k", str(overlay(tmp_path / "overlay", node.images["gateway-contour"])))
    kubectl(
        "-n", "gateway-contour", "rollout", "status", "deployment/gateway-contour", "--timeout=120s"
    )  # fmt: skip
    assert (
        len(ready_pods(cluster, "gateway-contour", "app.kubernetes.io/name=gateway-contour")) == 2
    )

    ns = fresh_namespace(cluster)
    labels = {"app": "web"}
    echo_deployment(cluster, ns, labels, node.images["gateway-contour"], replicas=1)
    service(cluster, ns, "web", labels, 8080)
    # The test Envoy image (upstream's stays the default), named by the overlay's GatewayClass.
    create(
        cluster,
        "/apis/gateway-contour.dev/v1alpha1/namespaces/gateway-contour/contourdeployments",
        {
            "apiVersion": "gateway-contour.dev/v1alpha1",
            "kind": "ContourDeployment",
            "metadata": {"name": "local-envoy"},
            "spec": {"envoy": {"image": node.images["envoy"], "drainTimeoutSeconds": 5}},
        },
    )
    gw_api = "/apis/gateway.networking.k8s.io/v1"
    create(
        cluster,
        f"{gw_api}/namespaces/{ns}/gateways",
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "edge"},
            "spec": {
                "gatewayClassName": "gateway-contour",
                "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
            },
        },
    )
    create(
        cluster,
        f"{gw_api}/namespaces/{ns}/httproutes",
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "web"},
            "spec": {
                "parentRefs": [{"name": "edge"}],
                "hostnames": ["web.example"],
                "rules": [{"backendRefs": [{"name": "web", "port": 8080}]}],
            },
        },
    )

    envoys = await_value(
        "a Ready Envoy Pod of the Gateway",
        lambda: ready_pods(cluster, ns, "gateway.networking.k8s.io/gateway-name=edge"),
        timeout=120,
    )
    assert [c["name"] for c in envoys[0]["spec"]["initContainers"]] == ["bootstrap"]

    def gateway_programmed() -> dict[str, Any] | None:
        _, gateway = cluster.request("GET", f"{gw_api}/namespaces/{ns}/gateways/edge")
        status = gateway.get("status") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        ok = conditions.get("Programmed") == "True" and status.get("addresses")
        return gateway if ok else None

    gateway = await_value("Gateway Programmed with an address", gateway_programmed)
    address = gateway["status"]["addresses"][0]["value"]
    _, svc = cluster.request("GET", f"/api/v1/namespaces/{ns}/services/envoy-edge")
    assert address in (
        svc["spec"]["clusterIP"],
        *[i.get("ip") for i in (svc["status"].get("loadBalancer") or {}).get("ingress") or []],
    )

    def answer() -> str | None:
        try:
            status, body = get(f"http://{address}/hello", host="web.example")
        except OSError:
            return None  # the Service has no ready endpoint yet
        return str(json.loads(body)["backend"]) if status == 200 else None

    backend = await_value("a 200 through the Envoy Service", answer, timeout=60)
    assert backend.startswith("web-")
    assert get(f"http://{address}/")[0] == 404  # no route for this host: Envoy itself answers
