"""Secure xDS: certificates from `gateway-contour certgen`, an Envoy bootstrapped by
`gateway-contour bootstrap` over mutual TLS, refusals, and certificate rotation.

- An Envoy whose bootstrap the CLI wrote connects over mTLS and serves traffic.
- Refused: an Envoy whose client certificate another CA signed (it trusts our server), a gRPC
  client without a client certificate, a plaintext client.
- Rotation, with the files laid out and swapped as the kubelet does for a Secret volume:
  new certificates (a new CA) under the running server are taken by the next connection;
  the Envoy already connected keeps its stream and keeps getting updates; an Envoy whose own
  Secret rotates reconnects with the new certificate, without a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import discovery_pb2

from gateway_contour.certs import generate_xds_certificates, write_tls_dir, write_xds_dirs
from gateway_contour.cli import main as cli
from gateway_contour.provisioner.host import free_port
from gateway_contour.xds import types
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer
from gateway_contour.xds.tls import ServerTLS
from tests.e2e.test_xds_server import FLEET, ROUTE_NAME, eventually, listener, route_config

pytestmark = pytest.mark.e2e

DEADLINE = 10.0
SOTW = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"


def world(port: int, answer: str) -> dict[str, Any]:
    return {
        types.CLUSTER: {},
        types.LISTENER: {"http": listener(port)},
        types.ROUTE: {ROUTE_NAME: route_config(answer)},
    }


def bootstrap(path: Path, xds_port: int, cert_dir: Path, node: str) -> Path:
    """The bootstrap as the provisioner's init container writes it: through the CLI."""
    argv = ["bootstrap", str(path), "--fleet", FLEET, "--node-id", node]
    argv += ["--xds-port", str(xds_port), "--admin-port", "0", "--xds-cert-dir", str(cert_dir)]
    assert cli(argv) == 0
    return path


async def ads_probe(port: int, credentials: grpc.ChannelCredentials | None) -> str:
    """ "ok" when a listener DiscoveryResponse comes back over this channel, else the gRPC
    status code name of the failure."""
    options = [
        ("grpc.ssl_target_name_override", "gateway-contour"),
        ("grpc.use_local_subchannel_pool", 1),
    ]
    target = f"127.0.0.1:{port}"
    channel = (
        grpc.aio.secure_channel(target, credentials, options)
        if credentials is not None
        else grpc.aio.insecure_channel(target, options)
    )
    request = discovery_pb2.DiscoveryRequest(
        node=base_pb2.Node(id="probe", cluster=FLEET), type_url=types.LISTENER
    )
    async with channel:
        call = channel.stream_stream(
            SOTW,
            request_serializer=discovery_pb2.DiscoveryRequest.SerializeToString,
            response_deserializer=discovery_pb2.DiscoveryResponse.FromString,
        )(iter([request]), timeout=5)
        try:
            async for response in call:
                return "ok" if response.type_url == types.LISTENER else "wrong type"
        except grpc.aio.AioRpcError as err:
            return str(err.code().name)
    return "no response"


def client_credentials(cert_dir: Path, *, with_cert: bool = True) -> grpc.ChannelCredentials:
    ca = (cert_dir / "ca.crt").read_bytes()
    if not with_cert:
        return grpc.ssl_channel_credentials(root_certificates=ca)
    return grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=(cert_dir / "tls.key").read_bytes(),
        certificate_chain=(cert_dir / "tls.crt").read_bytes(),
    )


async def envoy_stat(envoy: Any, name: str) -> int:
    answer = await envoy.admin(f"/stats?filter=^{name}$")
    if answer is None or answer[0] != 200 or ":" not in answer[1]:
        return 0
    return int(answer[1].split(":", 1)[1])


async def wait_for(predicate: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_envoy_connects_over_mtls_and_strangers_are_refused(
    tmp_path: Path, start_envoy: Callable[..., Awaitable[Any]]
) -> None:
    assert cli(["certgen", "--output-dir", str(tmp_path / "certs")]) == 0
    controller, envoy_dir = tmp_path / "certs/controller", tmp_path / "certs/envoy"
    # a client certificate of another CA, beside the CA that really signed our server
    stranger = generate_xds_certificates()
    stranger_dir = write_tls_dir(
        tmp_path / "stranger", *stranger.envoy, (envoy_dir / "ca.crt").read_bytes()
    )
    port = free_port()
    cache = SnapshotCache()
    server = XdsServer(cache)
    xds_port = await server.start("127.0.0.1", 0, tls=ServerTLS.from_dir(controller))
    try:
        cache.set_fleet(FLEET, world(port, "over mtls"))
        cache.mark_ready()
        good = await start_envoy(bootstrap(tmp_path / "good/b.json", xds_port, envoy_dir, "good"))
        await good.wait_ready()
        await eventually(lambda: good.get(port, "/"), (200, "over mtls"), "traffic over mTLS")
        assert [s.node_id for s in server.streams()] == ["good"]

        # a stranger's Envoy: its handshake fails, it never gets a stream or a listener
        bad = await start_envoy(bootstrap(tmp_path / "bad/b.json", xds_port, stranger_dir, "bad"))
        fail = "cluster.gateway-contour-xds.upstream_cx_connect_fail"
        await wait_for(lambda: _at_least(bad, fail, 2), "the stranger Envoy to be refused")
        assert [s.node_id for s in server.streams()] == ["good"]
        assert server.stats.streams_opened == 1
        assert await envoy_stat(bad, "listener_manager.total_listeners_active") == 0
        assert await envoy_stat(good, "listener_manager.total_listeners_active") == 1

        # gRPC clients: with our client certificate served, without one or in plaintext refused
        assert await ads_probe(xds_port, client_credentials(envoy_dir)) == "ok"
        no_cert = client_credentials(envoy_dir, with_cert=False)
        assert await ads_probe(xds_port, no_cert) == "UNAVAILABLE"
        assert await ads_probe(xds_port, None) == "UNAVAILABLE"
        assert await ads_probe(xds_port, client_credentials(stranger_dir)) == "UNAVAILABLE"
    finally:
        await server.stop(grace=None)


async def _at_least(envoy: Any, stat: str, count: int) -> bool:
    return await envoy_stat(envoy, stat) >= count


def secret_volume(directory: Path, cert: bytes, key: bytes, ca: bytes) -> Path:
    """Publish the files the way the kubelet updates a Secret volume: a new hidden
    directory, the `..data` symlink swapped to it by a rename, and tls.crt, tls.key, ca.crt
    as links through `..data` (so the files change all at once)."""
    directory.mkdir(parents=True, exist_ok=True)
    version = directory / f"..{time.time_ns()}"
    version.mkdir()
    files = {"tls.crt": cert, "tls.key": key, "ca.crt": ca}
    for name, data in files.items():
        (version / name).write_bytes(data)
    swap = directory / "..data_tmp"
    swap.symlink_to(version.name)
    swap.replace(directory / "..data")
    for name in files:
        if not (directory / name).is_symlink():
            (directory / name).symlink_to(f"..data/{name}")
    return directory


async def test_rotated_certificates_are_picked_up_without_dropping_streams(
    tmp_path: Path, start_envoy: Callable[..., Awaitable[Any]]
) -> None:
    first, second = generate_xds_certificates(), generate_xds_certificates()
    server_dir = secret_volume(tmp_path / "server", *first.controller, first.ca.cert_pem)
    envoy_dir = secret_volume(tmp_path / "envoy", *first.envoy, first.ca.cert_pem)
    old_client = write_xds_dirs(first, tmp_path / "old")[1]
    new_client = write_xds_dirs(second, tmp_path / "new")[1]
    port = free_port()
    cache = SnapshotCache()
    server = XdsServer(cache)
    xds_port = await server.start("127.0.0.1", 0, tls=ServerTLS.from_dir(server_dir))
    try:
        cache.set_fleet(FLEET, world(port, "first"))
        cache.mark_ready()
        envoy = await start_envoy(bootstrap(tmp_path / "b.json", xds_port, envoy_dir, "envoy"))
        await eventually(lambda: envoy.get(port, "/"), (200, "first"), "first config")
        (stream,) = server.streams()
        assert await ads_probe(xds_port, client_credentials(new_client)) == "UNAVAILABLE"

        # the controller's Secret rotates to a new CA: new connections use it at once
        secret_volume(server_dir, *second.controller, second.ca.cert_pem)
        assert await ads_probe(xds_port, client_credentials(new_client)) == "ok"
        assert await ads_probe(xds_port, client_credentials(old_client)) == "UNAVAILABLE"
        assert server.certificates is not None and server.certificates.reloads == 1
        # the connected Envoy kept its stream and still follows updates
        cache.set_fleet(FLEET, world(port, "second"))
        await eventually(lambda: envoy.get(port, "/"), (200, "second"), "update after rotation")
        assert [s.id for s in server.streams()] == [stream.id]  # the same stream, not a new one

        # the Envoy's Secret rotates too; when its connection is cut it reconnects with it
        secret_volume(envoy_dir, *second.envoy, second.ca.cert_pem)
        await server.stop(grace=None)
        server = XdsServer(cache)
        await server.start("127.0.0.1", xds_port, tls=ServerTLS.from_dir(server_dir))
        await asyncio.wait_for(server.stats.wait_until(lambda s: s.streams_active == 1), DEADLINE)
        cache.set_fleet(FLEET, world(port, "third"))
        await eventually(lambda: envoy.get(port, "/"), (200, "third"), "after reconnecting")
        assert envoy.process.poll() is None  # the same Envoy process throughout
    finally:
        await server.stop(grace=None)
