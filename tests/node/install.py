"""The install as README's "Installing" says, shared by the node tier's tests: certgen Secrets,
then manifests/install.yaml with the images swapped for the locally built ones by a kustomize
overlay (the file itself is not edited), and a ContourDeployment naming the test Envoy image
for the class's Gateways and the Ingress/HTTPProxy fleet. `serve_gateway` gives one Gateway
an HTTPRoute to a Deployment and waits until it answers through its Envoy Service."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.node.objects import (
    await_value,
    create,
    echo_deployment,
    get,
    ready_pods,
    service,
)
from tests.support.kube_cluster import REPO, KubeCluster
from tests.support.kube_node import LB_CIDR
from tests.support.node_cluster import NodeCluster

INSTALL = REPO / "manifests" / "install.yaml"
CONTROLLER_IMAGE = "ghcr.io/gateway-contour/gateway-contour"
NAMESPACE = "gateway-contour"
LOCAL_ENVOY = f"{NAMESPACE}/local-envoy"
CONTROLLERS = "app.kubernetes.io/name=gateway-contour"
GW_API = "/apis/gateway.networking.k8s.io/v1"


def overlay(directory: Path, controller_image: str, extra_args: tuple[str, ...] = ()) -> Path:
    """A kustomization over an unedited copy of install.yaml: the controller image (and the
    bootstrap image it gives the Envoy Pods) become the local one, and `serve` gets
    `extra_args` too. README documents it."""
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
                        },
                        # the Ingress/HTTPProxy fleet's Envoy image: the same ContourDeployment
                        *(
                            {
                                "op": "add",
                                "path": "/spec/template/spec/containers/0/args/-",
                                "value": v,
                            }
                            for v in ("--legacy-fleet-parameters", LOCAL_ENVOY, *extra_args)
                        ),
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


def install(node: NodeCluster, workdir: Path) -> None:
    """certgen, install.yaml through the overlay, the controllers rolled out, local-envoy.
    The controllers are told the load balancer stand-in's range, so a Gateway asking for a
    static address outside it is AddressNotUsable."""
    kubectl = node.node.kubectl
    certs = workdir / "certs.yaml"
    subprocess.run(
        [
            sys.executable, "-m", "gateway_contour.cli", "certgen",
            "--secrets", str(certs), "--dns-name", f"{NAMESPACE}.{NAMESPACE}.svc",
        ],
        check=True,
    )  # fmt: skip
    kubectl("create", "namespace", NAMESPACE)
    kubectl("apply", "-f", str(certs))
    image = node.images["gateway-contour"]
    extra = ("--load-balancer-address-range", LB_CIDR)
    kubectl("apply", "-k", str(overlay(workdir / "overlay", image, extra)))
    rollout_controllers(node)
    # The test Envoy image (upstream's stays the default), named by the overlay's GatewayClass.
    create(
        node.cluster,
        f"/apis/gateway-contour.dev/v1alpha1/namespaces/{NAMESPACE}/contourdeployments",
        {
            "apiVersion": "gateway-contour.dev/v1alpha1",
            "kind": "ContourDeployment",
            "metadata": {"name": LOCAL_ENVOY.partition("/")[2]},
            "spec": {"envoy": {"image": node.images["envoy"], "drainTimeoutSeconds": 5}},
        },
    )


def rollout_controllers(node: NodeCluster, replaced: set[str] | None = None) -> None:
    """Wait for the controller Deployment's rollout; with `replaced` (Pod names), also until
    none of those Pods exists any more (rollout status ends before they have terminated)."""
    node.node.kubectl(
        "-n", NAMESPACE, "rollout", "status", "deployment/gateway-contour", "--timeout=180s"
    )  # fmt: skip
    if replaced:
        await_value(
            "only new controller Pods",
            lambda: not pod_names(node, NAMESPACE, CONTROLLERS) & replaced,
        )


def pod_names(node: NodeCluster, namespace: str, selector: str) -> set[str]:
    _, pods = node.cluster.request(
        "GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector={selector}"
    )
    return {p["metadata"]["name"] for p in pods["items"]}


def restart_controllers(node: NodeCluster) -> None:
    """`kubectl rollout restart` of the controllers, waited for until no old Pod is left."""
    before = pod_names(node, NAMESPACE, CONTROLLERS)
    node.node.kubectl("-n", NAMESPACE, "rollout", "restart", "deployment/gateway-contour")
    rollout_controllers(node, replaced=before)


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind]
    return found[0] if found else {}


def gateway(cluster: KubeCluster, ns: str, name: str) -> dict[str, Any]:
    return dict(cluster.request("GET", f"{GW_API}/namespaces/{ns}/gateways/{name}")[1])


def create_gateway(cluster: KubeCluster, ns: str, name: str, class_name: str = NAMESPACE) -> None:
    create(
        cluster,
        f"{GW_API}/namespaces/{ns}/gateways",
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": name},
            "spec": {
                "gatewayClassName": class_name,
                "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
            },
        },
    )


def create_route(cluster: KubeCluster, ns: str, gateway_name: str, host: str) -> None:
    create(
        cluster,
        f"{GW_API}/namespaces/{ns}/httproutes",
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": host.partition(".")[0]},
            "spec": {
                "parentRefs": [{"name": gateway_name}],
                "hostnames": [host],
                "rules": [{"backendRefs": [{"name": "web", "port": 8080}]}],
            },
        },
    )


def answer(address: str, host: str) -> str | None:
    """The echo backend's name answering `host` through `address`, or None."""
    try:
        status, body = get(f"http://{address}/hello", host=host)
    except OSError:
        return None  # the Service has no ready endpoint yet
    return str(json.loads(body)["backend"]) if status == 200 else None


@dataclass(frozen=True)
class Served:
    namespace: str
    gateway: str
    address: str  # of the Envoy Service
    host: str  # the HTTPRoute's hostname
    backend: str  # the echo Pod that answered


def serve_gateway(node: NodeCluster, ns: str, name: str, host: str) -> Served:
    """Gateway `name` with an HTTPRoute for `host` to a Deployment `web`: returns once its
    Envoy Pod is Ready, the Gateway Programmed with an address, and `host` answers 200."""
    cluster = node.cluster
    labels = {"app": "web"}
    echo_deployment(cluster, ns, labels, node.images["gateway-contour"], replicas=1)
    service(cluster, ns, "web", labels, 8080)
    create_gateway(cluster, ns, name)
    create_route(cluster, ns, name, host)
    await_value(
        "a Ready Envoy Pod of the Gateway",
        lambda: ready_pods(cluster, ns, f"gateway.networking.k8s.io/gateway-name={name}"),
        timeout=120,
    )

    def programmed() -> dict[str, Any] | None:
        found = gateway(cluster, ns, name)
        ok = condition(found, "Programmed").get("status") == "True"
        return found if ok and found["status"].get("addresses") else None

    status = await_value("Gateway Programmed with an address", programmed)["status"]
    address = status["addresses"][0]["value"]
    backend = await_value("a 200 through the Envoy Service", lambda: answer(address, host), 60)
    return Served(ns, name, address, host, backend)


def route_accepted(node: NodeCluster, served: Served, name: str) -> bool:
    _, route = node.cluster.request(
        "GET", f"{GW_API}/namespaces/{served.namespace}/httproutes/{name}"
    )
    parents = (route.get("status") or {}).get("parents") or []
    return any(
        c["type"] == "Accepted" and c["status"] == "True"
        for p in parents
        for c in p.get("conditions") or []
    )


def a_new_route_serves(node: NodeCluster, served: Served, host: str) -> None:
    """A change made now is written to status and reaches traffic."""
    create_route(node.cluster, served.namespace, served.gateway, host)
    name = host.partition(".")[0]
    try:
        await_value(f"HTTPRoute {name} Accepted", lambda: route_accepted(node, served, name))
    except AssertionError as error:
        path = f"{GW_API}/namespaces/{served.namespace}/httproutes/{name}"
        raise AssertionError(f"{error}; {node.cluster.request('GET', path)[1]}") from None
    await_value(f"{host} answers", lambda: answer(served.address, host))
