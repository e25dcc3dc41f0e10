"""Pods on the real node: scheduled by kube-scheduler, run by the kubelet through containerd
and runc, on the CNI bridge, behind a Service that kube-proxy programs; readiness gates
traffic. Requests come from this namespace, as from a host on the node's network."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from typing import Any

from tests.node.conftest import NodeCluster
from tests.support.kube_cluster import KubeCluster

TIMEOUT = 90.0


def create(cluster: KubeCluster, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, created = cluster.request("POST", path, body)
    assert status == 201, f"POST {path}: {status} {created}"
    return dict(created)


def await_value(what: str, probe: Any, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what}: not after {timeout} s (last: {last})")


def fresh_namespace(cluster: KubeCluster) -> str:
    name = f"node-{uuid.uuid4().hex[:8]}"
    create(cluster, "/api/v1/namespaces", {"metadata": {"name": name}})
    # Pods need the namespace's default ServiceAccount (kube-controller-manager makes it).
    await_value(
        "default ServiceAccount",
        lambda: (
            cluster.request("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")[0] == 200
        ),
    )
    return name


def echo_pod_spec(image: str, readiness_port: int = 8080) -> dict[str, Any]:
    return {
        "containers": [
            {
                "name": "echo",
                "image": image,
                "imagePullPolicy": "Never",
                "command": ["python3", "-m", "gateway_contour.demo.echo"],
                "args": ["--name", "$(POD_NAME)", "--host", "0.0.0.0", "--port", "8080"],
                "env": [
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                ],
                "ports": [{"containerPort": 8080, "name": "http"}],
                "readinessProbe": {
                    "tcpSocket": {"port": readiness_port},
                    "periodSeconds": 1,
                },
                "securityContext": {
                    "runAsNonRoot": True,
                    "readOnlyRootFilesystem": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ]
    }


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_deployment_behind_a_service_answers_from_every_ready_pod(node: NodeCluster) -> None:
    cluster = node.cluster
    ns = fresh_namespace(cluster)
    labels = {"app": "echo"}
    create(
        cluster,
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        {
            "metadata": {"name": "echo"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": echo_pod_spec(node.images["gateway-contour"]),
                },
            },
        },
    )
    # A Pod of the same Service whose readiness probe can never pass: it must get no traffic.
    create(
        cluster,
        f"/api/v1/namespaces/{ns}/pods",
        {
            "metadata": {"name": "never-ready", "labels": labels},
            "spec": echo_pod_spec(node.images["gateway-contour"], readiness_port=9999),
        },
    )
    service = create(
        cluster,
        f"/api/v1/namespaces/{ns}/services",
        {
            "metadata": {"name": "echo"},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]},
        },
    )
    cluster_ip = service["spec"]["clusterIP"]

    def ready_pods() -> list[str]:
        _, pods = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods")
        ready = [p["metadata"]["name"] for p in pods["items"] if pod_ready(p)]
        return ready if len(ready) == 2 else []

    ready = await_value("two ready echo Pods", ready_pods)
    assert "never-ready" not in ready
    _, stray = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/never-ready")
    assert stray["status"]["phase"] == "Running" and not pod_ready(stray)
    assert stray["spec"]["nodeName"] == "node-1"  # the real scheduler bound it

    await_value("the ClusterIP answers", lambda: get(f"http://{cluster_ip}/")[0] == 200)
    answered: Counter[str] = Counter()
    for _ in range(60):
        status, body = get(f"http://{cluster_ip}/where")
        assert status == 200
        answered[json.loads(body)["backend"]] += 1
    # kube-proxy picks an endpoint at random: 60 requests reach both ready Pods (a miss has a
    # chance of 2^-59) and never the one that is not Ready.
    assert set(answered) == set(ready), answered


def test_pods_resolve_services_through_cluster_dns(node: NodeCluster) -> None:
    """CoreDNS answers a Pod's query for a Service name with its ClusterIP (what a
    provisioned Envoy does to find the controller)."""
    cluster = node.cluster
    ns = fresh_namespace(cluster)
    service = create(
        cluster,
        f"/api/v1/namespaces/{ns}/services",
        {"metadata": {"name": "target"}, "spec": {"ports": [{"port": 80}]}},
    )
    script = (
        "import socket, sys; "
        f"sys.exit(socket.gethostbyname('target.{ns}.svc') != '{service['spec']['clusterIP']}')"
    )
    for name, host_ok in (("resolve", True), ("resolve-missing", False)):
        code = script if host_ok else script.replace("target.", "missing.")
        create(
            cluster,
            f"/api/v1/namespaces/{ns}/pods",
            {
                "metadata": {"name": name},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "resolve",
                            "image": node.images["gateway-contour"],
                            "imagePullPolicy": "Never",
                            "command": ["python3", "-c", code],
                        }
                    ],
                },
            },
        )

    def phase(name: str) -> str | None:
        _, pod = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
        value = (pod.get("status") or {}).get("phase")
        return value if value in ("Succeeded", "Failed") else None

    assert await_value("the resolving Pod ends", lambda: phase("resolve")) == "Succeeded"
    # the same lookup of a name that does not exist fails: the check can fail
    assert await_value("the other Pod ends", lambda: phase("resolve-missing")) == "Failed"
