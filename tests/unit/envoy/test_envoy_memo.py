"""BuildMemo: a rebuild reuses the Envoy messages of unchanged IR objects, builds the
changed ones anew, forgets what is gone, and gives the same bytes as a build without it."""

from __future__ import annotations

import dataclasses

import pytest
from envoy.config.route.v3 import route_pb2
from test_envoy_resources import BACKEND, two_fleets

from gateway_contour.envoy.memo import BuildMemo
from gateway_contour.envoy.names import cluster as cluster_name
from gateway_contour.envoy.resources import CLUSTER, ENDPOINT, build_resources
from gateway_contour.ir.model import Endpoint, Protocol
from tests.support.upb_arena import arena_address, check_probe


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


def test_kept_messages_are_standalone_not_parts_of_a_configuration() -> None:
    """Issue 23: with upb a sub-message shares (and keeps alive) its parent's arena. A route
    built in place in its RouteConfiguration and kept by the memo held that configuration's
    memory, and the next build's, and so on: one whole configuration per route change. Every
    message the memo keeps must live in an arena no other resource uses."""
    why = check_probe()
    if why:
        pytest.skip(why)
    memo = BuildMemo()
    ir = two_fleets()
    built = build_resources(ir, memo)
    resources = [
        msg
        for by_type in built.values()
        for by_name in by_type.values()
        for msg in by_name.values()
    ]
    routes = [
        (f"route/{'https' if listener.protocol is Protocol.HTTPS else 'http'}", r)
        for gateway in ir.gateways
        for listener in gateway.listeners
        for host in listener.virtual_hosts
        for r in host.routes
    ]
    kept = [memo.find(kind, r) for kind, r in routes]
    assert len(kept) > 1 and None not in kept
    # clusters no fleet references (weight 0, unused) are never built
    kept += [memo.find("cds", c) for c in ir.clusters] + [memo.find("eds", e) for e in ir.endpoints]
    for message in filter(None, kept):
        others = {arena_address(r) for r in resources if r is not message}
        assert arena_address(message) not in others, message
    # the probe does see a part of a configuration (what the memo kept before the fix)
    config = next(m for m in resources if isinstance(m, route_pb2.RouteConfiguration))
    assert arena_address(config.virtual_hosts[0].routes[0]) == arena_address(config)
