"""A Gateway whose Envoy Pods cannot start says why in Programmed (provisioner/kube/health)."""

from __future__ import annotations

from typing import Any

from gateway_contour.provisioner.kube.fleet import KubeFleet
from gateway_contour.provisioner.kube.health import fleet_problem, pod_problem
from gateway_contour.provisioner.kube.objects import fleet_selector
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import ObjectKey, Snapshot
from gateway_contour.store.store import Store

PULL_ERROR = 'failed to pull "nope:1": not found'


def pod(name: str, *, ready: bool = False, waiting: str | None = None, **extra: Any) -> Any:
    state = {"waiting": {"reason": waiting, "message": PULL_ERROR}} if waiting else {"running": {}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": "ns", "name": name, "labels": fleet_selector("gw")},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "envoy", "ready": ready, "state": state}],
            **extra,
        },
    }


def test_stuck_pods_are_told_from_starting_ones() -> None:
    assert pod_problem(pod("a", waiting="ContainerCreating")) is None
    assert pod_problem(pod("a")) is None
    assert pod_problem(pod("a", waiting="ImagePullBackOff")) == (
        f"container envoy: ImagePullBackOff: {PULL_ERROR}"
    )
    unschedulable = pod(
        "a",
        conditions=[
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1"}
        ],
    )
    assert pod_problem(unschedulable) == "unschedulable: 0/1"
    init = pod("a")
    init["status"]["initContainerStatuses"] = [
        {"name": "bootstrap", "state": {"waiting": {"reason": "ErrImagePull"}}}
    ]
    assert pod_problem(init) == "container bootstrap: ErrImagePull"


def test_one_ready_envoy_is_enough() -> None:
    stuck = pod("b", waiting="ErrImagePull")
    assert fleet_problem([stuck, pod("a", ready=True)]) is None
    assert fleet_problem([pod("a", waiting="ContainerCreating")]) is None
    assert fleet_problem([]) is None
    assert fleet_problem([stuck]) == (
        f"no Envoy of the Gateway is ready: Pod b, container envoy: ErrImagePull: {PULL_ERROR}"
    )


def programmed(fleet: KubeFleet, pods: list[Any]) -> dict[str, Any]:
    report = StatusReport()
    condition = {"type": "Programmed", "status": "True", "reason": "Programmed", "message": ""}
    report.set(ObjectKey("Gateway", "ns", "gw"), {"conditions": [condition]})
    fleet.amend_report(report, Snapshot.of(pods))
    status = report.statuses[ObjectKey("Gateway", "ns", "gw")]
    assert status["addresses"] == [{"type": "IPAddress", "value": "10.0.0.9"}]
    return dict(status["conditions"][0])


def test_a_gateway_with_only_stuck_envoys_is_not_programmed() -> None:
    fleet = KubeFleet(client=None, credentials=None, controller_name="example.com/gc")  # type: ignore[arg-type]
    fleet.wanted = {"ns/gw"}
    fleet.addresses["ns/gw"] = (("IPAddress", "10.0.0.9"),)
    stuck = pod("envoy-gw-1", waiting="ErrImagePull")
    assert programmed(fleet, [stuck]) == {
        "type": "Programmed",
        "status": "False",
        "reason": "NoResources",
        "message": "no Envoy of the Gateway is ready: Pod envoy-gw-1, container envoy: "
        f"ErrImagePull: {PULL_ERROR}",
    }
    assert programmed(fleet, [stuck, pod("envoy-gw-0", ready=True)])["status"] == "True"
    elsewhere = {**stuck, "metadata": {**stuck["metadata"], "labels": fleet_selector("other")}}
    assert programmed(fleet, [elsewhere])["status"] == "True"


def test_pod_status_changes_that_matter_reach_a_rebuild() -> None:
    store = Store()
    store.apply(pod("a", waiting="ContainerCreating"))
    heartbeat = pod("a", waiting="ContainerCreating")
    heartbeat["status"]["conditions"][0]["lastProbeTime"] = "2026-12-07T10:00:00Z"
    heartbeat["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = "again"
    assert not store.apply(heartbeat)
    assert store.apply(pod("a", waiting="ErrImagePull"))
    assert store.apply(pod("a", ready=True))
