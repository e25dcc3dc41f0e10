"""HTTPProxy's fallback certificate end to end with a real Envoy: host mode runs with
`fallback_certificate` naming a Secret in another namespace, delegated to the proxies'
namespace. A TLS client sending no SNI (or an SNI no virtual host has) is presented the
fallback certificate and served the proxies that set enableFallbackCertificate; a client
sending a proxy's SNI gets that proxy's own certificate; a proxy without the fallback is
not served to clients without SNI."""

from __future__ import annotations

import http.client
import socket
import ssl
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from cryptography import x509

from gateway_contour.certs.authority import CertificateAuthority, generate_ca, issue
from tests.e2e.host_world import HostWorld, tls_secret_yaml
from tests.e2e.http_client import Response, eventually

pytestmark = pytest.mark.e2e

PROXIES = textwrap.dedent("""\
    apiVersion: projectcontour.io/v1
    kind: TLSCertificateDelegation
    metadata: {name: fallback, namespace: certs}
    spec:
      delegations:
      - secretName: fallback
        targetNamespaces: [default]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: with-fallback, namespace: default}
    spec:
      virtualhost:
        fqdn: fallback.example.com
        tls: {secretName: fallback-cert, enableFallbackCertificate: true}
      routes:
      - services: [{name: app, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: without-fallback, namespace: default}
    spec:
      virtualhost:
        fqdn: plain.example.com
        tls: {secretName: plain-cert}
      routes:
      - services: [{name: other, port: 80}]
    """)


@dataclass
class Fetched:
    response: Response
    peer_names: list[str]  # DNS names of the certificate Envoy presented


@dataclass
class Served:
    world: HostWorld
    ca: CertificateAuthority


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    ca = generate_ca("fallback-test-ca")
    world = HostWorld(tmp_path, ("app", "other"), fallback_certificate="certs/fallback")
    world.start_backends()
    objects = [
        PROXIES,
        tls_secret_yaml("fallback", "certs", *issue(ca, "fallback.invalid")),
        tls_secret_yaml("fallback-cert", "default", *issue(ca, "fallback.example.com")),
        tls_secret_yaml("plain-cert", "default", *issue(ca, "plain.example.com")),
    ]
    try:
        async with world.running("---\n".join(objects)):
            served = Served(world, ca)
            await eventually(
                lambda: _get(served, "fallback.example.com", None),
                lambda f: f.response.status == 200,
            )
            yield served
    finally:
        world.stop_backends()


def _fetch(served: Served, host: str, sni: str | None) -> Fetched:
    """GET / with Host `host` over TLS sending SNI `sni` (None: no SNI at all); the chain
    must verify against the test CA, whatever name it carries."""
    context = ssl.create_default_context(cadata=served.ca.cert_pem.decode())
    context.check_hostname = False  # the name is asserted by the tests instead
    context.set_alpn_protocols(["http/1.1"])
    port = served.world.https_port
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        tls = context.wrap_socket(raw, server_hostname=sni)
        conn.sock = tls
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        sans = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
        names = sans.value.get_values_for_type(x509.DNSName)
        conn.request("GET", "/", headers={"Host": host})
        r = conn.getresponse()
        response = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        return Fetched(response, names)
    finally:
        conn.close()


async def _get(served: Served, host: str, sni: str | None) -> Fetched:
    return await anyio.to_thread.run_sync(lambda: _fetch(served, host, sni))


async def test_no_sni_gets_the_fallback_certificate_and_the_proxy(served: Served) -> None:
    fetched = await _get(served, "fallback.example.com", None)
    assert fetched.peer_names == ["fallback.invalid"]
    assert fetched.response.status == 200
    assert fetched.response.backend == "app"


async def test_unknown_sni_is_served_like_no_sni(served: Served) -> None:
    fetched = await _get(served, "fallback.example.com", "nothing.example.com")
    assert fetched.peer_names == ["fallback.invalid"]
    assert fetched.response.backend == "app"


async def test_the_proxy_sni_gets_its_own_certificate(served: Served) -> None:
    fetched = await _get(served, "fallback.example.com", "fallback.example.com")
    assert fetched.peer_names == ["fallback.example.com"]
    assert fetched.response.backend == "app"
    plain = await _get(served, "plain.example.com", "plain.example.com")
    assert plain.peer_names == ["plain.example.com"]
    assert plain.response.backend == "other"


async def test_proxy_without_fallback_is_not_served_without_sni(served: Served) -> None:
    fetched = await _get(served, "plain.example.com", None)
    assert fetched.peer_names == ["fallback.invalid"]
    # the default chain knows only the hosts that enabled the fallback: 421 Misdirected
    assert fetched.response.status == 421
    assert fetched.response.backend is None
