"""HTTPProxy TLS end to end with a real Envoy: TLS passthrough to a TLS backend (the bytes
reach it still encrypted, with their SNI), TLS termination in front of a tcpproxy, and
client certificate validation (required, and optional)."""

from __future__ import annotations

import http.client
import socket
import ssl
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest

from gateway_contour.certs.authority import CertificateAuthority, generate_ca, issue
from tests.e2e.host_world import HostWorld, service_and_slice_yaml, tls_secret_yaml
from tests.e2e.http_client import Response, eventually
from tests.e2e.l4_backends import L4Backend, start_tcp_echo, tcp_exchange

pytestmark = pytest.mark.e2e


def tcp_service_yaml(name: str, backend: L4Backend, namespace: str = "default") -> str:
    return service_and_slice_yaml(
        name,
        address="127.0.0.1",
        port=backend.port,
        namespace=namespace,
        port_name="tcp",
        service_port=443,
    )


PROXIES = textwrap.dedent("""\
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: passthrough, namespace: default}
    spec:
      virtualhost:
        fqdn: pass.example.com
        tls: {passthrough: true}
      tcpproxy:
        services: [{name: tls-backend, port: 443}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: terminated, namespace: default}
    spec:
      virtualhost:
        fqdn: tcp.example.com
        tls: {secretName: tcp-cert}
      tcpproxy:
        include: {name: plain, namespace: db}
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: plain, namespace: db}
    spec:
      tcpproxy:
        services: [{name: plain-backend, port: 443}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: mtls, namespace: default}
    spec:
      virtualhost:
        fqdn: mtls.example.com
        tls:
          secretName: mtls-cert
          clientValidation: {caSecret: client-ca}
      routes:
      - services: [{name: app, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: mtls-optional, namespace: default}
    spec:
      virtualhost:
        fqdn: optional.example.com
        tls:
          secretName: optional-cert
          clientValidation: {caSecret: client-ca, optionalClientCertificate: true}
      routes:
      - services: [{name: app, port: 80}]
    """)


@dataclass
class Served:
    world: HostWorld
    server_ca: CertificateAuthority
    client_ca: CertificateAuthority
    backend_ca: CertificateAuthority
    tls_backend: L4Backend
    others: list[L4Backend] = field(default_factory=list)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    server_ca, client_ca, backend_ca = (generate_ca(f"{n}-ca") for n in ("srv", "cli", "be"))
    backend_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert, key = issue(backend_ca, "pass.example.com")
    (tmp_path / "be.crt").write_bytes(cert)
    (tmp_path / "be.key").write_bytes(key)
    backend_ctx.load_cert_chain(tmp_path / "be.crt", tmp_path / "be.key")
    tls_backend = start_tcp_echo("tls-echo", tls=backend_ctx)
    plain_backend = start_tcp_echo("plain-echo")
    world = HostWorld(tmp_path, ("app",))
    world.start_backends()
    client_ca_secret = textwrap.dedent("""\
        apiVersion: v1
        kind: Secret
        metadata: {name: client-ca, namespace: default}
        stringData:
          ca.crt: |
        """) + textwrap.indent(client_ca.cert_pem.decode(), "    ")
    objects = [
        PROXIES,
        tcp_service_yaml("tls-backend", tls_backend),
        tcp_service_yaml("plain-backend", plain_backend, namespace="db"),
        tls_secret_yaml("tcp-cert", "default", *issue(server_ca, "tcp.example.com")),
        tls_secret_yaml("mtls-cert", "default", *issue(server_ca, "mtls.example.com")),
        tls_secret_yaml("optional-cert", "default", *issue(server_ca, "optional.example.com")),
        client_ca_secret,
    ]
    try:
        async with world.running("---\n".join(objects)):
            served = Served(world, server_ca, client_ca, backend_ca, tls_backend, [plain_backend])
            await eventually(lambda: _exchange(served, "tcp.example.com", "hello"), bool)
            yield served
    finally:
        world.stop_backends()
        tls_backend.stop()
        plain_backend.stop()


async def _exchange(served: Served, server_name: str, line: str) -> str:
    context = ssl.create_default_context(cadata=served.server_ca.cert_pem.decode())
    if server_name == "pass.example.com":
        context = ssl.create_default_context(cadata=served.backend_ca.cert_pem.decode())
    port = served.world.https_port
    answer, _ = await anyio.to_thread.run_sync(
        lambda: tcp_exchange(port, line, tls=context, server_name=server_name)
    )
    return answer


async def test_passthrough_reaches_the_backend_encrypted(served: Served) -> None:
    answer = await eventually(lambda: _exchange(served, "pass.example.com", "ping"), bool)
    # the backend terminated TLS itself (its certificate verified by the client) and saw
    # the client's SNI
    assert answer == "tls-echo sni=pass.example.com ping"
    assert "pass.example.com" in served.tls_backend.seen_server_names


async def test_terminated_tls_to_an_included_tcpproxy(served: Served) -> None:
    assert await _exchange(served, "tcp.example.com", "over tcp") == "plain-echo over tcp"


def _mtls_get(served: Served, host: str, client_cert: bool) -> Response:
    context = ssl.create_default_context(cadata=served.server_ca.cert_pem.decode())
    context.set_alpn_protocols(["http/1.1"])
    if client_cert:
        cert, key = issue(served.client_ca, "client.example.com")
        path = served.world.tmp_path
        (path / "client.crt").write_bytes(cert)
        (path / "client.key").write_bytes(key)
        context.load_cert_chain(path / "client.crt", path / "client.key")
    raw = socket.create_connection(("127.0.0.1", served.world.https_port), timeout=5)
    conn = http.client.HTTPConnection("127.0.0.1", served.world.https_port, timeout=5)
    try:
        conn.sock = context.wrap_socket(raw, server_hostname=host)
        conn.request("GET", "/", headers={"Host": host})
        r = conn.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


async def test_client_certificate_validation(served: Served) -> None:
    with_cert = await eventually(
        lambda: anyio.to_thread.run_sync(lambda: _mtls_get(served, "mtls.example.com", True)),
        lambda r: r.status == 200,
    )
    assert with_cert.backend == "app"
    # without a client certificate the handshake (or the first read under TLS 1.3) fails
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await anyio.to_thread.run_sync(lambda: _mtls_get(served, "mtls.example.com", False))
    # optionalClientCertificate: clients without one are served too
    optional = await anyio.to_thread.run_sync(
        lambda: _mtls_get(served, "optional.example.com", False)
    )
    assert optional.backend == "app"
