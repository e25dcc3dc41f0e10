"""Status merging: timestamps kept while a condition holds, other controllers left alone,
no write when nothing changes."""

from __future__ import annotations

from gateway_contour.status.merge import merge_status

ME = "gateway-contour.dev/gateway-controller"
T0, T1 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"


def cond(type_: str, status: str, reason: str = "R", gen: int = 1) -> dict:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": "",
        "observedGeneration": gen,
    }


def test_gateway_condition_times_kept_while_status_holds() -> None:
    desired = {
        "conditions": [cond("Accepted", "True"), cond("Programmed", "True")],
        "listeners": [
            {"name": "http", "attachedRoutes": 1, "conditions": [cond("Accepted", "True")]}
        ],
    }
    first = merge_status("Gateway", desired, None, ME, T0)
    assert first is not None
    assert {c["lastTransitionTime"] for c in first["conditions"]} == {T0}
    # the same desired status later: nothing to write
    assert merge_status("Gateway", desired, first, ME, T1) is None
    # one condition flips: only it gets the new time
    desired["conditions"][1] = cond("Programmed", "False", "Invalid")
    second = merge_status("Gateway", desired, first, ME, T1)
    assert second is not None
    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times == {"Accepted": T0, "Programmed": T1}
    assert second["listeners"][0]["conditions"][0]["lastTransitionTime"] == T0


def test_observed_generation_change_is_a_write_but_keeps_the_time() -> None:
    live = merge_status("Gateway", {"conditions": [cond("Accepted", "True", gen=1)]}, None, ME, T0)
    out = merge_status("Gateway", {"conditions": [cond("Accepted", "True", gen=2)]}, live, ME, T1)
    assert out is not None
    assert out["conditions"][0]["observedGeneration"] == 2
    assert out["conditions"][0]["lastTransitionTime"] == T0


def test_route_parents_of_other_controllers_are_kept() -> None:
    theirs = {
        "parentRef": {"name": "other-gw"},
        "controllerName": "example.com/other",
        "conditions": [cond("Accepted", "True")],
    }
    live = {"parents": [theirs]}
    mine = {
        "parentRef": {"name": "gw", "namespace": "default"},
        "controllerName": ME,
        "conditions": [cond("Accepted", "True"), cond("ResolvedRefs", "True")],
    }
    out = merge_status("HTTPRoute", {"parents": [mine]}, live, ME, T0)
    assert out is not None
    assert out["parents"][0] == theirs
    assert out["parents"][1]["parentRef"] == mine["parentRef"]
    assert merge_status("HTTPRoute", {"parents": [mine]}, out, ME, T1) is None
    # our parent goes away: our entry is removed, theirs stays
    assert merge_status("HTTPRoute", {"parents": []}, out, ME, T1) == {"parents": [theirs]}


def test_policy_ancestors_of_other_controllers_kept_and_ours_timed() -> None:
    other = {
        "ancestorRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "x"},
        "controllerName": "example.com/other",
        "conditions": [{**cond("Accepted", "False"), "lastTransitionTime": T0}],
    }
    ours = {
        "ancestorRef": {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "namespace": "infra",
            "name": "gw",
        },
        "controllerName": ME,
        "conditions": [cond("Accepted", "True"), cond("ResolvedRefs", "True")],
    }
    first = merge_status("BackendTLSPolicy", {"ancestors": [ours]}, {"ancestors": [other]}, ME, T0)
    assert first is not None
    assert first["ancestors"][0] == other
    assert [c["lastTransitionTime"] for c in first["ancestors"][1]["conditions"]] == [T0, T0]
    assert merge_status("BackendTLSPolicy", {"ancestors": [ours]}, first, ME, T1) is None
    # no longer ours: our entry goes, the other controller's stays
    cleared = merge_status("BackendTLSPolicy", {"ancestors": []}, first, ME, T1)
    assert cleared == {"ancestors": [other]}
