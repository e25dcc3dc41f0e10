"""Issue 22: connections that never open a stream are bounded in number and in time.

An mTLS ADS server whose stream cap is 2 accepts `StreamSlots.max_connections` (18)
connections at once. Raw TCP connections that send nothing (a peer without a client
certificate gets no further) fill that; an Envoy's client is then refused, until the
handshake timeout closes them, after which it is served again. The idle connections are
closed by the server, not by the test."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from gateway_contour.cli import main as cli
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.limits import StreamSlots
from gateway_contour.xds.server import HANDSHAKE_TIMEOUT_MS, XdsServer
from gateway_contour.xds.tls import ServerTLS
from tests.e2e.test_xds_mtls import ads_probe, client_credentials, world
from tests.e2e.test_xds_server import FLEET

pytestmark = pytest.mark.e2e

HANDSHAKE_MS = 1_000  # the test's handshake timeout (the server's default is 10 s)


def closed_by_peer(sock: socket.socket, within: float) -> float | None:
    """Seconds until the server closed `sock` (recv gives b''), or None if it did not."""
    start = time.monotonic()
    sock.settimeout(within)
    try:
        return time.monotonic() - start if sock.recv(1) == b"" else None
    except TimeoutError:
        return None
    except ConnectionResetError:
        return time.monotonic() - start


async def test_idle_connections_are_capped_and_closed_after_the_handshake_timeout(
    tmp_path: Path,
) -> None:
    assert HANDSHAKE_TIMEOUT_MS == 10_000
    assert cli(["certgen", "--output-dir", str(tmp_path / "certs")]) == 0
    credentials = client_credentials(tmp_path / "certs" / "envoy")
    cache = SnapshotCache()
    cache.set_fleet(FLEET, world(1, "served"))
    cache.mark_ready()
    slots = StreamSlots(max_streams=2)
    assert slots.max_connections == 18
    server = XdsServer(cache, slots=slots, handshake_timeout_ms=HANDSHAKE_MS)
    port = await server.start("127.0.0.1", 0, tls=ServerTLS.from_dir(tmp_path / "certs/controller"))
    idle: list[socket.socket] = []
    try:
        assert await ads_probe(port, credentials) == "ok"
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(18)]
        # the cap holds once the server has accepted them all: a client is refused
        deadline = time.monotonic() + 5
        while (answer := await ads_probe(port, credentials)) == "ok":
            assert time.monotonic() < deadline, "19 connections accepted with a cap of 18"
            await asyncio.sleep(0.05)
        assert answer == "UNAVAILABLE"
        assert server.stats.streams_opened == 1  # the refused client never got a stream
        # the server closes each idle connection once the handshake timeout has passed
        waited = await asyncio.to_thread(
            lambda: [closed_by_peer(sock, HANDSHAKE_MS / 1000 * 5) for sock in idle]
        )
        assert all(w is not None for w in waited), waited
        assert await ads_probe(port, credentials) == "ok"
        assert server.stats.streams_opened == 2
    finally:
        for sock in idle:
            sock.close()
        await server.stop(grace=None)
