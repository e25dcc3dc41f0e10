"""Issue 22: the controller's serving certificate cannot act as an xDS client certificate.
certgen gave both leaves serverAuth and clientAuth, so whoever could read the controller's
Secret could open a stream as any Envoy. Now each leaf has only its own role, and the TLS
handshake refuses the other."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway_contour.cli import main as cli
from gateway_contour.provisioner.host import free_port
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import ServerTLS, XdsServer
from tests.e2e.test_xds_mtls import FLEET, ads_probe, client_credentials, world


def usages(cert_dir: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate((cert_dir / "tls.crt").read_bytes())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    return [oid._name for oid in eku]


async def test_the_serving_certificate_is_refused_as_a_client_certificate(tmp_path: Path) -> None:
    assert cli(["certgen", "--output-dir", str(tmp_path / "certs")]) == 0
    controller, envoy_dir = tmp_path / "certs/controller", tmp_path / "certs/envoy"
    assert usages(controller) == [ExtendedKeyUsageOID.SERVER_AUTH._name]
    assert usages(envoy_dir) == [ExtendedKeyUsageOID.CLIENT_AUTH._name]
    cache = SnapshotCache()
    server = XdsServer(cache)
    xds_port = await server.start("127.0.0.1", 0, tls=ServerTLS.from_dir(controller))
    try:
        cache.set_fleet(FLEET, world(free_port(), "roles"))
        cache.mark_ready()
        assert await ads_probe(xds_port, client_credentials(envoy_dir)) == "ok"
        assert await ads_probe(xds_port, client_credentials(controller)) == "UNAVAILABLE"
        assert server.stats.streams_opened == 1
    finally:
        await server.stop(grace=None)
