"""Make before break on one ADS stream: clusters first, routes next, removals last."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from xds_testlib import FLEET, AdsClient, cluster, names_of, route, world

from gateway_contour.xds import types
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer

Connect = Callable[..., AdsClient]
ROUTES = ["r1", "r2"]


def _ack(client: AdsClient, response: Any) -> None:
    client.ack(response, ROUTES if response.type_url == types.ROUTE else None)


async def _connected(client: AdsClient) -> None:
    """Subscribe like Envoy (clusters, listeners, routes r1 r2) and ACK the first answers."""
    if client.delta:
        client.delta_request(types.CLUSTER)
        client.delta_request(types.LISTENER)
        client.delta_request(types.ROUTE, ROUTES)
    else:
        client.request(types.CLUSTER)
        client.request(types.LISTENER)
        client.request(types.ROUTE, ROUTES)
    clusters = await client.recv()
    assert clusters.type_url == types.CLUSTER
    assert await client.barrier() == []  # listeners and routes wait for the clusters' ACK
    _ack(client, clusters)
    rest = [await client.recv(), await client.recv()]
    assert [r.type_url for r in rest] == [types.LISTENER, types.ROUTE]
    for response in rest:
        _ack(client, response)
    assert await client.barrier() == []


def _removed(response: Any) -> list[str]:
    return list(getattr(response, "removed_resources", []))


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
async def test_removed_cluster_goes_after_the_route_that_used_it(
    cache: SnapshotCache, server: XdsServer, connect: Connect, delta: bool
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=delta)
    await _connected(client)

    routes = {"r1": route("r1", "/moved"), "r2": route("r2", "/two")}
    cache.set_fleet(FLEET, world(**{types.CLUSTER: {"c1": cluster("c1")}, types.ROUTE: routes}))

    # nothing new for clusters to add: the route goes first, c2 stays while it may be used
    (routes_response,) = await client.barrier()
    assert (routes_response.type_url, names_of(routes_response)) == (types.ROUTE, ["r1"])
    _ack(client, routes_response)
    clusters = await client.recv()
    assert clusters.type_url == types.CLUSTER
    if delta:
        assert (names_of(clusters), _removed(clusters)) == ([], ["c2"])
    else:
        assert names_of(clusters) == ["c1"]


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
async def test_added_and_removed_clusters_bracket_the_route_update(
    cache: SnapshotCache, server: XdsServer, connect: Connect, delta: bool
) -> None:
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=delta)
    await _connected(client)

    clusters = {"c1": cluster("c1"), "c3": cluster("c3")}
    routes = {"r1": route("r1", "/to-c3"), "r2": route("r2", "/two")}
    cache.set_fleet(FLEET, world(**{types.CLUSTER: clusters, types.ROUTE: routes}))

    first = await client.recv()
    assert first.type_url == types.CLUSTER
    if delta:  # c3 added, c2 kept for now
        assert (names_of(first), _removed(first)) == (["c3"], [])
    else:
        assert names_of(first) == ["c1", "c2", "c3"]
    assert await client.barrier() == []  # the route waits for the new cluster's ACK
    _ack(client, first)

    second = await client.recv()
    assert (second.type_url, names_of(second)) == (types.ROUTE, ["r1"])
    assert await client.barrier() == []  # c2 is still referenced until the route is ACKed
    _ack(client, second)

    third = await client.recv()
    assert third.type_url == types.CLUSTER
    if delta:
        assert (names_of(third), _removed(third)) == ([], ["c2"])
    else:
        assert names_of(third) == ["c1", "c3"]
        assert third.version_info == cache.snapshot(FLEET).version(types.CLUSTER)  # type: ignore[union-attr]
