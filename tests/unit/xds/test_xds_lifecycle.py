"""Stream lifecycle (disconnect, server stop) and big snapshots over a real gRPC channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import grpc
import pytest
from xds_testlib import FLEET, AdsClient, cluster, names_of, wait_for, world

from gateway_contour.xds import types
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer

Connect = Callable[..., AdsClient]


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
async def test_client_disconnect_ends_the_stream_cleanly(
    cache: SnapshotCache,
    server: XdsServer,
    connect: Connect,
    caplog: pytest.LogCaptureFixture,
    delta: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    client = connect(delta=delta)
    (client.delta_request if delta else client.request)(types.CLUSTER)
    await client.recv()
    tasks_before = len(asyncio.all_tasks())

    await client.cancel()

    await wait_for(lambda: server.stats.streams_closed == 1, server)
    assert server.streams() == []
    assert _errors(caplog) == []
    assert len(asyncio.all_tasks()) < tasks_before  # the stream's tasks are gone


async def test_client_half_close_ends_the_stream(
    cache: SnapshotCache, server: XdsServer, connect: Connect
) -> None:
    cache.set_fleet(FLEET, world())
    client = connect(delta=False)
    client.request(types.CLUSTER)
    await wait_for(lambda: server.stats.streams_active == 1, server)
    client.close()
    assert await client.ended()
    await wait_for(lambda: server.stats.streams_closed == 1, server)


async def test_server_stop_ends_open_streams(
    cache: SnapshotCache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cache.set_fleet(FLEET, world())
    cache.mark_ready()
    server = XdsServer(cache)
    port = await server.start("127.0.0.1", 0)
    assert port > 0
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        clients = [AdsClient(channel, delta=d, node_id=f"n{d}", fleet=FLEET) for d in (False, True)]
        clients[0].request(types.CLUSTER)
        clients[1].delta_request(types.CLUSTER)
        for client in clients:
            await client.recv()

        await asyncio.wait_for(server.stop(grace=0.2), 5)

        for client in clients:
            assert await client.ended()
            await client.cancel()
    assert server.stats.streams_closed == 2
    assert server.streams() == []
    assert _errors(caplog) == []


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
async def test_ten_thousand_clusters_serialized_once_for_all_streams(
    cache: SnapshotCache, server: XdsServer, connect: Connect, delta: bool
) -> None:
    clusters = {f"ns/svc-{i}/80/abcd": cluster(f"ns/svc-{i}/80/abcd") for i in range(10_000)}
    cache.set_fleet(FLEET, {types.CLUSTER: clusters})
    cache.set_fleet("default/other", {types.CLUSTER: clusters})
    assert cache.serializations == 20_000  # compared per fleet, stored once
    assert cache.stats()["records"] == 10_000
    cache.mark_ready()
    clients = [
        connect(delta=delta),
        connect(delta=delta),
        connect(delta=delta, fleet="default/other"),
    ]
    for client in clients:
        (client.delta_request if delta else client.request)(types.CLUSTER)

    for client in clients:
        response = await client.recv()
        assert len(names_of(response)) == 10_000
    assert cache.serializations == 20_000  # serving did not serialize anything again
