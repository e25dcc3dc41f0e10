"""Issue 22: per-fleet client certificates, over real mutual TLS.

The ADS server as `serve --xds-cert-dir ... --envoy-ca-dir ...` starts it, two fleets each
holding a Secret (private key included), and the certificates the provisioner writes into
each fleet's Secret (`FleetCertificateCredentials`). A plain grpc.aio client (xds-protos
types), SotW and Delta:
- fleet A's certificate asking for fleet A gets A's Secret (and nothing of B's, even when it
  names B's Secret);
- A's certificate asking for fleet B: PERMISSION_DENIED before any resource, no byte of B's
  Secret, a log line and the `streams_denied` counter;
- certgen's shared client certificate (no fleet in it): PERMISSION_DENIED for every fleet;
- the controller's serving certificate as a client certificate: the handshake refuses it.
A real Envoy bootstrapped with A's Secret, as the provisioned Pod is, is served A."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, secret_pb2
from envoy.service.discovery.v3 import discovery_pb2

from gateway_contour import certs
from gateway_contour.certs.fleet import FleetCertificates
from gateway_contour.provisioner.host import free_port
from gateway_contour.provisioner.kube.credentials import FleetCertificateCredentials
from gateway_contour.xds import types
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer
from gateway_contour.xds.tls import ServerTLS
from tests.e2e.test_fleet_credentials import first_answer
from tests.e2e.test_xds_mtls import bootstrap, world
from tests.e2e.test_xds_server import FLEET, eventually

pytestmark = pytest.mark.e2e

A, B = FLEET, "team-b/gw-b"


def key_marker(fleet: str) -> bytes:
    return f"PRIVATE KEY OF {fleet}".encode()


def secret_name(fleet: str) -> str:
    return f"{fleet}/tls"


def fleet_secret(fleet: str) -> secret_pb2.Secret:
    return secret_pb2.Secret(
        name=secret_name(fleet),
        tls_certificate=common_pb2.TlsCertificate(
            private_key=base_pb2.DataSource(inline_bytes=key_marker(fleet))
        ),
    )


@dataclass
class World:
    server: XdsServer
    envoy_dir: Path  # certgen's shared client certificate
    controller_dir: Path
    fleet_dirs: dict[str, Path]  # each fleet's Secret as the provisioner writes it
    http_port: int


@pytest.fixture
async def fleets(tmp_path: Path) -> AsyncIterator[World]:
    bundle = certs.generate_xds_certificates()
    controller_dir, envoy_dir = certs.write_xds_dirs(bundle, tmp_path / "certs")
    ca_dir = certs.write_envoy_ca_dir(bundle, tmp_path / "certs")
    issuer = FleetCertificateCredentials(ca_dir)
    fleet_dirs = {}
    for fleet in (A, B):
        data = {k: base64.b64decode(v) for k, v in issuer.secret(fleet, None)["data"].items()}
        fleet_dirs[fleet] = certs.write_tls_dir(
            tmp_path / fleet.replace("/", "_"), data["tls.crt"], data["tls.key"], data["ca.crt"]
        )
    ca_file = ca_dir / certs.CERT_FILE
    cache = SnapshotCache()
    server = XdsServer(cache, fleet_certificates=FleetCertificates(ca_file))
    tls = ServerTLS.from_dir(controller_dir, extra_ca_files=(ca_file,))
    await server.start("127.0.0.1", 0, tls=tls)
    http_port = free_port()
    for fleet in (A, B):
        resources = world(http_port, f"served {fleet}")
        resources[types.SECRET] = {secret_name(fleet): fleet_secret(fleet)}
        cache.set_fleet(fleet, resources)
    cache.mark_ready()
    try:
        yield World(server, envoy_dir, controller_dir, fleet_dirs, http_port)
    finally:
        await server.stop(grace=None)


def credentials(cert_dir: Path) -> grpc.ChannelCredentials:
    cert, key, ca = certs.load_tls_dir(cert_dir)
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )


async def ask_secrets(port: int, cert_dir: Path, fleet: str, delta: bool) -> tuple[str, bytes]:
    """What a stream naming `fleet` over mTLS with `cert_dir`'s certificate gets first (see
    `first_answer`) when it asks for both fleets' Secrets (Delta: every Secret too)."""
    node = base_pb2.Node(id="tenant", cluster=fleet)
    names = [secret_name(A), secret_name(B)]
    request: Any = (
        discovery_pb2.DeltaDiscoveryRequest(
            node=node, type_url=types.SECRET, resource_names_subscribe=["*", *names]
        )
        if delta
        else discovery_pb2.DiscoveryRequest(node=node, type_url=types.SECRET, resource_names=names)
    )
    return await first_answer(port, request, credentials=credentials(cert_dir))


@pytest.mark.parametrize("delta", [True, False], ids=["delta", "sotw"])
async def test_a_fleet_certificate_opens_only_its_own_fleet(
    fleets: World, delta: bool, caplog: pytest.LogCaptureFixture
) -> None:
    port, server = fleets.server.port, fleets.server
    answer, got = await ask_secrets(port, fleets.fleet_dirs[A], A, delta)
    assert answer == "ok"
    assert key_marker(A) in got and key_marker(B) not in got
    assert server.stats.streams_denied == 0

    caplog.set_level(logging.WARNING, logger="gateway_contour.xds")
    # A's certificate naming B's fleet: refused, and not one byte of B's
    answer, got = await ask_secrets(port, fleets.fleet_dirs[A], B, delta)
    assert (answer, got) == ("PERMISSION_DENIED", b"")
    assert server.stats.streams_denied == 1
    assert any(
        "PERMISSION_DENIED" in r.getMessage() and repr(B) in r.getMessage() for r in caplog.records
    )
    # B's own certificate is served B
    answer, got = await ask_secrets(port, fleets.fleet_dirs[B], B, delta)
    assert answer == "ok" and key_marker(B) in got and key_marker(A) not in got

    # certgen's shared client certificate names no fleet: refused for every fleet
    for fleet in (A, B):
        assert await ask_secrets(port, fleets.envoy_dir, fleet, delta) == ("PERMISSION_DENIED", b"")
    assert server.stats.streams_denied == 3
    # the controller's serving certificate is no client certificate: the handshake fails
    answer, got = await ask_secrets(port, fleets.controller_dir, A, delta)
    assert (answer, got) == ("UNAVAILABLE", b"")
    assert server.stats.streams_denied == 3  # refused before any stream


async def test_an_envoy_with_its_fleets_secret_is_served(
    fleets: World, tmp_path: Path, start_envoy: Callable[..., Awaitable[Any]]
) -> None:
    # the bootstrap exactly as the init container writes it, from the fleet's Secret volume
    envoy = await start_envoy(
        bootstrap(tmp_path / "boot.json", fleets.server.port, fleets.fleet_dirs[A], "envoy-a")
    )
    await envoy.wait_ready()
    await eventually(
        lambda: envoy.get(fleets.http_port, "/"), (200, f"served {A}"), "A's route over mTLS"
    )
    assert [(s.node_id, s.fleet) for s in fleets.server.streams()] == [("envoy-a", A)]
    assert fleets.server.stats.streams_denied == 0
