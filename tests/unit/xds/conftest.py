"""Fixtures for xDS unit tests: a real XdsServer on localhost and real gRPC clients to it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from xds_testlib import FLEET, AdsClient

from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer


@pytest.fixture
def cache() -> SnapshotCache:
    return SnapshotCache()


@pytest.fixture
async def server(cache: SnapshotCache) -> AsyncIterator[XdsServer]:
    srv = XdsServer(cache)
    await srv.start("127.0.0.1", 0)
    yield srv
    await srv.stop(grace=None)


@pytest.fixture
async def channel(server: XdsServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as chan:
        yield chan


@pytest.fixture
async def connect(channel: grpc.aio.Channel) -> AsyncIterator[Callable[..., AdsClient]]:
    clients: list[AdsClient] = []
    ids = itertools.count(1)

    def _connect(*, delta: bool, fleet: str = FLEET) -> AdsClient:
        client = AdsClient(channel, delta=delta, node_id=f"envoy-{next(ids)}", fleet=fleet)
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        await client.cancel()
