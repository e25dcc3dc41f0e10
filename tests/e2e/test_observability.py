"""Operations endpoints of a running controller (host mode, real Envoy on mutual TLS),
scraped over HTTP.

- /metrics: rebuild count and duration, objects by kind, connected Envoys, pushes and NACKs,
  each moving when a file edit rebuilds or when Envoy rejects a configuration.
- /healthz and /readyz; /readyz is 503 (naming what is missing) until the first snapshot.
- /debug/ir and /debug/xds show the configuration (a TLS listener whose Secret holds a real
  private key) without any of the key material: neither the PEM, nor its base64 body, nor
  the base64 of the PEM as it sits in the Secret.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway_contour.app import HostMode
from gateway_contour.certs import generate_xds_certificates, self_signed, write_xds_dirs
from gateway_contour.demo.echo import start_echo
from gateway_contour.observability.metrics import Metrics, Observed
from gateway_contour.observability.server import OpsServer
from gateway_contour.pipeline import Pipeline
from gateway_contour.provisioner.host import free_port
from gateway_contour.status.writer import WriteStats
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions
from gateway_contour.xds.cache import SnapshotCache
from tests.e2e.host_controller import host_config, running
from tests.e2e.host_world import service_yaml
from tests.e2e.http_client import Response, arequest, eventually
from tests.e2e.test_host_mode import HOST, gateway_yaml

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

CERT_PEM, KEY_PEM = self_signed(HOST)


def route_yaml(name: str, path: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {{name: {name}, namespace: default}}
        spec:
          parentRefs: [{{name: web}}]
          hostnames: [{HOST}]
          rules:
            - matches: [{{path: {{type: PathPrefix, value: {path}}}}}]
              backendRefs: [{{name: app, port: 80}}]
        """)


def https_yaml(http_port: int, https_port: int) -> str:
    """The Gateway with a second listener, HTTPS, whose certificate is a Secret holding a
    real private key."""
    encoded = {k: base64.b64encode(v).decode() for k, v in (("crt", CERT_PEM), ("key", KEY_PEM))}
    return gateway_yaml(http_port) + textwrap.dedent(f"""\
            - name: https
              protocol: HTTPS
              port: {https_port}
              tls: {{certificateRefs: [{{name: web-cert}}]}}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {{name: web-cert, namespace: default}}
        type: kubernetes.io/tls
        data: {{tls.crt: {encoded["crt"]}, tls.key: {encoded["key"]}}}
        """)


@dataclass
class Ops:
    mode: HostMode
    config_dir: Path
    http_port: int
    https_port: int

    @property
    def metrics_port(self) -> int:
        return self.mode.ops[0].port

    @property
    def debug_port(self) -> int:
        return self.mode.ops[1].port

    async def get(self, port: int, path: str) -> Response:
        return await arequest("127.0.0.1", port, path)

    async def metrics(self) -> Samples:
        text = (await self.get(self.metrics_port, "/metrics")).body.decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def write(self, name: str, text: str) -> None:
        tmp = self.config_dir / f".{name}.tmp"
        tmp.write_text(text)
        tmp.rename(self.config_dir / name)


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((f"gateway_contour_{name}", tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def ops(tmp_path: Path) -> AsyncIterator[Ops]:
    app = start_echo("app")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    http_port, https_port = free_port(), free_port()
    (config_dir / "gateway.yaml").write_text(gateway_yaml(http_port))
    (config_dir / "services.yaml").write_text(service_yaml("app", app))
    (config_dir / "routes.yaml").write_text(route_yaml("first", "/"))
    certs = write_xds_dirs(generate_xds_certificates(), tmp_path / "certs")[0].parent
    config = host_config(
        config_dir,
        tmp_path / "envoy",
        metrics_address="127.0.0.1:0",
        debug_address="127.0.0.1:0",
        xds_certs=certs,  # the Envoy gets all of it over mutual TLS
    )
    try:
        async with running(config) as mode:
            ops = Ops(mode, config_dir, http_port, https_port)
            await eventually(
                lambda: arequest("127.0.0.1", http_port, "/", host=HOST),
                lambda r: r.backend == "app",
            )
            yield ops
    finally:
        app.stop()


async def test_metrics_move_with_rebuilds_and_nacks(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await ops.get(ops.metrics_port, "/healthz")).status == 200
    ready = await ops.get(ops.metrics_port, "/readyz")
    assert (ready.status, ready.body) == (200, b"ready\n")
    first = await ops.metrics()
    assert sample(first, "ready") == 1
    assert sample(first, "rebuilds_total") >= 1
    assert sample(first, "rebuild_duration_seconds_count", outcome="ok") >= 1
    assert sample(first, "objects", kind="HTTPRoute") == 1
    assert sample(first, "objects", kind="Gateway") == 1
    assert sample(first, "xds_connected_clients", fleet="default/web", protocol="delta") == 1
    assert sample(first, "xds_pushes_total") >= 4  # listeners, routes, clusters, endpoints
    assert sample(first, "xds_nacks_total", type="RouteConfiguration") == 0
    assert ("gateway_contour_xds_certificate_reloads_total", ()) in first

    # a second route: a rebuild, one more HTTPRoute, more pushes
    ops.write("more.yaml", route_yaml("second", "/second"))
    after_edit = await eventually(
        ops.metrics, lambda m: sample(m, "objects", kind="HTTPRoute") == 2
    )
    assert sample(after_edit, "rebuilds_total") > sample(first, "rebuilds_total")
    assert sample(after_edit, "rebuild_duration_seconds_count", outcome="ok") > sample(
        first, "rebuild_duration_seconds_count", outcome="ok"
    )
    await eventually(
        ops.metrics, lambda m: sample(m, "xds_pushes_total") > sample(first, "xds_pushes_total")
    )

    # Envoy refuses a Host response header ("host headers may not be modified"), which no
    # per-object check catches yet: a NACK (the fallback then withholds the route)
    bad = route_yaml("second", "/second").replace(
        "backendRefs: [{name: app, port: 80}]",
        "filters: [{type: ResponseHeaderModifier, responseHeaderModifier: "
        "{set: [{name: Host, value: x}]}}]\n"
        "      backendRefs: [{name: app, port: 80}]",
    )
    ops.write("more.yaml", bad)
    nacked = await eventually(
        ops.metrics, lambda m: sample(m, "xds_nacks_total", type="RouteConfiguration") >= 1
    )
    assert sample(nacked, "xds_acks_total") >= sample(first, "xds_acks_total")
    assert sample(nacked, "xds_connected_clients", fleet="default/web", protocol="delta") == 1
    # the debug endpoints are not on the metrics address
    assert (await ops.get(ops.metrics_port, "/debug/ir")).status == 404


async def test_debug_dumps_show_configuration_but_no_secret_material(ops: Ops) -> None:
    ops.write("gateway.yaml", https_yaml(ops.http_port, ops.https_port))

    def tls_get() -> bytes:
        context = ssl.create_default_context(cadata=CERT_PEM.decode())
        with contextlib.closing(
            context.wrap_socket(
                socket.create_connection(("127.0.0.1", ops.https_port), 2),
                server_hostname=HOST,
            )
        ) as conn:
            conn.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            return conn.recv(100)

    async def served_over_tls() -> bytes:
        return await asyncio.to_thread(tls_get)

    # the certificate is really in use: Envoy terminates TLS with it
    assert (await eventually(served_over_tls, lambda b: b.startswith(b"HTTP/1.1"))) != b""

    ir = (await ops.get(ops.debug_port, "/debug/ir")).body.decode()
    xds = (await ops.get(ops.debug_port, "/debug/xds")).body.decode()
    one_fleet = await ops.get(ops.debug_port, "/debug/xds?fleet=default/web")
    assert "default/web" in ir and "https" in ir
    assert "web-cert" in xds and "secrets:" in xds and "listeners:" in xds
    assert one_fleet.status == 200 and "web-cert" in one_fleet.body.decode()
    assert "<redacted sha256:" in ir and "<redacted sha256:" in xds

    key_body = b"".join(KEY_PEM.splitlines()[1:-1]).decode()  # the base64 of the DER key
    forbidden = {
        "key PEM": KEY_PEM.decode(),
        "key PEM, base64 (as in the Secret)": base64.b64encode(KEY_PEM).decode(),
        "key DER, base64 (the PEM body)": key_body,
        "first line of the PEM body": KEY_PEM.splitlines()[1].decode(),
        "PRIVATE KEY marker": "PRIVATE KEY",
    }
    for dump_name, dump in (("ir", ir), ("xds", xds)):
        for what, text in forbidden.items():
            assert text not in dump, f"/debug/{dump_name} shows the {what}"


async def test_readyz_waits_for_sync_and_first_snapshot() -> None:
    cache = SnapshotCache()
    pipeline = Pipeline(cache, TranslateOptions())
    synced = False
    writes = WriteStats()
    observed = Observed(synced=lambda: synced, status=lambda: writes)
    metrics = Metrics(observed)
    metrics.attach(pipeline)
    server = OpsServer(metrics, debug=True)
    port = await server.start("127.0.0.1", 0)
    try:
        not_ready = await arequest("127.0.0.1", port, "/readyz")
        assert not_ready.status == 503
        assert b"not every watched kind has synced" in not_ready.body
        assert b"no configuration published yet" in not_ready.body
        assert (await arequest("127.0.0.1", port, "/debug/ir")).status == 503
        assert (await arequest("127.0.0.1", port, "/healthz")).status == 200

        synced = True
        still = await arequest("127.0.0.1", port, "/readyz")
        assert (still.status, still.body) == (503, b"not ready: no configuration published yet\n")
        assert await pipeline.rebuild(Snapshot.of([])) is not None
        assert (await arequest("127.0.0.1", port, "/readyz")).status == 200
        assert (await arequest("127.0.0.1", port, "/debug/ir")).status == 200
        assert (await arequest("127.0.0.1", port, "/nothing")).status == 404
        # status write counters are the writer's running totals, read at scrape time
        writes.writes, writes.conflicts, writes.failures, writes.skipped = 5, 2, 1, 7
        text = (await arequest("127.0.0.1", port, "/metrics")).body.decode()
        scraped = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
        assert scraped["gateway_contour_status_writes_total"] == 5
        assert scraped["gateway_contour_status_write_conflicts_total"] == 2
        assert scraped["gateway_contour_status_write_failures_total"] == 1
        assert scraped["gateway_contour_status_writes_skipped_total"] == 7
        assert scraped["gateway_contour_rebuilds_total"] == 1
        assert (await arequest("127.0.0.1", port, "/metrics", method="POST")).status == 405
    finally:
        await server.stop()
