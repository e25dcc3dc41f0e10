"""BuildMemo: a rebuild reuses the Envoy messages of unchanged IR objects, builds the
changed ones anew, forgets what is gone, and gives the same bytes as a build without it."""

from __future__ import annotations

import dataclasses

from test_envoy_resources import BACKEND, two_fleets

from gateway_contour.envoy.memo import BuildMemo
from gateway_contour.envoy.names import cluster as cluster_name
from gateway_contour.envoy.resources import CLUSTER, ENDPOINT, build_resources
from gateway_contour.ir.model import Endpoint


def serialized(resources: dict) -> dict:
    return {
        (fleet, type_url, name): msg.SerializeToString(deterministic=True)
        for fleet, by_type in resources.items()
        for type_url, by_name in by_type.items()
        for name, msg in by_name.items()
    }


def test_unchanged_ir_objects_give_the_same_message_objects() -> None:
    memo = BuildMemo()
    first = build_resources(two_fleets(), memo)
    second = build_resources(two_fleets(), memo)  # equal IR values, new objects
    name = cluster_name(BACKEND)
    assert second["default/web"][CLUSTER][name] is first["default/web"][CLUSTER][name]
    assert second["default/web"][ENDPOINT][name] is first["default/web"][ENDPOINT][name]
    assert memo.hits > 0


def test_a_changed_object_is_built_again_and_the_rest_reused() -> None:
    memo = BuildMemo()
    ir = two_fleets()
    first = build_resources(ir, memo)
    moved = tuple(
        dataclasses.replace(ce, endpoints=(Endpoint("10.9.9.9", 8080),))
        if ce.cluster == BACKEND
        else ce
        for ce in ir.endpoints
    )
    second = build_resources(dataclasses.replace(ir, endpoints=moved), memo)
    name = cluster_name(BACKEND)
    fleet_first, fleet_second = first["default/web"], second["default/web"]
    assert fleet_second[ENDPOINT][name] is not fleet_first[ENDPOINT][name]
    assert "10.9.9.9" in str(fleet_second[ENDPOINT][name])
    assert fleet_second[CLUSTER][name] is fleet_first[CLUSTER][name]


def test_same_bytes_with_or_without_a_memo_and_the_memo_stays_bounded() -> None:
    memo = BuildMemo()
    for _ in range(3):
        with_memo = build_resources(two_fleets(), memo)
    assert serialized(with_memo) == serialized(build_resources(two_fleets()))
    size = len(memo)
    build_resources(two_fleets(), memo)
    assert len(memo) == size  # one build's worth, not one per build


def test_the_same_ir_again_builds_nothing_and_a_new_route_builds_only_itself() -> None:
    """Translation hands out the very same IR objects for unchanged sources: found by
    identity, nothing is built again; a route added to a host is the only thing built (the
    other routes of its host are copied from the last build)."""
    memo = BuildMemo()
    ir = two_fleets()
    first = build_resources(ir, memo)
    misses = memo.misses
    assert serialized(build_resources(ir, memo)) == serialized(first)
    assert memo.misses == misses
    gateway = ir.gateways[0]
    listener = gateway.listeners[0]
    host = listener.virtual_hosts[0]
    extra = dataclasses.replace(host.routes[0], name="added")
    grown = dataclasses.replace(host, routes=(*host.routes, extra))
    listener = dataclasses.replace(listener, virtual_hosts=(grown, *listener.virtual_hosts[1:]))
    gateway = dataclasses.replace(gateway, listeners=(listener, *gateway.listeners[1:]))
    changed = dataclasses.replace(ir, gateways=(gateway, *ir.gateways[1:]))
    assert serialized(build_resources(changed, memo)) == serialized(build_resources(changed))
    assert memo.misses == misses + 1  # the added route's message, nothing else
    misses_now = memo.misses
    build_resources(changed, memo)
    assert memo.misses == misses_now
