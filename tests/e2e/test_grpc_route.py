"""GRPCRoute end to end: YAML files -> translate -> xDS -> a real Envoy -> real gRPC echo
backends (grpcio servers, h2c), called by a real gRPC client (grpc.aio) through the Gateway's
listeners: HTTP (h2c with prior knowledge) and HTTPS (TLS terminated by Envoy, h2 by ALPN).
"""

from __future__ import annotations

import asyncio
import collections
import json
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway_contour.certs.authority import generate_ca, issue
from gateway_contour.demo.grpc_echo import BACKEND_HEADER, GrpcEchoBackend, start_grpc_echo
from gateway_contour.provisioner.host import free_port
from tests.e2e.host_controller import host_config
from tests.e2e.host_controller import running as host_mode_running
from tests.e2e.host_world import service_yaml, tls_secret_yaml
from tests.e2e.http_client import eventually
from tests.e2e.test_host_mode import gateway_yaml

pytestmark = pytest.mark.e2e

HOST = "grpc.example.com"


def https_gateway_yaml(port: int) -> str:
    """A second Gateway of the class `gateway_yaml` defines: HTTPS, Secret grpc-cert."""
    return textwrap.dedent(f"""\
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {{name: secure, namespace: default}}
        spec:
          gatewayClassName: gc
          listeners:
            - name: https
              protocol: HTTPS
              port: {port}
              tls: {{certificateRefs: [{{name: grpc-cert}}]}}
        """)


ROUTES = textwrap.dedent(f"""\
    apiVersion: gateway.networking.k8s.io/v1
    kind: GRPCRoute
    metadata: {{name: demo, namespace: default}}
    spec:
      parentRefs: [{{name: web}}, {{name: secure}}]
      hostnames: [{HOST}]
      rules:
        - matches: [{{method: {{service: demo.Echo, method: Hello}}}}]
          filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: {{set: [{{name: x-route, value: hello}}]}}
            - type: ResponseHeaderModifier
              responseHeaderModifier: {{add: [{{name: x-gateway, value: contour}}]}}
          backendRefs: [{{name: grpc-v1, port: 80}}]
        - matches: [{{method: {{service: demo.Echo}}}}]
          backendRefs: [{{name: grpc-v2, port: 80}}]
        - matches: [{{headers: [{{name: x-canary, value: "true"}}]}}]
          backendRefs: [{{name: grpc-v2, port: 80}}]
        - matches:
            - method: {{type: RegularExpression, service: "demo\\\\.Spl.t", method: ".+"}}
          backendRefs:
            - {{name: grpc-v1, port: 80, weight: 80}}
            - {{name: grpc-v2, port: 80, weight: 20}}
        - matches: [{{method: {{service: demo.Broken}}}}]
          backendRefs: [{{name: missing, port: 80}}]
    """)


@dataclass
class Reply:
    """A call's outcome: its status code, the echo document and the initial metadata."""

    code: grpc.StatusCode
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def backend(self) -> str | None:
        return self.body.get("backend") if self.code is grpc.StatusCode.OK else None


@dataclass
class Running:
    channel: grpc.aio.Channel
    port: int
    tls_channel: grpc.aio.Channel

    async def call(
        self,
        method: str,
        body: bytes = b"ping",
        metadata: tuple[tuple[str, str], ...] = (),
        tls: bool = False,
    ) -> Reply:
        """Call `method` ("/service/Method") through Envoy with bytes in and out, over the
        HTTPS listener when `tls`."""
        stub = (self.tls_channel if tls else self.channel).unary_unary(method)
        call = stub(body, metadata=metadata, timeout=5)
        try:
            answer = await call
        except grpc.aio.AioRpcError as err:
            return Reply(err.code(), {"details": err.details()}, {})
        headers = {str(k): str(v) for k, v in (await call.initial_metadata() or ())}
        return Reply(grpc.StatusCode.OK, json.loads(answer), headers)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    backends: list[GrpcEchoBackend] = [start_grpc_echo("grpc-v1"), start_grpc_echo("grpc-v2")]
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    port, tls_port = free_port(), free_port()
    ca = generate_ca()
    cert, key = issue(ca, HOST)
    (config_dir / "gateway.yaml").write_text(
        "---\n".join(
            (
                gateway_yaml(port),
                https_gateway_yaml(tls_port),
                tls_secret_yaml("grpc-cert", "default", cert, key),
            )
        )
    )
    (config_dir / "services.yaml").write_text(
        "---\n".join(service_yaml(b.name, b) for b in backends)  # type: ignore[arg-type]
    )
    (config_dir / "routes.yaml").write_text(ROUTES)
    # a plaintext HTTP/2 channel to the listener, with the route's hostname as :authority
    channel = grpc.aio.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.default_authority", HOST)]
    )
    # TLS to the HTTPS listener, trusting only our CA, with the route's hostname as SNI
    tls_channel = grpc.aio.secure_channel(
        f"127.0.0.1:{tls_port}",
        grpc.ssl_channel_credentials(root_certificates=ca.cert_pem),
        options=[("grpc.default_authority", HOST), ("grpc.ssl_target_name_override", HOST)],
    )
    config = host_config(config_dir, tmp_path / "envoy", delta=True)
    try:
        async with host_mode_running(config) as mode:
            try:
                run = Running(channel, port, tls_channel)
                await eventually(
                    lambda: run.call("/demo.Echo/Hello"), lambda r: r.backend == "grpc-v1"
                )
                yield run
            finally:
                await channel.close()
                await tls_channel.close()
    finally:
        for backend in backends:
            backend.stop()
    assert mode.fleet is not None and not mode.fleet.envoys


async def test_exact_method_gets_its_backend_and_filters(running: Running) -> None:
    reply = await running.call("/demo.Echo/Hello", b"hi there")
    assert reply.backend == "grpc-v1"
    assert reply.body["method"] == "/demo.Echo/Hello"
    assert reply.body["body"] == "hi there"
    assert reply.body["metadata"]["x-route"] == "hello"  # RequestHeaderModifier
    assert reply.headers["x-gateway"] == "contour"  # ResponseHeaderModifier
    assert reply.headers[BACKEND_HEADER] == "grpc-v1"


async def test_https_listener_terminates_tls_and_speaks_h2(running: Running) -> None:
    reply = await eventually(
        lambda: running.call("/demo.Echo/Hello", b"secret", tls=True),
        lambda r: r.backend == "grpc-v1",
    )
    assert reply.body["body"] == "secret"
    assert reply.body["metadata"]["x-route"] == "hello"
    other = await running.call("/demo.Echo/Goodbye", tls=True)
    assert other.backend == "grpc-v2"


async def test_service_match_and_header_match(running: Running) -> None:
    other = await running.call("/demo.Echo/Goodbye")
    assert (other.backend, other.body["method"]) == ("grpc-v2", "/demo.Echo/Goodbye")
    assert "x-route" not in other.body["metadata"]
    canary = await running.call("/demo.Other/Anything", metadata=(("x-canary", "true"),))
    assert canary.backend == "grpc-v2"


async def test_unmatched_calls_are_unimplemented(running: Running) -> None:
    assert (await running.call("/demo.Other/Anything")).code is grpc.StatusCode.UNIMPLEMENTED
    # a hostname the route does not name: no virtual host, same status
    async with grpc.aio.insecure_channel(
        f"127.0.0.1:{running.port}", options=[("grpc.default_authority", "other.example.com")]
    ) as elsewhere:
        stub = elsewhere.unary_unary("/demo.Echo/Hello")
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub(b"", timeout=5)
    assert raised.value.code() is grpc.StatusCode.UNIMPLEMENTED


async def test_backend_status_passes_through(running: Running) -> None:
    reply = await running.call("/demo.Echo/Fail", b"NOT_FOUND")
    assert reply.code is grpc.StatusCode.NOT_FOUND
    assert "grpc-v2 fails on purpose" in reply.body["details"]


async def test_unresolved_backend_fails_with_a_grpc_status(running: Running) -> None:
    reply = await running.call("/demo.Broken/Call")
    assert reply.code is grpc.StatusCode.UNAVAILABLE, reply


async def test_weights_are_honoured(running: Running) -> None:
    replies = await asyncio.gather(*(running.call("/demo.Split/Go") for _ in range(200)))
    counts = collections.Counter(r.backend for r in replies)
    assert set(counts) == {"grpc-v1", "grpc-v2"}, counts
    # 80/20 of 200: v1 expects 160 (sd ~5.7); 130..190 is over five sd either way
    assert 130 <= counts["grpc-v1"] <= 190, counts
