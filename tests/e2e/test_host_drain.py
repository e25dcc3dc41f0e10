"""Graceful Envoy drain when host mode shuts down (a real Envoy, a real slow backend).

A request in flight when the controller stops is answered: the Envoy first fails its health
checks (admin /ready turns 503 DRAINING) and drains its listeners, and is stopped only once
its last downstream connection closed. A connection that never finishes does not hold the
shutdown beyond `drain_timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gateway_contour.app import HostMode
from gateway_contour.provisioner.host import free_port
from tests.e2e.host_controller import host_config
from tests.e2e.host_world import service_yaml
from tests.e2e.http_client import arequest, eventually
from tests.e2e.test_host_mode import HOST, gateway_yaml
from tests.e2e.test_observability import route_yaml

pytestmark = pytest.mark.e2e


@dataclass
class SlowBackend:
    """GET /slow waits for `release`; anything else answers at once."""

    host: str
    port: int
    arrived: threading.Event
    release: threading.Event


@pytest.fixture
def backend() -> Iterator[SlowBackend]:
    arrived, release = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/slow":
                arrived.set()
                release.wait(30)
            body = f"answered {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SlowBackend("127.0.0.1", int(server.server_address[1]), arrived, release)
    release.set()
    server.shutdown()
    server.server_close()


def slow_request(port: int, result: list[object]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/slow", headers={"Host": HOST})
        response = conn.getresponse()
        result.append((response.status, response.read()))
    except (OSError, http.client.HTTPException) as err:
        result.append(err)
    finally:
        conn.close()


async def start(tmp_path: Path, backend: SlowBackend, drain_timeout: float) -> tuple[HostMode, int]:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    port = free_port()
    (config_dir / "gateway.yaml").write_text(gateway_yaml(port))
    (config_dir / "services.yaml").write_text(service_yaml("app", backend))  # type: ignore[arg-type]
    (config_dir / "routes.yaml").write_text(route_yaml("slow", "/"))
    mode = HostMode(host_config(config_dir, tmp_path / "envoy", drain_timeout=drain_timeout))
    return mode, port


async def test_in_flight_request_is_answered_before_envoy_stops(
    tmp_path: Path, backend: SlowBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway_contour.provisioner.host")
    mode, port = await start(tmp_path, backend, drain_timeout=20)
    task = asyncio.create_task(mode.run())
    try:
        fast = await eventually(
            lambda: arequest("127.0.0.1", port, "/fast", host=HOST), lambda r: r.status == 200
        )
        assert fast.body == b"answered /fast"
        assert mode.fleet is not None
        (envoy,) = mode.fleet.envoys.values()
        result: list[object] = []
        client = threading.Thread(target=slow_request, args=(port, result))
        client.start()
        assert await asyncio.to_thread(backend.arrived.wait, 10)

        task.cancel()  # shutdown begins while the request is in flight
        ready = await eventually(
            lambda: arequest("127.0.0.1", envoy.admin_port, "/ready"),
            lambda r: r.status == 503,
        )
        assert ready.body.strip() == b"DRAINING"
        assert envoy.process.running()  # still running: the request is not answered yet
        backend.release.set()
        await asyncio.to_thread(client.join, 30)
        assert result == [(200, b"answered /slow")]
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert not envoy.process.running()
        assert "envoy for default/web drained" in caplog.messages
    finally:
        backend.release.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_drain_is_bounded_by_its_timeout(
    tmp_path: Path, backend: SlowBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway_contour.provisioner.host")
    mode, port = await start(tmp_path, backend, drain_timeout=1.0)
    task = asyncio.create_task(mode.run())
    client: threading.Thread | None = None
    try:
        await eventually(
            lambda: arequest("127.0.0.1", port, "/fast", host=HOST), lambda r: r.status == 200
        )
        assert mode.fleet is not None
        (envoy,) = mode.fleet.envoys.values()
        result: list[object] = []
        client = threading.Thread(target=slow_request, args=(port, result))
        client.start()
        assert await asyncio.to_thread(backend.arrived.wait, 10)
        task.cancel()
        # the backend never answers, yet shutdown completes (after the 1 s bound)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)
        assert not envoy.process.running()
        assert "draining envoy for default/web" in caplog.messages
        assert "envoy for default/web drained" not in caplog.messages
    finally:
        backend.release.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if client is not None:
            await asyncio.to_thread(client.join, 30)
