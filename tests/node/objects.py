"""What the node tier's tests create and wait for: objects through the API server as admin,
the echo backend (gateway_contour.demo.echo in the controller image) as Pods, and plain HTTP
requests from this namespace."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from typing import Any

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


def get(url: str, host: str | None = None) -> tuple[int, str]:
    """(status, body) of a GET; raises OSError when nothing answers."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def status_of(url: str) -> int | None:
    """The status a GET of `url` answers, or None while nothing answers (kube-proxy has not
    programmed a new Service's address yet: the connection times out)."""
    try:
        return get(url)[0]
    except OSError:
        return None


def ready_pods(cluster: KubeCluster, namespace: str, selector: str = "") -> list[dict[str, Any]]:
    query = f"?labelSelector={selector}" if selector else ""
    _, pods = cluster.request("GET", f"/api/v1/namespaces/{namespace}/pods{query}")
    return [p for p in pods.get("items", []) if pod_ready(p)]


def echo_deployment(
    cluster: KubeCluster, namespace: str, labels: dict[str, str], image: str, replicas: int
) -> None:
    """A Deployment of echo Pods named after the value of its first label."""
    create(
        cluster,
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        {
            "metadata": {"name": next(iter(labels.values()))},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": echo_pod_spec(image)},
            },
        },
    )


def service(
    cluster: KubeCluster, namespace: str, name: str, labels: dict[str, str], port: int
) -> dict[str, Any]:
    """A ClusterIP Service on `port` to the Pods' `http` port."""
    return create(
        cluster,
        f"/api/v1/namespaces/{namespace}/services",
        {
            "metadata": {"name": name},
            "spec": {"selector": labels, "ports": [{"port": port, "targetPort": "http"}]},
        },
    )
