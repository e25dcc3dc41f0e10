"""Helpers for xDS tests: resource builders and a real grpc.aio ADS client (AdsClient).

`AdsClient.barrier()` proves the server sent nothing else: it subscribes to a fresh
resource of a type pushed after every xDS type and returns the responses received before
that resource's answer. Responses are written in order, so anything the server sent for the
requests before the barrier arrives first.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import address_pb2
from envoy.config.endpoint.v3 import endpoint_components_pb2, endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.config.route.v3 import route_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf import wrappers_pb2

from gateway_contour.xds import types
from gateway_contour.xds.server import XdsServer

FLEET = "default/web"
BARRIER = "type.googleapis.com/google.protobuf.StringValue"  # pushed after known types
TIMEOUT = 5.0


def cluster(name: str, timeout_s: int = 1) -> cluster_pb2.Cluster:
    msg = cluster_pb2.Cluster(name=name, type=cluster_pb2.Cluster.EDS)
    msg.connect_timeout.seconds = timeout_s
    msg.eds_cluster_config.eds_config.ads.SetInParent()
    return msg


def cla(name: str, port: int) -> endpoint_pb2.ClusterLoadAssignment:
    sock = address_pb2.SocketAddress(address="127.0.0.1", port_value=port)
    endpoint = endpoint_components_pb2.Endpoint(address=address_pb2.Address(socket_address=sock))
    return endpoint_pb2.ClusterLoadAssignment(
        cluster_name=name,
        endpoints=[
            endpoint_components_pb2.LocalityLbEndpoints(
                lb_endpoints=[endpoint_components_pb2.LbEndpoint(endpoint=endpoint)]
            )
        ],
    )


def listener(name: str, port: int) -> listener_pb2.Listener:
    sock = address_pb2.SocketAddress(address="127.0.0.1", port_value=port)
    return listener_pb2.Listener(name=name, address=address_pb2.Address(socket_address=sock))


def route(name: str, prefix: str = "/") -> route_pb2.RouteConfiguration:
    match = rc.RouteMatch(prefix=prefix)
    vhost = rc.VirtualHost(
        name="any",
        domains=["*"],
        routes=[rc.Route(match=match, route=rc.RouteAction(cluster="c"))],
    )
    return route_pb2.RouteConfiguration(name=name, virtual_hosts=[vhost])


def barriers(count: int = 50) -> dict[str, wrappers_pb2.StringValue]:
    return {f"b{i}": wrappers_pb2.StringValue(value=f"b{i}") for i in range(count)}


def world(**overrides: Any) -> dict[str, dict[str, Any]]:
    """A small fleet: two clusters with endpoints, one listener, two route configs."""
    resources: dict[str, dict[str, Any]] = {
        types.CLUSTER: {"c1": cluster("c1"), "c2": cluster("c2")},
        types.ENDPOINT: {"c1": cla("c1", 8001), "c2": cla("c2", 8002)},
        types.LISTENER: {"l1": listener("l1", 10080)},
        types.ROUTE: {"r1": route("r1"), "r2": route("r2", "/two")},
        BARRIER: barriers(),
    }
    resources.update(overrides)
    return resources


class AdsClient:
    """One ADS stream from a fake Envoy: a real grpc.aio call on a real channel."""

    def __init__(self, channel: grpc.aio.Channel, *, delta: bool, node_id: str, fleet: str) -> None:
        self.delta = delta
        self.node_id = node_id
        self.fleet = fleet
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._sent_node = False
        self.nonces: dict[str, str] = {}  # type_url -> latest nonce received
        self._barrier_ids = itertools.count()
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
        method = stub.DeltaAggregatedResources if delta else stub.StreamAggregatedResources
        self.call = method(self._requests())
        self._responses: asyncio.Queue[Any] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while (response := await self.call.read()) is not grpc.aio.EOF:
                self._responses.put_nowait(response)
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            pass
        self._responses.put_nowait(grpc.aio.EOF)

    async def _requests(self) -> AsyncIterator[Any]:
        while True:
            request = await self._queue.get()
            if request is None:
                return
            yield request

    def _with_node(self, request: Any) -> Any:
        if not self._sent_node:
            request.node.id = self.node_id
            request.node.cluster = self.fleet
            self._sent_node = True
        return request

    def request(self, type_url: str, names: list[str] | None = None, **fields: Any) -> None:
        """SotW DiscoveryRequest (resource_names=names)."""
        msg = discovery_pb2.DiscoveryRequest(
            type_url=type_url, resource_names=names or [], **fields
        )
        self._queue.put_nowait(self._with_node(msg))

    def delta_request(
        self,
        type_url: str,
        subscribe: list[str] | None = None,
        unsubscribe: list[str] | None = None,
        **fields: Any,
    ) -> None:
        msg = discovery_pb2.DeltaDiscoveryRequest(
            type_url=type_url,
            resource_names_subscribe=subscribe or [],
            resource_names_unsubscribe=unsubscribe or [],
            **fields,
        )
        self._queue.put_nowait(self._with_node(msg))

    def ack(self, response: Any, names: list[str] | None = None) -> None:
        if self.delta:
            self.delta_request(response.type_url, response_nonce=response.nonce)
        else:
            self.request(
                response.type_url,
                names,
                version_info=response.version_info,
                response_nonce=response.nonce,
            )

    def nack(
        self, response: Any, message: str, names: list[str] | None = None, version: str = ""
    ) -> None:
        detail = {"code": 3, "message": message}
        if self.delta:
            self.delta_request(
                response.type_url, response_nonce=response.nonce, error_detail=detail
            )
        else:
            self.request(
                response.type_url,
                names,
                version_info=version,
                response_nonce=response.nonce,
                error_detail=detail,
            )

    async def recv(self) -> Any:
        response = await asyncio.wait_for(self._responses.get(), TIMEOUT)
        assert response is not grpc.aio.EOF, "stream ended"
        self.nonces[response.type_url] = response.nonce
        return response

    async def barrier(self) -> list[Any]:
        """Responses received before the answer to a fresh barrier subscription."""
        name = f"b{next(self._barrier_ids)}"
        nonce = self.nonces.get(BARRIER, "")
        if self.delta:
            self.delta_request(BARRIER, [name], response_nonce=nonce)
        else:
            self.request(BARRIER, [name], response_nonce=nonce)
        before = []
        while True:
            response = await self.recv()
            if response.type_url == BARRIER:
                return before
            before.append(response)

    async def expect_silence(self, seconds: float = 0.3) -> None:
        """Bounded check that nothing arrives (for states where no barrier can be answered)."""
        try:
            response = await asyncio.wait_for(self._responses.get(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected response: {response}")

    async def ended(self) -> bool:
        """Wait for the stream to end; True if it ended without a response first."""
        return await asyncio.wait_for(self._responses.get(), TIMEOUT) is grpc.aio.EOF

    def close(self) -> None:
        """Half-close the request side, as a client that is done."""
        self._queue.put_nowait(None)

    async def cancel(self) -> None:
        self.call.cancel()
        await self._reader


def names_of(response: Any) -> list[str]:
    """Resource names in a SotW or Delta response."""
    if isinstance(response, discovery_pb2.DeltaDiscoveryResponse):
        return [r.name for r in response.resources]
    return [_unpack_name(any_msg) for any_msg in response.resources]


def _unpack_name(any_msg: Any) -> str:
    by_type: dict[str, Any] = {
        types.CLUSTER: cluster_pb2.Cluster,
        types.ENDPOINT: endpoint_pb2.ClusterLoadAssignment,
        types.LISTENER: listener_pb2.Listener,
        types.ROUTE: route_pb2.RouteConfiguration,
        BARRIER: wrappers_pb2.StringValue,
    }
    msg = by_type[any_msg.type_url]()
    any_msg.Unpack(msg)
    if isinstance(msg, endpoint_pb2.ClusterLoadAssignment):
        return str(msg.cluster_name)
    if isinstance(msg, wrappers_pb2.StringValue):
        return str(msg.value)
    return str(msg.name)


async def wait_for(predicate: Callable[[], bool], server: XdsServer) -> None:
    """Await a condition on the server's stats/streams (no sleeping)."""
    await asyncio.wait_for(server.stats.wait_until(lambda _: predicate()), TIMEOUT)
