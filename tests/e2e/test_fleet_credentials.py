"""Issue 22: a stream's fleet comes from a credential, not from `node.cluster` alone.

Against `run` (host mode): a plain gRPC client that names the Gateway's fleet, with no token
or another fleet's token, is refused with PERMISSION_DENIED before any resource (the Secrets
of that fleet, keys included, were served to anyone who wrote its name); with the token the
controller put in that fleet's Envoy bootstrap it is served. The real Envoy keeps serving."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import discovery_pb2

from gateway_contour.envoy.bootstrap import TOKEN_HEADER
from gateway_contour.xds import types
from tests.e2e import test_host_mode
from tests.e2e.test_host_mode import Running
from tests.e2e.test_xds_mtls import SOTW

pytestmark = pytest.mark.e2e

DELTA = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"
FLEET = "default/web"
running = test_host_mode.running  # the fixture: `run` serving one Gateway, Delta and SotW


async def first_answer(
    port: int,
    request: Any,
    *,
    credentials: grpc.ChannelCredentials | None = None,
    metadata: Sequence[tuple[str, str]] | None = None,
    host: str = "127.0.0.1",
    server_name: str = "gateway-contour",
) -> tuple[str, bytes]:
    """("ok", the first response's bytes), else the gRPC code name and the bytes received
    before it, for one ADS stream opened with `request` (SotW or Delta, by its type), in
    plaintext or over mutual TLS with `credentials` (the server's name: gateway-contour)."""
    delta = isinstance(request, discovery_pb2.DeltaDiscoveryRequest)
    parse: Callable[[bytes], Any] = (
        discovery_pb2.DeltaDiscoveryResponse.FromString
        if delta
        else discovery_pb2.DiscoveryResponse.FromString
    )
    target = f"{host}:{port}"
    options = [
        ("grpc.ssl_target_name_override", server_name),
        ("grpc.use_local_subchannel_pool", 1),
    ]
    channel = (
        grpc.aio.secure_channel(target, credentials, options)
        if credentials is not None
        else grpc.aio.insecure_channel(target, options)
    )
    received = b""
    async with channel:
        call = channel.stream_stream(
            DELTA if delta else SOTW,
            request_serializer=type(request).SerializeToString,
            response_deserializer=parse,
        )(iter([request]), timeout=5, metadata=metadata)
        try:
            async for response in call:
                received += response.SerializeToString()
                return "ok", received
        except grpc.aio.AioRpcError as err:
            return err.code().name, received
    return "no response", received


async def probe(port: int, fleet: str, token: str | None, delta: bool) -> tuple[str, int]:
    """("ok", bytes received) when a Secret/Listener answer comes back, else the gRPC code
    name and the bytes received before it."""
    node = base_pb2.Node(id="intruder", cluster=fleet)
    metadata = ((TOKEN_HEADER, token),) if token is not None else None
    request: Any = (
        discovery_pb2.DeltaDiscoveryRequest(
            node=node, type_url=types.SECRET, resource_names_subscribe=["*"]
        )
        if delta
        else discovery_pb2.DiscoveryRequest(node=node, type_url=types.LISTENER)
    )
    answer, received = await first_answer(port, request, metadata=metadata)
    return answer, len(received)


def issued_token(running: Running) -> str:
    assert running.mode.fleet is not None
    bootstrap = json.loads(Path(running.mode.fleet.envoys[FLEET].bootstrap).read_text())
    (service,) = bootstrap["dynamic_resources"]["ads_config"]["grpc_services"]
    (entry,) = service["initial_metadata"]
    assert entry["key"] == TOKEN_HEADER
    assert oct(Path(running.mode.fleet.envoys[FLEET].bootstrap).stat().st_mode & 0o777) == "0o600"
    return str(entry["value"])


@pytest.mark.parametrize("delta", [True, False], ids=["delta", "sotw"])
async def test_a_stream_without_its_fleets_token_is_refused(running: Running, delta: bool) -> None:
    port = running.mode.xds_port
    denied_before = running.mode.server.stats.streams_denied
    token = issued_token(running)
    for given in (None, "guess", token + "x"):
        assert await probe(port, FLEET, given, delta) == ("PERMISSION_DENIED", 0)
    # another fleet's token does not open this one, nor a fleet nobody was issued
    assert (await probe(port, "team-b/gw-b", token, delta))[0] == "PERMISSION_DENIED"
    assert running.mode.server.stats.streams_denied == denied_before + 4
    # the right token is served (the refusals above are about the credential, nothing else)
    answer, size = await probe(port, FLEET, token, delta)
    assert answer == "ok" and (size > 0 or delta)
    # the fleet's own Envoy was never disturbed
    assert (await running.get("/")).backend == "app-v1"
