"""The real API server from the `kube` fixture behaves like a cluster: the Gateway API CRDs are
installed and default what they should, status is a subresource, watches resume from a
resourceVersion, and a compacted resourceVersion is 410 Gone."""

from __future__ import annotations

import asyncio

import pytest
from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.core_v1 import ConfigMap, Pod
from lightkube.types import PatchType

from tests.support.kube_cluster import KubeCluster

GROUP, VERSION = "gateway.networking.k8s.io", "v1"
GatewayClass = create_global_resource(GROUP, VERSION, "GatewayClass", "gatewayclasses")
Gateway = create_namespaced_resource(GROUP, VERSION, "Gateway", "gateways")
HTTPRoute = create_namespaced_resource(GROUP, VERSION, "HTTPRoute", "httproutes")

CONTROLLER_NAME = "gateway-contour.io/test"


async def test_server_version_is_the_pinned_release(kube: KubeCluster) -> None:
    status, version = kube.request("GET", "/version")
    assert status == 200
    assert version["gitVersion"] == kube.binaries.kube_version


async def test_gateway_api_crds_carry_the_bundle_annotations(kube: KubeCluster) -> None:
    status, crd = kube.request(
        "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/httproutes." + GROUP
    )
    assert status == 200
    annotations = crd["metadata"]["annotations"]
    assert annotations["gateway.networking.k8s.io/bundle-version"] == (
        kube.binaries.gateway_api_version
    )
    assert annotations["gateway.networking.k8s.io/channel"] == "experimental"


async def test_gateway_objects_round_trip_with_defaults_status_and_watch(
    client: AsyncClient, namespace: str
) -> None:
    class_name = f"contour-{namespace}"
    await client.create(
        GatewayClass(metadata=ObjectMeta(name=class_name), spec={"controllerName": CONTROLLER_NAME})
    )
    gateway = await client.create(
        Gateway(
            metadata=ObjectMeta(name="gw", namespace=namespace),
            spec={
                "gatewayClassName": class_name,
                "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
            },
        )
    )
    route = await client.create(
        HTTPRoute(
            metadata=ObjectMeta(name="route", namespace=namespace),
            spec={
                "parentRefs": [{"name": "gw"}],
                "rules": [{"backendRefs": [{"name": "echo", "port": 8080}]}],
            },
        )
    )

    # Defaults come from the CRDs' OpenAPI schemas, applied by the API server on create.
    gateway = await client.get(Gateway, "gw", namespace=namespace)
    assert gateway.spec["listeners"][0]["allowedRoutes"] == {"namespaces": {"from": "Same"}}
    route = await client.get(HTTPRoute, "route", namespace=namespace)
    rule = route.spec["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert rule["backendRefs"][0]["weight"] == 1
    assert route.spec["parentRefs"][0]["group"] == GROUP
    assert route.spec["parentRefs"][0]["kind"] == "Gateway"
    gateway_class = await client.get(GatewayClass, class_name)
    assert gateway_class.status["conditions"][0]["reason"] == "Pending"  # schema default

    # Status is a subresource: writing it leaves spec and generation alone.
    created_version = gateway.metadata.resourceVersion
    condition = {
        "type": "Accepted",
        "status": "True",
        "reason": "Accepted",
        "message": "test",
        "observedGeneration": gateway.metadata.generation,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    patched = await client.patch(
        Gateway.Status,
        "gw",
        {"status": {"conditions": [condition]}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )
    assert patched.status["conditions"] == [condition]
    assert patched.metadata.generation == gateway.metadata.generation
    assert patched.spec == gateway.spec

    # A watch from the version before the status write replays that write.
    async with asyncio.timeout(10):
        async for event, obj in client.watch(
            Gateway, namespace=namespace, resource_version=created_version
        ):
            assert (event, obj.metadata.name) == ("MODIFIED", "gw")
            assert obj.status["conditions"] == [condition]
            break

    await client.delete(GatewayClass, class_name)


async def _write_history(client: AsyncClient, namespace: str) -> str:
    """Create a ConfigMap and change it three times; return its first resourceVersion."""
    config_map = await client.create(
        ConfigMap(metadata=ObjectMeta(name="cm", namespace=namespace), data={"n": "0"})
    )
    for n in range(1, 4):
        await client.patch(
            ConfigMap,
            "cm",
            {"data": {"n": str(n)}},
            namespace=namespace,
            patch_type=PatchType.MERGE,
        )
    return str(config_map.metadata.resourceVersion)


async def _first_event(client: AsyncClient, namespace: str, resource_version: str) -> str:
    async with asyncio.timeout(10):
        async for event, obj in client.watch(
            ConfigMap, namespace=namespace, resource_version=resource_version
        ):
            return f"{event} {obj.data['n']}"
    raise AssertionError("the watch ended without an event")


async def test_watch_from_a_compacted_resource_version_is_gone(
    kube: KubeCluster, client: AsyncClient, namespace: str
) -> None:
    # Watches served from etcd itself, as when a resourceVersion is older than the watch
    # cache's window in a busy cluster.
    kube.restart_apiserver(extra_args=["--watch-cache=false"])
    try:
        old_version = await _write_history(client, namespace)
        assert await _first_event(client, namespace, old_version) == "MODIFIED 1"

        assert kube.compact_etcd() > int(old_version)
        with pytest.raises(ApiError) as gone:
            await _first_event(client, namespace, old_version)
        assert gone.value.status.code == 410
    finally:
        kube.restart_apiserver(extra_args=[])


async def test_watch_cache_forgets_history_when_the_apiserver_restarts(
    kube: KubeCluster, client: AsyncClient, namespace: str
) -> None:
    old_version = await _write_history(client, namespace)
    assert await _first_event(client, namespace, old_version) == "MODIFIED 1"

    kube.restart_apiserver()
    with pytest.raises(ApiError) as gone:
        await _first_event(client, namespace, old_version)
    assert gone.value.status.code == 410


async def test_controller_manager_turns_a_deployment_into_pods(
    kube: KubeCluster, client: AsyncClient, namespace: str
) -> None:
    kube.start_controller_manager()
    try:
        labels = {"app": "echo"}
        await client.create(
            Deployment(
                metadata=ObjectMeta(name="echo", namespace=namespace),
                spec=DeploymentSpec(
                    replicas=2,
                    selector=LabelSelector(matchLabels=labels),
                    template=PodTemplateSpec(
                        metadata=ObjectMeta(labels=labels),
                        spec=PodSpec(containers=[Container(name="echo", image="echo")]),
                    ),
                ),
            )
        )
        async with asyncio.timeout(30):
            while True:
                replica_sets = [rs async for rs in client.list(ReplicaSet, namespace=namespace)]
                pods = [pod async for pod in client.list(Pod, namespace=namespace)]
                if replica_sets and len(pods) == 2:
                    break
                await asyncio.sleep(0.2)
        # No scheduler or kubelet: the Pods exist but stay Pending on no node.
        assert {pod.status.phase for pod in pods} == {"Pending"}
    finally:
        kube.stop_controller_manager()
