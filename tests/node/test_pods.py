"""Pods on the real node: scheduled by kube-scheduler, run by the kubelet through containerd
and runc, on the CNI bridge, behind a Service that kube-proxy programs; readiness gates
traffic. Requests come from this namespace, as from a host on the node's network."""

from __future__ import annotations

import json
from collections import Counter

from tests.node.objects import (
    await_value,
    create,
    echo_deployment,
    echo_pod_spec,
    fresh_namespace,
    get,
    pod_ready,
    ready_pods,
    service,
    status_of,
)
from tests.support.node_cluster import NodeCluster


def test_deployment_behind_a_service_answers_from_every_ready_pod(node: NodeCluster) -> None:
    cluster = node.cluster
    ns = fresh_namespace(cluster)
    labels = {"app": "echo"}
    echo_deployment(cluster, ns, labels, node.images["gateway-contour"], replicas=2)
    # A Pod of the same Service whose readiness probe can never pass: it must get no traffic.
    create(
        cluster,
        f"/api/v1/namespaces/{ns}/pods",
        {
            "metadata": {"name": "never-ready", "labels": labels},
            "spec": echo_pod_spec(node.images["gateway-contour"], readiness_port=9999),
        },
    )
    echo = service(cluster, ns, "echo", labels, 80)
    cluster_ip = echo["spec"]["clusterIP"]

    def two_ready() -> list[str]:
        ready = [p["metadata"]["name"] for p in ready_pods(cluster, ns)]
        return ready if len(ready) == 2 else []

    ready = await_value("two ready echo Pods", two_ready)
    assert "never-ready" not in ready
    _, stray = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/never-ready")
    assert stray["status"]["phase"] == "Running" and not pod_ready(stray)
    assert stray["spec"]["nodeName"] == "node-1"  # the real scheduler bound it

    await_value("the ClusterIP answers", lambda: status_of(f"http://{cluster_ip}/") == 200)
    answered: Counter[str] = Counter()

    def every_ready_pod_answered() -> bool:
        # kube-proxy learns the second Pod's endpoint a little after the Pod turns Ready (the
        # EndpointSlice controller, then kube-proxy's sync): keep asking until both have
        # answered, counting every answer, so the never-ready Pod is caught if it ever answers.
        for _ in range(20):
            status, body = get(f"http://{cluster_ip}/where")
            assert status == 200
            answered[json.loads(body)["backend"]] += 1
        return set(answered) >= set(ready)

    await_value("both ready Pods answer through the ClusterIP", every_ready_pod_answered)
    # kube-proxy picks an endpoint at random; the Pod that is not Ready never answers.
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
