"""A Gateway's own ContourDeployment (spec.infrastructure.parametersRef): read, used for its
fleet in place of its class's, and a change of it a change of the fleet's rendering; an
unusable one leaves the fleet with its class's parameters."""

from __future__ import annotations

from typing import Any

from gateway_contour.api import parameters as api
from gateway_contour.api.contour_deployment import FleetParameters, parameters_of_gateway
from gateway_contour.provisioner.kube.fleet import KubeFleet, _digest
from gateway_contour.provisioner.kube.objects import fleet_objects
from gateway_contour.store.objects import Snapshot
from tests.unit.provisioner.test_kube_rendering import contour_deployment, gateway_class

SECRET = {"data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5", "ca.crt": "Y2E="}}
CLASS_REF = {"group": api.GROUP, "kind": api.KIND, "namespace": "infra", "name": "class-wide"}
CLASS_PARAMS = contour_deployment(
    "infra",
    "class-wide",
    {"envoy": {"workloadType": "Deployment", "replicas": 3}, "service": {"type": "NodePort"}},
)


def gateway(ref: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "gatewayClassName": "ours",
        "listeners": [{"name": "h", "port": 80, "protocol": "HTTP"}],
    }
    if ref is not None:
        spec["infrastructure"] = {"parametersRef": ref}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"namespace": "ns", "name": "gw", "uid": "u"},
        "spec": spec,
    }


def own(name: str, group: str = api.GROUP, kind: str = api.KIND) -> dict[str, Any]:
    return {"group": group, "kind": kind, "name": name}


def fleet_params(objects: list[dict[str, Any]]) -> FleetParameters:
    fleet = KubeFleet(client=None, credentials=None, controller_name="example.com/gc")  # type: ignore[arg-type]
    snapshot = Snapshot.of([gateway_class("ours", CLASS_REF), CLASS_PARAMS, *objects])
    return fleet.desired(snapshot, None)["ns/gw"].params


def test_reading_a_gateways_reference() -> None:
    mine = contour_deployment("ns", "mine", {"envoy": {"logLevel": "debug"}})
    snapshot = Snapshot.of([mine, contour_deployment("other", "theirs", {})])
    assert parameters_of_gateway(gateway(), snapshot) == (None, None)
    params, problem = parameters_of_gateway(gateway(own("mine")), snapshot)
    assert problem is None and params is not None and params.log_level == "debug"
    named = f"infrastructure.parametersRef {api.GROUP}/{api.KIND}"
    # the name is looked up in the Gateway's namespace only
    assert parameters_of_gateway(gateway(own("theirs")), snapshot) == (
        None,
        f"{named} theirs: ContourDeployment ns/theirs not found",
    )
    assert parameters_of_gateway(gateway(own("mine", group="", kind="ConfigMap")), snapshot) == (
        None,
        f"infrastructure.parametersRef /ConfigMap mine: must name a {api.GROUP} {api.KIND}",
    )
    bad = contour_deployment("ns", "bad", {"envoy": {"replicas": -1, "logLevel": "debug"}})
    params, problem = parameters_of_gateway(gateway(own("bad")), Snapshot.of([bad]))
    assert params is None
    assert problem == f"{named} bad: ContourDeployment ns/bad: spec.envoy.replicas must be a " + (
        "non-negative integer"
    )


def test_a_gateways_parameters_replace_its_classs_entirely() -> None:
    assert fleet_params([gateway()]).workload_type == "Deployment"
    assert fleet_params([gateway()]).service_type == "NodePort"
    mine = contour_deployment("ns", "mine", {"envoy": {"logLevel": "debug"}})
    params = fleet_params([gateway(own("mine")), mine])
    # nothing is merged over the class's: what the Gateway's leaves out has the defaults
    assert params == FleetParameters(log_level="debug")


def test_an_unusable_reference_keeps_the_classs_parameters() -> None:
    class_wide = fleet_params([gateway()])
    assert class_wide.replicas == 3
    bad = contour_deployment("ns", "bad", {"envoy": {"replicas": -1, "logLevel": "debug"}})
    assert fleet_params([gateway(own("bad")), bad]) == class_wide
    assert fleet_params([gateway(own("missing"))]) == class_wide
    assert fleet_params([gateway(own("class-wide", kind="Other"))]) == class_wide


def test_a_change_of_the_gateways_parameters_changes_the_rendering() -> None:
    def digest(spec: dict[str, Any]) -> str:
        fleet = KubeFleet(client=None, credentials=None, controller_name="example.com/gc")  # type: ignore[arg-type]
        objects = [
            gateway_class("ours"),
            gateway(own("mine")),
            contour_deployment("ns", "mine", spec),
        ]
        desired = fleet.desired(Snapshot.of(objects), None)["ns/gw"]
        return _digest(fleet_objects(desired, fleet.controller, SECRET))

    assert digest({}) == digest({})
    assert digest({}) != digest({"envoy": {"workloadType": "Deployment"}})
    assert digest({"envoy": {"image": "a/envoy:1"}}) != digest({"envoy": {"image": "a/envoy:2"}})
