"""The implicit Ingress/HTTPProxy fleet's Kubernetes objects: where they go (the fleet's
namespace, only when it exists), their shape (no owner, our label, Contour's 80/443 Service
ports), their parameters, and the Service address that becomes the Ingress status."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pytest

from gateway_contour.api import parameters as api
from gateway_contour.ir.model import IR, Gateway, Listener, Protocol
from gateway_contour.provisioner.kube.fleet import KubeFleet
from gateway_contour.provisioner.kube.implicit import (
    SWEPT,
    ImplicitFleetConfig,
    implicit_spec,
)
from gateway_contour.provisioner.kube.objects import (
    GATEWAY_NAME_LABEL,
    IMPLICIT_FLEET_LABEL,
    INSTALL_LABEL,
    ControllerEndpoint,
    fleet_objects,
)
from gateway_contour.provisioner.kube.parameters import DEFAULTS
from gateway_contour.store.objects import Snapshot

SECRET = {"data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5", "ca.crt": "Y2E="}}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "projectcontour"}}


def contour_deployment(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{api.GROUP}/{api.VERSION}",
        "kind": api.KIND,
        "metadata": {"namespace": "infra", "name": "ingress"},
        "spec": spec,
    }


def service(labels: dict[str, str], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "namespace": "projectcontour",
            "name": "gateway-contour-envoy",
            "labels": labels,
        },
        "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"]},
        "status": status or {},
    }


def test_nothing_is_provisioned_without_the_fleets_namespace() -> None:
    spec, problem = implicit_spec(ImplicitFleetConfig(), Snapshot.of([]))
    assert spec is None
    assert problem == "its namespace projectcontour does not exist; its Envoys are not provisioned"
    spec, problem = implicit_spec(ImplicitFleetConfig(fleet="contour"), Snapshot.of([NAMESPACE]))
    assert spec is None and problem == "the fleet name 'contour' is not namespace/name"


def test_objects_have_no_owner_carry_the_label_and_publish_80_and_443() -> None:
    spec, problem = implicit_spec(ImplicitFleetConfig(), Snapshot.of([NAMESPACE]))
    assert problem is None and spec is not None
    objs = {o["kind"]: o for o in fleet_objects(spec, ControllerEndpoint(), SECRET)}
    assert list(objs) == ["ServiceAccount", "Secret", "DaemonSet", "Service"]
    for kind, obj in objs.items():
        meta = obj["metadata"]
        assert meta["namespace"] == "projectcontour", kind
        assert meta["name"] == (
            "gateway-contour-envoy-xds" if kind == "Secret" else "gateway-contour-envoy"
        )
        assert "ownerReferences" not in meta, kind
        assert meta["labels"][IMPLICIT_FLEET_LABEL] == "contour", kind
        assert GATEWAY_NAME_LABEL not in meta["labels"], kind

    svc = objs["Service"]["spec"]
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in svc["ports"]] == [
        (80, 8080, "TCP"),
        (443, 8443, "TCP"),
    ]
    assert svc["type"] == "LoadBalancer"
    assert svc["selector"][IMPLICIT_FLEET_LABEL] == "contour"
    pod = objs["DaemonSet"]["spec"]["template"]["spec"]
    assert objs["DaemonSet"]["spec"]["selector"]["matchLabels"] == svc["selector"]
    assert pod["serviceAccountName"] == "gateway-contour-envoy"
    assert pod["volumes"][1]["secret"]["secretName"] == "gateway-contour-envoy-xds"
    # its Envoys identify as the fleet the translation names, and listen on 8080 and 8443
    # (8002: the ready listener of every Envoy Pod)
    assert pod["initContainers"][0]["args"][2:4] == ["--fleet", "projectcontour/contour"]
    assert [p["containerPort"] for p in pod["containers"][0]["ports"]] == [8080, 8443, 8002]


def test_other_fleet_name_and_ports() -> None:
    config = ImplicitFleetConfig(fleet="edge/legacy", http_port=9080, https_port=9443)
    ns = {**NAMESPACE, "metadata": {"name": "edge"}}
    spec, _ = implicit_spec(config, Snapshot.of([ns]))
    assert spec is not None
    svc = fleet_objects(spec, ControllerEndpoint(), SECRET)[-1]
    assert svc["metadata"]["namespace"] == "edge"
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(80, 9080), (443, 9443)]


def test_parameters_from_a_contour_deployment_or_the_defaults() -> None:
    config = ImplicitFleetConfig(parameters="infra/ingress")
    cd = contour_deployment(
        {"envoy": {"workloadType": "Deployment", "replicas": 3}, "service": {"type": "NodePort"}}
    )
    spec, problem = implicit_spec(config, Snapshot.of([NAMESPACE, cd]))
    assert problem is None and spec is not None
    objs = {o["kind"]: o for o in fleet_objects(spec, ControllerEndpoint(), SECRET)}
    assert objs["Deployment"]["spec"]["replicas"] == 3
    assert objs["Service"]["spec"]["type"] == "NodePort"

    spec, problem = implicit_spec(config, Snapshot.of([NAMESPACE]))
    assert spec is not None and spec.params == DEFAULTS
    assert problem == "ContourDeployment infra/ingress not found; provisioning with the defaults"


def test_wanted_while_the_ir_has_the_fleet() -> None:
    fleet = KubeFleet(client=None, credentials=None, controller_name="example.com/gc")  # type: ignore[arg-type]
    listener = Listener(name="ingress_http", address="0.0.0.0", port=8080, protocol=Protocol.HTTP)
    assert fleet.implicit.wanted(IR(gateways=(Gateway("projectcontour/contour", (listener,)),)))
    assert not fleet.implicit.wanted(IR(gateways=(Gateway("ns/gw", (listener,)),)))
    assert not fleet.implicit.wanted(IR())


def test_status_address_comes_from_our_service() -> None:
    fleet = KubeFleet(client=None, credentials=None, controller_name="example.com/gc")  # type: ignore[arg-type]
    ours = {IMPLICIT_FLEET_LABEL: "contour"}
    assert fleet.implicit_status_address(Snapshot.of([])) is None
    # a LoadBalancer Service: nothing until the balancer answers, then its address
    assert fleet.implicit_status_address(Snapshot.of([service(ours)])) is None
    node_port = service(ours)
    node_port["spec"]["type"] = "NodePort"
    assert fleet.implicit_status_address(Snapshot.of([node_port])) == "10.96.0.7"
    balanced = service(ours, {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}})
    assert fleet.implicit_status_address(Snapshot.of([balanced])) == "lb.example.com"
    # a Service of that name we did not make is not the fleet's
    assert fleet.implicit_status_address(Snapshot.of([service({})])) is None


def test_sweep_removes_workloads_before_what_their_pods_use() -> None:
    kinds = [kind for _, kind in SWEPT]
    assert set(kinds) == {"DaemonSet", "Deployment", "Service", "Secret", "ServiceAccount"}
    assert max(kinds.index("DaemonSet"), kinds.index("Deployment")) < min(
        kinds.index("Secret"), kinds.index("ServiceAccount")
    )


async def test_a_missing_namespace_is_logged_once_and_nothing_is_applied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fleet = KubeFleet(client=None, credentials=None, controller_name="example.com/gc")  # type: ignore[arg-type]
    # what was made is "nothing" already: a reconcile that makes nothing sends no request
    fleet.implicit.digest = hashlib.sha256(b"[]").hexdigest()
    listener = Listener(name="ingress_http", address="0.0.0.0", port=8080, protocol=Protocol.HTTP)
    ir = IR(gateways=(Gateway("projectcontour/contour", (listener,)),))
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert await fleet.implicit.reconcile(Snapshot.of([]), ir, None)  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records] == [
        "the Ingress/HTTPProxy fleet projectcontour/contour: its namespace projectcontour does "
        "not exist; its Envoys are not provisioned"
    ]


def test_each_install_labels_its_objects_but_never_a_selector() -> None:
    world = Snapshot.of([NAMESPACE])
    rendered = []
    for controller in ("example.com/a", "example.com/b"):
        config = ImplicitFleetConfig(controller_name=controller)
        spec, _ = implicit_spec(config, world)
        assert spec is not None
        objects = fleet_objects(spec, ControllerEndpoint(), SECRET)
        values = {obj["metadata"]["labels"][INSTALL_LABEL] for obj in objects}
        assert len(values) == 1
        assert f"{INSTALL_LABEL}={values.pop()}" in config.selector
        for obj in objects:
            selector = obj["spec"].get("selector") if isinstance(obj.get("spec"), dict) else None
            if isinstance(selector, dict):
                assert INSTALL_LABEL not in selector.get("matchLabels", selector)
        rendered.append(objects[0]["metadata"]["labels"][INSTALL_LABEL])
    assert rendered[0] != rendered[1]
