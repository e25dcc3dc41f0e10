"""TLSRoute, TCPRoute and UDPRoute end to end: YAML files -> translate -> xDS -> a real Envoy
-> real TCP, TLS and UDP echo servers, called by real clients through the Gateway's
listeners.

One Gateway holds a TLS port with a Passthrough listener ("*.example.com") and a Terminate
listener ("term.example.com") side by side (mixed mode), and a TCP and a UDP listener
sharing one port number. Passthrough is proven by the certificate the client verifies: it is
the backend's, issued by a CA Envoy never sees, and the backend saw the client's SNI.
Terminate is proven the other way round: the client verifies the Gateway's certificate and a
plain TCP backend answers.
"""

from __future__ import annotations

import collections
import ssl
import textwrap
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio
import pytest

from gateway_contour.app import HostMode
from gateway_contour.certs.authority import CertificateAuthority, generate_ca, issue
from gateway_contour.provisioner.host import free_port
from tests.e2e.host_controller import host_config, running
from tests.e2e.host_world import service_and_slice_yaml, tls_secret_yaml
from tests.e2e.http_client import eventually
from tests.e2e.l4_backends import (
    L4Backend,
    start_tcp_echo,
    start_udp_echo,
    tcp_exchange,
    udp_exchange,
)

pytestmark = pytest.mark.e2e

T = TypeVar("T")
PASSTHROUGH_HOST = "pass.example.com"
TERMINATE_HOST = "term.example.com"


def gateway_yaml(tls_port: int, l4_port: int) -> str:
    return textwrap.dedent(f"""\
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {{name: gc}}
        spec: {{controllerName: gateway-contour.dev/gateway-controller}}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {{name: l4, namespace: default}}
        spec:
          gatewayClassName: gc
          listeners:
            - name: passthrough
              protocol: TLS
              port: {tls_port}
              hostname: "*.example.com"
              tls: {{mode: Passthrough}}
            - name: terminate
              protocol: TLS
              port: {tls_port}
              hostname: {TERMINATE_HOST}
              tls: {{mode: Terminate, certificateRefs: [{{name: gateway-cert}}]}}
            - {{name: tcp, protocol: TCP, port: {l4_port}}}
            - {{name: udp, protocol: UDP, port: {l4_port}}}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: TLSRoute
        metadata: {{name: passthrough, namespace: default}}
        spec:
          parentRefs: [{{name: l4, sectionName: passthrough}}]
          hostnames: [{PASSTHROUGH_HOST}]
          rules: [{{backendRefs: [{{name: tls-echo, port: 443}}]}}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: TLSRoute
        metadata: {{name: terminate, namespace: default}}
        spec:
          parentRefs: [{{name: l4, sectionName: terminate}}]
          hostnames: [{TERMINATE_HOST}]
          rules: [{{backendRefs: [{{name: tcp-a, port: 3000}}]}}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: TCPRoute
        metadata: {{name: weighted, namespace: default}}
        spec:
          parentRefs: [{{name: l4, sectionName: tcp}}]
          rules:
            - backendRefs:
                - {{name: tcp-a, port: 3000, weight: 70}}
                - {{name: tcp-b, port: 3000, weight: 30}}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: UDPRoute
        metadata: {{name: weighted, namespace: default}}
        spec:
          parentRefs: [{{name: l4, sectionName: udp}}]
          rules:
            - backendRefs:
                - {{name: udp-a, port: 3000, weight: 70}}
                - {{name: udp-b, port: 3000, weight: 30}}
        """)


def service_yaml(name: str, port: int, backend: L4Backend) -> str:
    return service_and_slice_yaml(
        name,
        address="127.0.0.1",
        port=backend.port,
        port_name="main",
        service_port=port,
        protocol=backend.protocol,
    )


def client_context(ca: CertificateAuthority) -> ssl.SSLContext:
    """Trusts only `ca` and checks the certificate against the server name."""
    return ssl.create_default_context(cadata=ca.cert_pem.decode())


def issuer_common_name(peer: dict[str, object] | None) -> str:
    assert peer is not None
    for rdn in peer["issuer"]:  # type: ignore[attr-defined]
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return ""


@dataclass
class World:
    mode: HostMode
    tls_port: int
    l4_port: int
    gateway_ca: CertificateAuthority
    backend_ca: CertificateAuthority
    tls_echo: L4Backend

    async def run(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    gateway_ca = generate_ca("gateway-ca")
    backend_ca = generate_ca("backend-ca")
    backend_cert, backend_key = issue(backend_ca, PASSTHROUGH_HOST)
    gateway_cert, gateway_key = issue(gateway_ca, TERMINATE_HOST)
    (tmp_path / "backend.crt").write_bytes(backend_cert)
    (tmp_path / "backend.key").write_bytes(backend_key)
    backend_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    backend_tls.load_cert_chain(tmp_path / "backend.crt", tmp_path / "backend.key")

    backends = {
        "tls-echo": (443, start_tcp_echo("tls-echo", tls=backend_tls)),
        "tcp-a": (3000, start_tcp_echo("tcp-a")),
        "tcp-b": (3000, start_tcp_echo("tcp-b")),
        "udp-a": (3000, start_udp_echo("udp-a")),
        "udp-b": (3000, start_udp_echo("udp-b")),
    }
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    tls_port, l4_port = free_port(), free_port()
    (config_dir / "gateway.yaml").write_text(gateway_yaml(tls_port, l4_port))
    (config_dir / "services.yaml").write_text(
        "---\n".join(service_yaml(name, port, b) for name, (port, b) in backends.items())
    )
    (config_dir / "secret.yaml").write_text(
        tls_secret_yaml("gateway-cert", "default", gateway_cert, gateway_key)
    )
    config = host_config(config_dir, tmp_path / "envoy", status_file=tmp_path / "status.yaml")
    try:
        async with running(config) as mode:
            yield World(mode, tls_port, l4_port, gateway_ca, backend_ca, backends["tls-echo"][1])
    finally:
        for _, backend in backends.values():
            backend.stop()
    assert mode.fleet is not None and not mode.fleet.envoys


async def test_tls_passthrough_reaches_the_backend_encrypted(world: World) -> None:
    context = client_context(world.backend_ca)

    def exchange() -> tuple[str, dict[str, object] | None]:
        return tcp_exchange(world.tls_port, "hello", tls=context, server_name=PASSTHROUGH_HOST)

    answer, peer = await eventually(lambda: world.run(exchange), lambda r: r is not None)
    # the client verified the backend's own certificate (Envoy never had its key)...
    assert issuer_common_name(peer) == "backend-ca"
    # ...and the backend terminated the TLS the client started, with the client's SNI
    assert answer == f"tls-echo sni={PASSTHROUGH_HOST} hello"
    assert PASSTHROUGH_HOST in world.tls_echo.seen_server_names


async def test_tls_for_a_server_name_without_route_is_refused(world: World) -> None:
    context = client_context(world.backend_ca)
    context.check_hostname = False
    await eventually(
        lambda: world.run(
            lambda: tcp_exchange(world.tls_port, "x", tls=context, server_name=PASSTHROUGH_HOST)
        ),
        lambda r: r is not None,
    )
    # a name under the listener's wildcard that no TLSRoute serves, and one outside it:
    # no filter chain matches, Envoy closes the connection during the handshake
    for server_name in ("other.example.com", "pass.example.org"):
        with pytest.raises(OSError):
            await world.run(
                lambda name=server_name: tcp_exchange(  # type: ignore[misc]
                    world.tls_port, "x", tls=context, server_name=name
                )
            )


async def test_tls_terminate_forwards_plain_tcp(world: World) -> None:
    context = client_context(world.gateway_ca)

    def exchange() -> tuple[str, dict[str, object] | None]:
        return tcp_exchange(world.tls_port, "inside", tls=context, server_name=TERMINATE_HOST)

    answer, peer = await eventually(lambda: world.run(exchange), lambda r: r is not None)
    # the Gateway's certificate, and a plain-TCP backend behind it
    assert issuer_common_name(peer) == "gateway-ca"
    assert answer == "tcp-a inside"


async def test_tcp_echo_split_by_weight(world: World) -> None:
    await eventually(
        lambda: world.run(lambda: tcp_exchange(world.l4_port, "ping")),
        lambda r: r[0].endswith(" ping"),
    )

    def sample(n: int) -> collections.Counter[str]:
        return collections.Counter(
            tcp_exchange(world.l4_port, f"n{i}")[0].split()[0] for i in range(n)
        )

    n = 300
    counts = await world.run(lambda: sample(n))
    assert set(counts) == {"tcp-a", "tcp-b"}, counts
    # 70/30 by connection; binomial sd at n=300 is 0.026, so +-0.1 is nearly four sd
    assert 0.6 <= counts["tcp-a"] / n <= 0.8, counts


async def test_udp_echo_split_by_weight(world: World) -> None:
    answer = await eventually(
        lambda: world.run(lambda: udp_exchange(world.l4_port, "ping")),
        lambda r: r.endswith(" ping"),
    )
    assert answer.split()[0] in ("udp-a", "udp-b")

    def sample(n: int) -> collections.Counter[str]:
        # each datagram from a fresh socket: a new client port, a new session
        return collections.Counter(
            udp_exchange(world.l4_port, f"n{i}").split()[0] for i in range(n)
        )

    n = 300
    counts = await world.run(lambda: sample(n))
    assert set(counts) == {"udp-a", "udp-b"}, counts
    assert 0.6 <= counts["udp-a"] / n <= 0.8, counts
