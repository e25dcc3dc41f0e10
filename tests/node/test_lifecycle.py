"""Lifecycle on the real node, each event under a request loop (tests/node/traffic.py) that
counts every response other than 200: the leader controller Pod deleted, the Envoy
DaemonSet rolled, the controller Deployment rolled, and a Gateway whose ContourDeployment
names an image that does not exist."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.node.install import (
    CONTROLLERS,
    GW_API,
    NAMESPACE,
    Served,
    a_new_route_serves,
    condition,
    create_gateway,
    gateway,
    pod_names,
    restart_controllers,
    rollout_controllers,
    serve_gateway,
)
from tests.node.objects import await_value, create, fresh_namespace, ready_pods
from tests.node.traffic import Traffic
from tests.support.node_cluster import NodeCluster

ENVOYS = "gateway.networking.k8s.io/gateway-name=edge"


@pytest.fixture(scope="module")
def edge(installed: NodeCluster) -> Iterator[Served]:
    yield serve_gateway(installed, fresh_namespace(installed.cluster), "edge", "edge.example")


def leader(node: NodeCluster) -> str:
    """The Pod holding the leader Lease (its identity is `<hostname>-<pid>`), or ''."""
    _, lease = node.cluster.request(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/gateway-contour-leader"
    )
    holder = str((lease.get("spec") or {}).get("holderIdentity") or "")
    return holder.rpartition("-")[0]


def test_deleting_the_leader_pod(installed: NodeCluster, edge: Served) -> None:
    first = await_value("a leader", lambda: leader(installed))
    with Traffic(edge.address, edge.host) as traffic:
        installed.node.kubectl("-n", NAMESPACE, "delete", "pod", first, "--wait=false")
        second = await_value(
            "another replica leads",
            lambda: (lambda now: now if now and now != first else None)(leader(installed)),
        )
        a_new_route_serves(installed, edge, f"after-{uuid.uuid4().hex[:6]}.example")
        rollout_controllers(installed)
        traffic.more(20)
    assert second in pod_names(installed, NAMESPACE, CONTROLLERS)
    assert traffic.failures() == {}, traffic.outcomes
    assert traffic.sent > 50


def test_rolling_the_envoy_daemonset_drains_first(installed: NodeCluster, edge: Served) -> None:
    before = pod_names(installed, edge.namespace, ENVOYS)
    roll = json.dumps({"spec": {"infrastructure": {"annotations": {"roll": uuid.uuid4().hex}}}})
    with Traffic(edge.address, edge.host) as traffic:
        installed.node.kubectl(
            "-n", edge.namespace, "patch", "gateway", edge.gateway, "--type=merge", "-p", roll
        )  # fmt: skip
        await_value(
            "only new Envoy Pods, Ready",
            lambda: (
                (now := pod_names(installed, edge.namespace, ENVOYS))
                and not now & before
                and len(ready_pods(installed.cluster, edge.namespace, ENVOYS)) == len(now)
            ),
            timeout=120,
        )
        traffic.more(20)
    assert traffic.failures() == {}, traffic.outcomes
    assert traffic.sent > 50


def test_rolling_the_controller_deployment(installed: NodeCluster, edge: Served) -> None:
    with Traffic(edge.address, edge.host) as traffic:
        restart_controllers(installed)
        a_new_route_serves(installed, edge, f"rolled-{uuid.uuid4().hex[:6]}.example")
        traffic.more(20)
    # no window with an empty or partial configuration: no 404, no 503, nothing refused
    assert traffic.failures() == {}, traffic.outcomes
    assert traffic.sent > 50


def test_a_missing_envoy_image_is_not_programmed(installed: NodeCluster, edge: Served) -> None:
    cluster = installed.cluster
    create(
        cluster,
        f"/apis/gateway-contour.dev/v1alpha1/namespaces/{NAMESPACE}/contourdeployments",
        {
            "apiVersion": "gateway-contour.dev/v1alpha1",
            "kind": "ContourDeployment",
            "metadata": {"name": "missing-image"},
            "spec": {"envoy": {"image": "gateway-contour.invalid/no-such-envoy:0"}},
        },
    )
    _, ours = cluster.request("GET", f"{GW_API}/gatewayclasses/{NAMESPACE}")
    create(
        cluster,
        f"{GW_API}/gatewayclasses",
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "missing-image"},
            "spec": {
                "controllerName": ours["spec"]["controllerName"],
                "parametersRef": {
                    "group": "gateway-contour.dev",
                    "kind": "ContourDeployment",
                    "namespace": NAMESPACE,
                    "name": "missing-image",
                },
            },
        },
    )
    ns = fresh_namespace(cluster)
    with Traffic(edge.address, edge.host) as traffic:
        create_gateway(cluster, ns, "broken", class_name="missing-image")
        programmed = await_value(
            "Programmed False on the Gateway whose image is missing",
            lambda: (
                found
                if (found := condition(gateway(cluster, ns, "broken"), "Programmed")).get("reason")
                == "NoResources"
                else None
            ),
            timeout=120,
        )
        traffic.more(20)
    print(f"Programmed of the Gateway with a missing image: {programmed}")
    assert programmed["status"] == "False"
    assert "no-such-envoy" in programmed["message"] or "ImagePull" in programmed["message"]
    assert "envoy-broken-" in programmed["message"]
    assert traffic.failures() == {}, traffic.outcomes
