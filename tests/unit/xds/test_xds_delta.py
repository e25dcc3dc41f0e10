"""Incremental (Delta) ADS against the real server over a real gRPC channel."""

from __future__ import annotations

from collections.abc import Callable

from xds_testlib import FLEET, AdsClient, cla, cluster, names_of, route, world

from gateway_contour.xds import types
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer

Connect = Callable[..., AdsClient]


def _records(cache: SnapshotCache, type_url: str) -> dict[str, str]:
    snap = cache.snapshot(FLEET)
    assert snap is not None
    return {name: rec.version for name, rec in snap.get(type_url).resources.items()}


async def test_wildcard_sends_changes_and_removals_only(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=True)
    client.delta_request(types.CLUSTER)

    first = await client.recv()
    assert {r.name: r.version for r in first.resources} == _records(cache, types.CLUSTER)
    assert first.system_version_info == cache.snapshot(FLEET).version(types.CLUSTER)  # type: ignore[union-attr]
    assert list(first.removed_resources) == []
    client.ack(first)
    assert await client.barrier() == []

    cache.set_fleet(FLEET, world(**{types.CLUSTER: {"c1": cluster("c1", 4), "c2": cluster("c2")}}))
    second = await client.recv()
    assert names_of(second) == ["c1"]  # c2 unchanged: not sent
    assert second.resources[0].version == _records(cache, types.CLUSTER)["c1"]

    client.ack(second)
    cache.set_fleet(FLEET, world(**{types.CLUSTER: {"c1": cluster("c1", 4)}}))
    third = await client.recv()
    assert names_of(third) == []
    assert list(third.removed_resources) == ["c2"]

    (stream,) = server.streams()
    assert stream.protocol == "delta"
    assert stream.types[types.CLUSTER].accepted_version == second.system_version_info


async def test_initial_resource_versions_are_honoured(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    current = _records(cache, types.CLUSTER)
    client = connect(delta=True)
    client.delta_request(
        types.CLUSTER,
        initial_resource_versions={"c1": current["c1"], "c2": "old", "gone": "v0"},
    )
    response = await client.recv()
    assert names_of(response) == ["c2"]
    assert list(response.removed_resources) == ["gone"]


async def test_first_wildcard_answer_is_sent_even_when_empty(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world(**{types.LISTENER: {}}))
    cache.mark_ready()
    client = connect(delta=True)
    client.delta_request(types.LISTENER)
    response = await client.recv()
    assert response.type_url == types.LISTENER
    assert list(response.resources) == [] and list(response.removed_resources) == []


async def test_explicit_subscriptions(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=True)
    client.delta_request(types.ENDPOINT, ["c1", "c9"])

    first = await client.recv()
    assert names_of(first) == ["c1"]
    assert list(first.removed_resources) == ["c9"]  # does not exist: said at once
    client.ack(first)

    cache.set_fleet(
        FLEET,
        world(**{types.ENDPOINT: {"c1": cla("c1", 1), "c2": cla("c2", 1), "c9": cla("c9", 1)}}),
    )
    second = await client.recv()
    assert names_of(second) == ["c1", "c9"]  # c2 is not subscribed
    client.ack(second)

    client.delta_request(types.ENDPOINT, unsubscribe=["c1"])
    assert await client.barrier() == []  # unsubscribing needs no answer
    cache.set_endpoints({"c1": cla("c1", 2)})
    assert await client.barrier() == []  # nor does a change to an unsubscribed resource

    client.delta_request(types.ENDPOINT, ["c9"])  # re-subscribing to a held name: resent
    third = await client.recv()
    assert names_of(third) == ["c9"]


async def test_subscription_changes_are_honoured_with_a_stale_nonce(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=True)
    client.delta_request(types.ROUTE, ["r1"])
    first = await client.recv()
    client.ack(first)
    cache.set_fleet(FLEET, world(**{types.ROUTE: {"r1": route("r1", "/v2"), "r2": route("r2")}}))
    second = await client.recv()
    client.delta_request(types.ROUTE, ["r2"], response_nonce=first.nonce)  # stale nonce
    assert await client.barrier() == []  # second is still unacknowledged
    client.ack(second)
    third = await client.recv()
    assert names_of(third) == ["r2"]


async def test_nack_keeps_last_accepted_and_waits_for_new_content(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=True)
    client.delta_request(types.ROUTE, ["r1"])
    first = await client.recv()
    client.ack(first)
    cache.set_fleet(FLEET, world(**{types.ROUTE: {"r1": route("r1", "/bad")}}))
    bad = await client.recv()

    client.nack(bad, "route r1: invalid regex")
    assert await client.barrier() == []
    assert server.stats.nacks == 1
    event = server.stats.recent_nacks[-1]
    assert (event.message, event.protocol, event.rejected_version) == (
        "route r1: invalid regex",
        "delta",
        bad.system_version_info,
    )
    (stream,) = server.streams()
    assert stream.types[types.ROUTE].accepted_version == first.system_version_info

    cache.set_fleet(FLEET, world(**{types.ROUTE: {"r1": route("r1", "/good")}}))
    fixed = await client.recv()
    assert names_of(fixed) == ["r1"]
    assert fixed.resources[0].version == _records(cache, types.ROUTE)["r1"]
