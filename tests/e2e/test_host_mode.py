"""The whole pipeline in host mode: YAML files -> translate -> xDS -> a real Envoy -> real
echo backends. Exercised over both Delta and State-of-the-World ADS."""

from __future__ import annotations

import collections
import http.client
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from gateway_contour.app import HostMode
from gateway_contour.demo.echo import start_echo
from gateway_contour.provisioner.host import free_port
from tests.e2e.host_controller import host_config
from tests.e2e.host_controller import running as host_mode_running
from tests.e2e.host_world import service_yaml
from tests.e2e.http_client import Response, arequest, eventually, request

pytestmark = pytest.mark.e2e

HOST = "demo.example.com"


def gateway_yaml(port: int) -> str:
    return textwrap.dedent(f"""\
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {{name: gc}}
        spec: {{controllerName: gateway-contour.dev/gateway-controller}}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {{name: web, namespace: default}}
        spec:
          gatewayClassName: gc
          listeners:
            - {{name: http, protocol: HTTP, port: {port}}}
        """)


ROUTES = textwrap.dedent(f"""\
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {{name: demo, namespace: default}}
    spec:
      parentRefs: [{{name: web}}]
      hostnames: [{HOST}]
      rules:
        - matches: [{{path: {{type: PathPrefix, value: /v2}}}}]
          backendRefs: [{{name: app-v2, port: 80}}]
        - matches: [{{headers: [{{name: x-canary, value: "true"}}]}}]
          backendRefs: [{{name: app-v2, port: 80}}]
        - matches: [{{path: {{type: PathPrefix, value: /split}}}}]
          backendRefs:
            - {{name: app-v1, port: 80, weight: 80}}
            - {{name: app-v2, port: 80, weight: 20}}
        - backendRefs: [{{name: app-v1, port: 80}}]
    """)


@dataclass
class Running:
    mode: HostMode
    config_dir: Path
    port: int

    async def get(self, path: str = "/", **kwargs: object) -> Response:
        kwargs.setdefault("host", HOST)
        return await arequest("127.0.0.1", self.port, path, **kwargs)

    def write(self, name: str, text: str) -> None:
        # write then rename: the watcher never sees a half-written file
        tmp = self.config_dir / f".{name}.tmp"
        tmp.write_text(text)
        tmp.rename(self.config_dir / name)


def demo_world(tmp_path: Path, v1: Any, v2: Any) -> tuple[Path, int]:
    """A config directory with the Gateway (on a free port), both Services and ROUTES."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    port = free_port()
    (config_dir / "gateway.yaml").write_text(gateway_yaml(port))
    (config_dir / "services.yaml").write_text(
        service_yaml("app-v1", v1) + "---\n" + service_yaml("app-v2", v2)
    )
    (config_dir / "routes.yaml").write_text(ROUTES)
    return config_dir, port


@pytest.fixture(params=["delta", "sotw"])
async def running(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Running]:
    v1, v2 = start_echo("app-v1"), start_echo("app-v2")
    config_dir, port = demo_world(tmp_path, v1, v2)
    config = host_config(config_dir, tmp_path / "envoy", delta=request.param == "delta")
    try:
        async with host_mode_running(config) as mode:
            run = Running(mode, config_dir, port)
            await eventually(run.get, lambda r: r.backend == "app-v1")
            yield run
    finally:
        v1.stop()
        v2.stop()
    # everything host mode started is gone
    assert mode.fleet is not None and not mode.fleet.envoys


async def test_routes_by_host_path_and_header(running: Running) -> None:
    assert (await running.get("/")).backend == "app-v1"
    assert (await running.get("/v2")).backend == "app-v2"
    assert (await running.get("/v2/deeper/path")).backend == "app-v2"
    # PathPrefix matches whole segments: /v2x is not under /v2
    assert (await running.get("/v2x")).backend == "app-v1"
    assert (await running.get("/", headers={"x-canary": "true"})).backend == "app-v2"
    assert (await running.get("/", headers={"x-canary": "false"})).backend == "app-v1"
    # a host no route names is not found
    assert (await running.get("/", host="other.example.com")).status == 404
    # the port in the Host header does not matter
    assert (await running.get("/v2", host=f"{HOST}:{running.port}")).backend == "app-v2"


async def test_weights_are_honoured(running: Running) -> None:
    def sample(n: int) -> collections.Counter[str | None]:
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
        try:
            return collections.Counter(
                request("127.0.0.1", running.port, "/split", host=HOST, conn=conn).backend
                for _ in range(n)
            )
        finally:
            conn.close()

    n = 400
    counts = await anyio.to_thread.run_sync(sample, n)
    assert set(counts) == {"app-v1", "app-v2"}, counts
    share_v1 = counts["app-v1"] / n
    # 80/20 split; binomial sd at n=400 is 0.02, so +-0.08 is four sd
    assert 0.72 <= share_v1 <= 0.88, counts


async def test_file_edit_changes_routing_without_restarting_envoy(running: Running) -> None:
    assert running.mode.fleet is not None
    pids_before = {f: e.process.pid for f, e in running.mode.fleet.envoys.items()}
    running.write("routes.yaml", ROUTES.replace("value: /v2}", "value: /moved}"))
    await eventually(lambda: running.get("/moved"), lambda r: r.backend == "app-v2")
    assert (await running.get("/v2")).backend == "app-v1"
    pids_after = {f: e.process.pid for f, e in running.mode.fleet.envoys.items()}
    assert pids_after == pids_before


async def test_rejected_config_is_nacked_and_previous_routes_keep_serving(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def nacks() -> int:
        return running.mode.nack_count()

    before = await nacks()
    # Envoy refuses a Host response header ("host headers may not be modified"), which no
    # per-object check catches yet (those it does catch: test_blast_radius); the fallback
    # (test_nack_fallback) then withholds the route that carries it
    bad = textwrap.dedent(f"""\
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {{name: bad, namespace: default}}
        spec:
          parentRefs: [{{name: web}}]
          hostnames: [{HOST}]
          rules:
          - matches: [{{path: {{type: PathPrefix, value: /bad}}}}]
            filters:
            - type: ResponseHeaderModifier
              responseHeaderModifier: {{set: [{{name: Host, value: x}}]}}
            backendRefs: [{{name: app-v2, port: 80}}]
        """)
    running.write("bad.yaml", bad)
    await eventually(nacks, lambda n: n > before)
    # the other routes keep answering, before and after the bad route is withheld
    assert (await running.get("/")).backend == "app-v1"
    assert (await running.get("/v2/x")).backend == "app-v2"
    await eventually(lambda: running.get("/bad"), lambda r: r.backend == "app-v1")
    assert (await running.get("/v2/x")).backend == "app-v2"
    # a good config is accepted again
    running.write("routes.yaml", ROUTES.replace("value: /v2}", "value: /again}"))
    await eventually(lambda: running.get("/again"), lambda r: r.backend == "app-v2")


async def test_files_that_would_crash_or_vanish_are_named_and_the_rest_serves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 20/22: a file nested 600 levels deep made `run` exit (RecursionError), and an
    HTTPRoute whose spec is a string vanished without a word. Now each is named in the log
    and in --status-file, the good route answers 200, and later changes still apply."""
    v1, v2 = start_echo("app-v1"), start_echo("app-v2")
    config_dir, port = demo_world(tmp_path, v1, v2)
    (config_dir / "deep.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: "
        + "[" * 600
        + "]" * 600
        + "\n"
    )
    (config_dir / "string-spec.yaml").write_text(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
        "metadata: {name: text, namespace: default}\nspec: just a string\n"
    )
    status_file = tmp_path / "status.yaml"
    config = host_config(config_dir, tmp_path / "envoy", status_file=status_file)
    try:
        async with host_mode_running(config) as mode:
            run = Running(mode, config_dir, port)
            await eventually(run.get, lambda r: r.status == 200 and r.backend == "app-v1")
            run.write(
                "more.yaml",
                ROUTES.replace("name: demo", "name: more").replace(HOST, "more.example.com"),
            )
            more = await eventually(
                lambda: run.get(host="more.example.com"), lambda r: r.status == 200
            )
            assert more.backend == "app-v1"
            logged = caplog.text
            assert "deep.yaml#0: nested deeper than 64 levels" in logged
            assert "string-spec.yaml#0: spec is a str, not a mapping" in logged
            reported = await eventually(
                lambda: anyio.to_thread.run_sync(status_file.read_text),
                lambda text: "string-spec.yaml" in text,
            )
            assert "deep.yaml" in reported
    finally:
        v1.stop()
        v2.stop()
