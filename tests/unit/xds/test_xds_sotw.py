"""State of the World ADS against the real server over a real gRPC channel."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from xds_testlib import FLEET, AdsClient, cluster, names_of, route, wait_for, world

from gateway_contour.xds import types
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer

Connect = Callable[..., AdsClient]


def _version(cache: SnapshotCache, type_url: str) -> str:
    snap = cache.snapshot(FLEET)
    assert snap is not None
    return snap.version(type_url)


async def test_nothing_is_sent_before_ready(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    client = connect(delta=False)
    client.request(types.CLUSTER)
    await wait_for(lambda: server.stats.streams_active == 1, server)
    await client.expect_silence()  # absence cannot be awaited: a bounded check
    assert server.stats.responses == 0

    cache.mark_ready()

    response = await client.recv()
    assert response.type_url == types.CLUSTER
    assert sorted(names_of(response)) == ["c1", "c2"]


async def test_unknown_fleet_waits_for_its_snapshot(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.mark_ready()
    client = connect(delta=False, fleet="default/other")
    client.request(types.LISTENER)
    await wait_for(lambda: server.stats.streams_active == 1, server)
    assert server.stats.responses == 0
    cache.set_fleet("default/other", world())
    response = await client.recv()
    assert names_of(response) == ["l1"]


async def test_wildcard_ack_then_full_state_on_change(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=False)
    client.request(types.CLUSTER)

    first = await client.recv()
    assert first.version_info == _version(cache, types.CLUSTER)
    client.ack(first)
    assert await client.barrier() == []  # an ACK does not trigger a resend
    (stream,) = server.streams()
    assert stream.fleet == FLEET and stream.node_id == client.node_id
    assert stream.types[types.CLUSTER].accepted_version == first.version_info
    assert server.stats.acks >= 1

    cache.set_fleet(FLEET, world(**{types.CLUSTER: {"c1": cluster("c1", 9), "c2": cluster("c2")}}))

    second = await client.recv()
    assert second.type_url == types.CLUSTER
    assert sorted(names_of(second)) == ["c1", "c2"]  # SotW wildcard: the whole set
    assert second.version_info == _version(cache, types.CLUSTER) != first.version_info
    assert second.nonce != first.nonce

    cache.set_fleet(FLEET, world(**{types.CLUSTER: {"c2": cluster("c2")}}))
    client.ack(second)
    third = await client.recv()
    assert names_of(third) == ["c2"]  # absence deletes c1


async def test_nack_is_recorded_and_not_resent(
    cache: SnapshotCache, server: XdsServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=False)
    client.request(types.CLUSTER)
    first = await client.recv()
    client.ack(first)
    cache.set_fleet(FLEET, world(**{types.CLUSTER: {"c1": cluster("c1", 7)}}))
    bad = await client.recv()

    with caplog.at_level(logging.WARNING, logger="gateway_contour.xds"):
        client.nack(bad, "cluster c1: bad timeout", version=first.version_info)
        assert await client.barrier() == []  # the rejected version is not sent again

    assert server.stats.nacks == 1
    event = server.stats.recent_nacks[-1]
    assert event.message == "cluster c1: bad timeout"
    assert event.rejected_version == bad.version_info
    assert (event.fleet, event.node_id, event.type_url, event.protocol) == (
        FLEET,
        client.node_id,
        types.CLUSTER,
        "sotw",
    )
    assert "cluster c1: bad timeout" in caplog.text
    (stream,) = server.streams()
    assert stream.types[types.CLUSTER].accepted_version == first.version_info

    cache.set_fleet(FLEET, world(**{types.CLUSTER: {"c1": cluster("c1", 8)}}))
    fixed = await client.recv()
    assert fixed.version_info == _version(cache, types.CLUSTER)
    client.ack(fixed)
    await client.barrier()
    assert stream.types[types.CLUSTER].accepted_version == fixed.version_info


async def test_named_types_send_only_requested_and_changed(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=False)
    client.request(types.ROUTE, ["r1"])
    first = await client.recv()
    assert names_of(first) == ["r1"]

    client.ack(first, ["r1", "r2"])  # Envoy learns of r2 and asks for both
    second = await client.recv()
    assert names_of(second) == ["r2"]  # r1 unchanged: not resent

    client.ack(second, ["r1", "r2"])
    cache.set_fleet(FLEET, world(**{types.ROUTE: {"r1": route("r1"), "r2": route("r2", "/new")}}))
    third = await client.recv()
    assert names_of(third) == ["r2"]

    client.ack(third, ["r2"])  # r1 dropped: nothing to send
    assert await client.barrier() == []
    client.ack(third, ["r1", "r2"])  # newly requested again: must be resent
    fourth = await client.recv()
    assert names_of(fourth) == ["r1"]


async def test_stale_nonce_is_ignored(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=False)
    client.request(types.ROUTE, ["r1"])
    first = await client.recv()
    client.ack(first, ["r1"])
    cache.set_fleet(FLEET, world(**{types.ROUTE: {"r1": route("r1", "/v2"), "r2": route("r2")}}))
    second = await client.recv()

    client.ack(first, ["r1", "r2"])  # carries the older nonce: stale
    assert await client.barrier() == []
    client.ack(second, ["r1", "r2"])
    third = await client.recv()
    assert names_of(third) == ["r2"]


async def test_listeners_wait_for_cluster_ack(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=False)
    client.request(types.CLUSTER)
    client.request(types.LISTENER)
    clusters = await client.recv()
    assert clusters.type_url == types.CLUSTER
    assert await client.barrier() == []  # LDS held while CDS is unacknowledged

    client.ack(clusters)
    listeners = await client.recv()
    assert listeners.type_url == types.LISTENER
    assert names_of(listeners) == ["l1"]


async def test_reconnect_with_current_version_gets_no_resend(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=False)
    client.request(types.CLUSTER, version_info=_version(cache, types.CLUSTER))
    assert await client.barrier() == []
    cache.set_fleet(FLEET, world(**{types.CLUSTER: {"c1": cluster("c1")}}))
    response = await client.recv()
    assert names_of(response) == ["c1"]
