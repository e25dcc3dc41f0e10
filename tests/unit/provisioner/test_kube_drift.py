"""What someone else does to a provisioned object is noticed from the watched copies
(provisioner/kube/drift.py), and every provisioned object is one those watches select."""

from __future__ import annotations

from typing import Any

import pytest

from gateway_contour.providers.kubernetes.discovery import PROVISIONED, PROVISIONED_SELECTOR
from gateway_contour.provisioner.kube.drift import AppliedObjects
from gateway_contour.provisioner.kube.objects import ControllerEndpoint, FleetSpec, fleet_objects
from gateway_contour.provisioner.kube.parameters import FleetParameters
from gateway_contour.store.objects import Snapshot

SECRET = {"data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5", "ca.crt": "Y2E="}}


def daemon_set(generation: int | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": "edge", "name": "envoy-web"}
    if generation is not None:
        meta["generation"] = generation
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta}


def world(*objects: dict[str, Any]) -> Snapshot:
    return Snapshot.of(list(objects))


def test_a_missing_object_is_applied_again() -> None:
    applied = AppliedObjects()
    applied.note(daemon_set(2))
    assert applied.changed_by_others(world(daemon_set(2))) is None
    # deleted, or not delivered by the watch yet: applying again is right either way
    assert applied.changed_by_others(world()) == "DaemonSet edge/envoy-web is missing"


def test_a_newer_generation_is_someone_elses_change_an_older_one_is_lag() -> None:
    applied = AppliedObjects()
    applied.note(daemon_set(3))
    assert applied.changed_by_others(world(daemon_set(2))) is None
    assert applied.changed_by_others(world(daemon_set(3))) is None
    assert applied.changed_by_others(world(daemon_set(4))) == (
        "DaemonSet edge/envoy-web was changed (generation 4)"
    )


def test_kinds_without_generation_are_checked_for_presence_only() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"namespace": "edge"}}
    service["metadata"]["name"] = "envoy-web"
    applied = AppliedObjects()
    applied.note(service)
    changed = {**service, "metadata": {**service["metadata"], "generation": 9}}
    assert applied.changed_by_others(world(changed)) is None
    assert applied.changed_by_others(world()) == "Service edge/envoy-web is missing"


@pytest.mark.parametrize("workload", ["DaemonSet", "Deployment"])
@pytest.mark.parametrize("implicit", [False, True])
def test_every_provisioned_object_is_one_the_controller_watches(
    workload: str, implicit: bool
) -> None:
    spec = FleetSpec(
        namespace="edge",
        name="web",
        uid="u1",
        ports=((80, "TCP"),),
        labels=(("team", "a"),),
        params=FleetParameters(workload_type=workload),
        implicit=implicit,
    )
    key, _, value = PROVISIONED_SELECTOR.partition("=")
    watched = {k for kinds in PROVISIONED.values() for k in kinds} | {"Service", "Secret"}
    for obj in fleet_objects(spec, ControllerEndpoint(), SECRET):
        assert obj["kind"] in watched
        assert obj["metadata"]["labels"][key] == value, obj["kind"]
