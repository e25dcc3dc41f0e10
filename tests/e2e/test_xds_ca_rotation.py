"""Issue 22: a rotated client CA is still trusted for a grace period, then dropped.

Real mutual TLS (grpc.aio on both sides), certificates from the project's certgen code:
- the ca.crt of the server's directory rotates (the kubelet's Secret volume swap): a client
  whose certificate the old CA signed is still served within the grace period and refused
  after it; a client of the new CA is served throughout; both events are logged;
- the Envoy client CA of per-fleet certificates rotates: the same, for a fleet certificate
  the old Envoy CA signed (the handshake's trust and the fleet check both keep it).
The grace is a second or two; the refusal is awaited as a condition (a probe per try)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from gateway_contour import certs
from gateway_contour.certs.fleet import FleetCertificates, write_fleet_dir
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer
from gateway_contour.xds.tls import ServerTLS
from tests.e2e.test_xds_mtls import ads_probe, secret_volume, world
from tests.e2e.test_xds_server import FLEET

pytestmark = pytest.mark.e2e

GRACE = 1.5  # seconds: long enough for a few probes, short enough to wait out
DEADLINE = 15.0


def trusting_both(cert_dir: Path, *cas: bytes) -> grpc.ChannelCredentials:
    """A client with `cert_dir`'s certificate that accepts a server signed by any of `cas`
    (so only the server's trust in the client decides)."""
    cert, key, _ = certs.load_tls_dir(cert_dir)
    return grpc.ssl_channel_credentials(
        root_certificates=b"\n".join(cas), private_key=key, certificate_chain=cert
    )


async def refused_eventually(
    port: int, old: grpc.ChannelCredentials, new: grpc.ChannelCredentials
) -> str:
    """Probe until the old-CA client is refused (its status), checking the new-CA client
    is served at each try."""
    deadline = time.monotonic() + DEADLINE
    while (answer := await ads_probe(port, old)) == "ok":
        assert await ads_probe(port, new) == "ok"
        if time.monotonic() > deadline:
            raise AssertionError("the old CA is still trusted after the grace period")
        await asyncio.sleep(0.05)
    return answer


@pytest.fixture
async def server() -> AsyncIterator[XdsServer]:
    cache = SnapshotCache()
    cache.set_fleet(FLEET, world(1, "served"))
    cache.mark_ready()
    xds = XdsServer(cache)
    yield xds
    await xds.stop(grace=None)


def logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


async def test_the_previous_server_ca_is_trusted_for_the_grace_period(
    tmp_path: Path, server: XdsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway_contour.certs")
    first, second = certs.generate_xds_certificates(), certs.generate_xds_certificates()
    server_dir = secret_volume(tmp_path / "server", *first.controller, first.ca.cert_pem)
    old_dir = certs.write_xds_dirs(first, tmp_path / "old")[1]
    new_dir = certs.write_xds_dirs(second, tmp_path / "new")[1]
    both = (first.ca.cert_pem, second.ca.cert_pem)
    old, new = trusting_both(old_dir, *both), trusting_both(new_dir, *both)
    port = await server.start("127.0.0.1", 0, tls=ServerTLS.from_dir(server_dir, ca_grace=GRACE))
    assert await ads_probe(port, old) == "ok"
    assert await ads_probe(port, new) == "UNAVAILABLE"

    secret_volume(server_dir, *second.controller, second.ca.cert_pem)
    assert await ads_probe(port, new) == "ok"  # this handshake noticed the rotation
    assert await ads_probe(port, old) == "ok"  # within the grace period
    assert logged(caplog, "stays trusted")
    assert await refused_eventually(port, old, new) == "UNAVAILABLE"
    assert logged(caplog, "no longer trusted")
    assert await ads_probe(port, new) == "ok"
    assert server.certificates is not None and server.certificates.reloads == 1


async def test_the_previous_envoy_ca_is_trusted_for_the_grace_period(
    tmp_path: Path, server: XdsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway_contour.certs")
    first, second = certs.generate_xds_certificates(), certs.generate_xds_certificates()
    controller_dir = certs.write_xds_dirs(first, tmp_path / "certs")[0]
    ca_dir = certs.write_envoy_ca_dir(first, tmp_path / "certs")
    ca_file = ca_dir / certs.CERT_FILE
    old_dir = write_fleet_dir(ca_dir, FLEET, tmp_path / "old", days=1)
    server.fleet_certificates = FleetCertificates(ca_file, grace=GRACE)
    tls = ServerTLS.from_dir(controller_dir, extra_ca_files=(ca_file,), ca_grace=GRACE)
    port = await server.start("127.0.0.1", 0, tls=tls)
    old = trusting_both(old_dir, first.ca.cert_pem)
    assert await ads_probe(port, old) == "ok"

    # the Envoy CA rotates (the server's own CA stays); fleets get certificates of the new one
    envoy_ca = second.envoy_ca
    certs.write_tls_dir(ca_dir, envoy_ca.cert_pem, envoy_ca.key_pem, first.ca.cert_pem)
    new = trusting_both(write_fleet_dir(ca_dir, FLEET, tmp_path / "new", days=1), first.ca.cert_pem)
    assert await ads_probe(port, new) == "ok"
    assert await ads_probe(port, old) == "ok"
    assert logged(caplog, "stays trusted")
    assert await refused_eventually(port, old, new) in ("UNAVAILABLE", "PERMISSION_DENIED")
    assert logged(caplog, "no longer trusted")
    assert await ads_probe(port, new) == "ok"
