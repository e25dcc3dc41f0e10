"""Issue 22: the ADS server holds a bounded number of streams (xds/limits.py).

grpc.aio clients, each on a connection of its own, against a server capped at a few streams:
the streams past the cap end with RESOURCE_EXHAUSTED before any resource, are counted
(`streams_over_limit`, /metrics `xds_streams_refused_total{reason="limit"}`) and logged,
and the first streams keep being served (a change of their fleet reaches each). A slot a
closed stream gave back is taken by the next one. The cap per peer address works alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import discovery_pb2

from gateway_contour.observability.metrics import Metrics, Observed
from gateway_contour.xds import types
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.limits import StreamSlots
from gateway_contour.xds.server import SERVICE, XdsServer
from tests.e2e.test_xds_mtls import world
from tests.e2e.test_xds_server import FLEET

pytestmark = pytest.mark.e2e

DEADLINE = 10.0


@dataclass
class Client:
    """One SotW stream on its own connection, asking for listeners."""

    channel: grpc.aio.Channel
    call: Any

    async def response(self) -> discovery_pb2.DiscoveryResponse | None:
        """The next response, or None when the stream ended."""
        answer = await asyncio.wait_for(self.call.read(), DEADLINE)
        return None if answer is grpc.aio.EOF else answer

    async def ack(self, response: discovery_pb2.DiscoveryResponse) -> None:
        await self.call.write(
            discovery_pb2.DiscoveryRequest(
                type_url=types.LISTENER,
                version_info=response.version_info,
                response_nonce=response.nonce,
            )
        )

    async def ending(self) -> grpc.StatusCode:
        """The status the stream ends with (it must end before any response)."""
        try:
            answer = await asyncio.wait_for(self.call.read(), DEADLINE)
        except grpc.aio.AioRpcError as err:
            return err.code()
        assert answer is grpc.aio.EOF, "a response on a stream past the cap"
        return await asyncio.wait_for(self.call.code(), DEADLINE)


@contextlib.asynccontextmanager
async def clients(port: int) -> AsyncIterator[list[Client]]:
    """Open clients are appended to the yielded list by `connect`, closed at the end."""
    opened: list[Client] = []
    try:
        yield opened
    finally:
        for client in opened:
            client.call.cancel()
            await client.channel.close()


async def connect(port: int, opened: list[Client], node: str) -> Client:
    channel = grpc.aio.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
    )
    call = channel.stream_stream(
        f"/{SERVICE}/StreamAggregatedResources",
        request_serializer=discovery_pb2.DiscoveryRequest.SerializeToString,
        response_deserializer=discovery_pb2.DiscoveryResponse.FromString,
    )()
    await call.write(
        discovery_pb2.DiscoveryRequest(
            node=base_pb2.Node(id=node, cluster=FLEET), type_url=types.LISTENER
        )
    )
    client = Client(channel, call)
    opened.append(client)
    return client


@pytest.fixture
async def cache() -> SnapshotCache:
    cache = SnapshotCache()
    cache.set_fleet(FLEET, world(1, "first"))
    cache.mark_ready()
    return cache


async def test_streams_past_the_cap_are_refused_and_the_first_are_served(
    cache: SnapshotCache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway_contour.xds")
    server = XdsServer(cache, slots=StreamSlots(max_streams=3))
    port = await server.start("127.0.0.1", 0)
    try:
        async with clients(port) as opened:
            first = [await connect(port, opened, f"envoy-{i}") for i in range(3)]
            responses = [await client.response() for client in first]
            assert all(r is not None and r.type_url == types.LISTENER for r in responses)

            extra = [await connect(port, opened, f"extra-{i}") for i in range(2)]
            for client in extra:
                assert await client.ending() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert server.stats.streams_over_limit == 2
            assert server.stats.streams_opened == 3  # the refused never became streams
            assert any("more than 3 streams open" in r.getMessage() for r in caplog.records)
            metrics = Metrics(Observed(xds=server)).render().decode()
            assert 'gateway_contour_xds_streams_refused_total{reason="limit"} 2.0' in metrics

            # the first streams are still served: a change of their fleet reaches each
            for client, response in zip(first, responses, strict=True):
                assert response is not None
                await client.ack(response)
            cache.set_fleet(FLEET, world(2, "second"))  # a new listener
            for client, response in zip(first, responses, strict=True):
                update = await client.response()
                assert update is not None and update.version_info != response.version_info

            # a closed stream gives its slot back
            first[0].call.cancel()
            await asyncio.wait_for(
                server.stats.wait_until(lambda s: s.streams_active == 2), DEADLINE
            )
            await asyncio.wait_for(_slots_held(server, 2), DEADLINE)
            late = await connect(port, opened, "late")
            answer = await late.response()
            assert answer is not None and answer.type_url == types.LISTENER
            assert server.stats.streams_over_limit == 2
    finally:
        await server.stop(grace=None)


async def _slots_held(server: XdsServer, count: int) -> None:
    """Wait until the server holds `count` slots (released in the handler's `finally`)."""
    while server.slots.held != count:
        await asyncio.sleep(0.01)


async def test_the_cap_per_peer_address(cache: SnapshotCache) -> None:
    server = XdsServer(cache, slots=StreamSlots(max_streams_per_peer=2))
    port = await server.start("127.0.0.1", 0)
    try:
        async with clients(port) as opened:
            first = [await connect(port, opened, f"envoy-{i}") for i in range(2)]
            for client in first:
                assert await client.response() is not None
            extra = await connect(port, opened, "extra")
            assert await extra.ending() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert server.stats.streams_over_limit == 1
            assert server.slots.by_peer == {"ipv4:127.0.0.1": 2}
    finally:
        await server.stop(grace=None)
