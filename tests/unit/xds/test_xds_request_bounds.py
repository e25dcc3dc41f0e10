"""Request bounds of the ADS server (issue 22: three 100 MB requests from a client nobody
authenticated took the controller from 74 to 717 MB). A real grpc.aio server on loopback:
a request over 4 MiB, too many names, an over-long name or too many types end the stream
with RESOURCE_EXHAUSTED or INVALID_ARGUMENT before it changes anything, and a well-behaved
client on the same server is still served. Memory is measured in tests/e2e/test_xds_bounds.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import pytest
from xds_testlib import AdsClient, names_of, world

from gateway_contour.xds import types
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer
from gateway_contour.xds.stream import MAX_NAME_LENGTH, MAX_STREAM_NAMES, MAX_STREAM_TYPES

Connect = Callable[..., AdsClient]


async def ended_with(client: AdsClient) -> grpc.StatusCode:
    code: grpc.StatusCode = await asyncio.wait_for(client.call.code(), 10)
    return code


async def assert_still_served(connect: Connect, cache: SnapshotCache) -> None:
    """A client within the bounds, after the refused ones, gets its resources."""
    cache.set_fleet("default/web", world())
    cache.mark_ready()
    for delta in (False, True):
        client = connect(delta=delta)
        if delta:
            client.delta_request(types.ROUTE, ["r1"])
        else:
            client.request(types.ROUTE, ["r1"])
        assert names_of(await client.recv()) == ["r1"]


@pytest.mark.parametrize("delta", [False, True])
async def test_a_request_over_4_mib_is_refused_before_it_is_read(
    delta: bool, connect: Connect, server: XdsServer, cache: SnapshotCache
) -> None:
    client = connect(delta=delta)
    names = [f"{i:06d}".ljust(1000, "x") for i in range(5000)]  # 5 MB, within name bounds
    if delta:
        client.delta_request(types.ENDPOINT, names)
    else:
        client.request(types.ENDPOINT, names)
    assert await ended_with(client) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert server.stats.requests == 0
    await assert_still_served(connect, cache)


@pytest.mark.parametrize("delta", [False, True])
async def test_a_request_with_too_many_names_is_refused(
    delta: bool, connect: Connect, server: XdsServer, cache: SnapshotCache
) -> None:
    client = connect(delta=delta)
    names = [f"n{i}" for i in range(MAX_STREAM_NAMES + 1)]  # 0.9 MB: under the size bound
    if delta:
        client.delta_request(types.ENDPOINT, names)
    else:
        client.request(types.ENDPOINT, names)
    assert await ended_with(client) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert server.stats.streams_refused == 1 and server.stats.requests == 0
    await assert_still_served(connect, cache)


async def test_names_piling_up_over_delta_requests_are_refused(
    connect: Connect, server: XdsServer
) -> None:
    client = connect(delta=True)
    half = MAX_STREAM_NAMES // 2 + 1
    # the client claims to hold `half` names of one type and subscribes `half` of another
    client.delta_request(
        types.ENDPOINT, initial_resource_versions={f"e{i}": "v" for i in range(half)}
    )
    client.delta_request(types.ROUTE, [f"r{i}" for i in range(half)])
    assert await ended_with(client) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert server.stats.requests == 1  # the first was applied, the second refused


@pytest.mark.parametrize("delta", [False, True])
async def test_an_over_long_name_is_invalid(delta: bool, connect: Connect) -> None:
    client = connect(delta=delta)
    names = ["ok", "x" * (MAX_NAME_LENGTH + 1)]
    if delta:
        client.delta_request(types.SECRET, names)
    else:
        client.request(types.SECRET, names)
    assert await ended_with(client) == grpc.StatusCode.INVALID_ARGUMENT


async def test_too_many_types_are_refused(connect: Connect, server: XdsServer) -> None:
    client = connect(delta=False)
    for i in range(MAX_STREAM_TYPES + 1):
        client.request(f"type.googleapis.com/made.up.Type{i}")
    assert await ended_with(client) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert server.stats.requests == MAX_STREAM_TYPES
