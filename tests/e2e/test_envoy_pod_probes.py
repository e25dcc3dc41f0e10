"""The provisioned Envoy Pod's probes and drain, against a real Envoy and our ADS server.

The bootstrap's ready listener (the Pod's port 8002) passes GET /ready and
/stats/prometheus to the admin and nothing else: no config dump, no /quitquitquit. It is
closed until Envoy has its configuration and /ready is 503 after /healthcheck/fail; the
sidecar's /healthz (the liveness probe) answers as long as Envoy's admin does,
configuration or not. Envoy started before its ADS server keeps retrying
and becomes ready once the server is up. The drain sidecar (`gateway-contour envoy-drain`,
a real subprocess given SIGTERM as the kubelet does) holds /shutdown while a keep-alive
connection stays open, answers once it closes or the bound passes, and exits only when
Envoy is gone.
"""

from __future__ import annotations

import asyncio
import http.client
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway_contour.envoy.bootstrap import BootstrapOptions, write_bootstrap
from gateway_contour.envoy_drain import open_connections
from gateway_contour.xds import types
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer
from tests.e2e.conftest import EnvoyProcess
from tests.e2e.http_client import arequest, eventually, request
from tests.e2e.test_xds_server import FLEET, ROUTE_NAME, free_port, listener, route_config

pytestmark = pytest.mark.e2e

StartEnvoy = Callable[..., Awaitable[EnvoyProcess]]


@dataclass
class PodEnvoy:
    envoy: EnvoyProcess
    cache: SnapshotCache
    server: XdsServer
    ready_port: int
    listen_port: int
    admin_port: int

    async def ready(self, path: str = "/ready", method: str = "GET") -> tuple[int, bytes]:
        answer = await arequest("127.0.0.1", self.ready_port, path, method=method)
        return answer.status, answer.body


def pod_bootstrap(tmp_path: Path, xds_port: int) -> tuple[Path, int, int]:
    """A bootstrap as the Pod's init container writes it (fixed admin port, ready port)."""
    admin_port, ready_port = free_port(), free_port()
    options = BootstrapOptions(
        node_id="pod-envoy",
        fleet=FLEET,
        xds_port=xds_port,
        admin_port=admin_port,
        ready_port=ready_port,
    )
    return write_bootstrap(options, tmp_path / "bootstrap.json"), admin_port, ready_port


def direct_world(listen_port: int) -> dict[str, Any]:
    return {
        types.LISTENER: {"http": listener(listen_port)},
        types.ROUTE: {ROUTE_NAME: route_config("served")},
    }


@pytest.fixture
async def pod_envoy(tmp_path: Path, start_envoy: StartEnvoy) -> AsyncIterator[PodEnvoy]:
    """An Envoy from the Pod's bootstrap, its ADS server up but not ready yet; the drain
    that Envoy runs with in a Pod is long (600 s), so only clients close connections."""
    cache = SnapshotCache()
    server = XdsServer(cache)
    xds_port = await server.start("127.0.0.1", 0)
    listen_port = free_port()
    cache.set_fleet(FLEET, direct_world(listen_port))
    bootstrap, admin_port, ready_port = pod_bootstrap(tmp_path, xds_port)
    envoy = await start_envoy(bootstrap, "--drain-time-s", "600")
    try:
        yield PodEnvoy(envoy, cache, server, ready_port, listen_port, admin_port)
    finally:
        envoy.stop()
        await server.stop(grace=None)


async def test_ready_listener_serves_readiness_and_nothing_else(pod_envoy: PodEnvoy) -> None:
    # no configuration yet: like every listener, the ready one is not open (not ready)
    assert (await pod_envoy.envoy.admin("/ready")) == (503, "PRE_INITIALIZING\n")
    with pytest.raises(ConnectionRefusedError):
        await pod_envoy.ready()
    pod_envoy.cache.mark_ready()
    assert await eventually(lambda: pod_envoy.ready(), lambda r: r[0] == 200) == (200, b"LIVE\n")

    for path in ("/config_dump", "/quitquitquit", "/clusters", "/server_info", "/", "/ready/"):
        assert (await pod_envoy.ready(path))[0] == 404, path
        assert (await pod_envoy.ready(path, "POST"))[0] == 404, path
    for path in ("/ready", "/healthcheck/fail", "/drain_listeners", "/logging"):
        assert (await pod_envoy.ready(path, "POST"))[0] == 404, path
    pod_envoy.envoy.check_alive()  # /quitquitquit did not reach the admin
    assert (await pod_envoy.envoy.admin("/ready")) == (200, "LIVE\n")
    status, metrics = await pod_envoy.ready("/stats/prometheus")
    assert status == 200 and b"envoy_server_live{} 1" in metrics

    failed = await arequest("127.0.0.1", pod_envoy.admin_port, "/healthcheck/fail", method="POST")
    assert failed.status == 200
    assert await eventually(lambda: pod_envoy.ready(), lambda r: r[0] == 503) == (
        503,
        b"DRAINING\n",
    )


async def test_liveness_answers_while_envoy_waits_for_its_configuration(
    pod_envoy: PodEnvoy, sidecars: Callable[..., Awaitable[Sidecar]]
) -> None:
    sidecar = await sidecars(pod_envoy, 600)
    # the ADS server sends nothing yet: not ready, and still alive
    assert (await arequest("127.0.0.1", sidecar.port, "/healthz")).status == 200
    with pytest.raises(ConnectionRefusedError):
        await pod_envoy.ready()
    pod_envoy.envoy.stop()
    dead = await arequest("127.0.0.1", sidecar.port, "/healthz")
    assert (dead.status, dead.body) == (503, b"envoy admin does not answer\n")


async def test_envoy_retries_until_its_ads_server_is_up(
    tmp_path: Path, start_envoy: StartEnvoy
) -> None:
    xds_port = free_port()  # nothing listens there yet
    bootstrap, _, ready_port = pod_bootstrap(tmp_path, xds_port)
    envoy = await start_envoy(bootstrap)
    failures = "/stats?filter=^cluster\\.gateway-contour-xds\\.upstream_cx_connect_fail$"
    await eventually(
        lambda: envoy.admin(failures), lambda r: r is not None and _stat(r[1]) >= 3, timeout=30
    )
    with pytest.raises(ConnectionRefusedError):  # not ready: its ready listener is closed
        await arequest("127.0.0.1", ready_port, "/ready")

    cache = SnapshotCache()
    cache.set_fleet(FLEET, direct_world(free_port()))
    cache.mark_ready()
    server = XdsServer(cache)
    await server.start("127.0.0.1", xds_port)
    try:
        ready = await eventually(
            lambda: arequest("127.0.0.1", ready_port, "/ready"), lambda r: r.status == 200
        )
        assert ready.body == b"LIVE\n"
    finally:
        await server.stop(grace=None)


def _stat(text: str) -> int:
    return sum(int(line.partition(":")[2]) for line in text.splitlines() if ":" in line)


@dataclass
class Sidecar:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    answers: list[object]
    shutdown: threading.Thread | None = None

    async def log(self) -> str:
        return self.log_path.read_text()

    def pre_stop(self) -> threading.Thread:
        """GET /shutdown in a thread, as the Envoy container's preStop hook; its answer
        lands in `answers`."""

        def hook() -> None:
            try:
                self.answers.append(request("127.0.0.1", self.port, "/shutdown", timeout=900).body)
            except (OSError, http.client.HTTPException) as err:
                self.answers.append(err)

        self.shutdown = threading.Thread(target=hook, daemon=True)
        self.shutdown.start()
        return self.shutdown

    async def terminated(self) -> None:
        """SIGTERM, as the kubelet sends the sidecar when the Pod terminates; then the
        hook's answer."""
        hook = self.shutdown or self.pre_stop()
        self.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(hook.join, 30)


@pytest.fixture
def sidecars(tmp_path: Path) -> Iterator[Callable[..., Awaitable[Sidecar]]]:
    """Factory: a running `gateway-contour envoy-drain` for an Envoy, with its bound."""
    started: list[subprocess.Popen[bytes]] = []

    async def start(pod: PodEnvoy, timeout: float, min_drain: float = 0) -> Sidecar:
        port = free_port()
        log_path = tmp_path / f"drain-{len(started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "gateway_contour.cli", "envoy-drain"),
                    *("--address", "127.0.0.1", "--port", str(port)),
                    *("--admin-url", f"http://127.0.0.1:{pod.admin_port}"),
                    *("--timeout", str(timeout), "--min-drain", str(min_drain)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        # up once it answers (404: it serves only /shutdown and /healthz)
        await eventually(lambda: arequest("127.0.0.1", port, "/"), lambda r: r.status == 404)
        return Sidecar(process, port, log_path, [])

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


async def connections(pod: PodEnvoy) -> int:
    answer = await pod.envoy.admin("/stats?filter=downstream_cx_active")
    assert answer is not None
    return open_connections(answer[1])


async def served(pod: PodEnvoy) -> http.client.HTTPConnection:
    """A keep-alive connection through the Envoy's listener, one request answered on it."""
    pod.cache.mark_ready()
    await eventually(lambda: arequest("127.0.0.1", pod.listen_port), lambda r: r.status == 200)
    conn = http.client.HTTPConnection("127.0.0.1", pod.listen_port, timeout=10)
    answer = await asyncio.to_thread(request, "127.0.0.1", pod.listen_port, conn=conn)
    assert answer.body == b"served"
    await eventually(lambda: connections(pod), lambda n: n == 1)
    return conn


async def test_shutdown_waits_for_the_open_connection(
    pod_envoy: PodEnvoy, sidecars: Callable[..., Awaitable[Sidecar]]
) -> None:
    conn = await served(pod_envoy)
    sidecar = await sidecars(pod_envoy, 600)
    hook = sidecar.pre_stop()
    assert (await pod_envoy.ready())[0] == 200  # the hook alone drains nothing

    sidecar.process.send_signal(signal.SIGTERM)  # the kubelet terminates the Pod
    assert await eventually(lambda: pod_envoy.ready(), lambda r: r[0] == 503) == (
        503,
        b"DRAINING\n",
    )
    await eventually(sidecar.log, lambda text: "draining envoy" in text)  # both POSTs done
    # draining, and the keep-alive connection still open: the hook has no answer
    assert await connections(pod_envoy) == 1
    assert sidecar.answers == [] and sidecar.process.poll() is None

    conn.close()
    await asyncio.to_thread(hook.join, 30)
    assert sidecar.answers == [b"drained\n"]
    # the sidecar outlives the drain until Envoy (SIGTERMed after its hook) is gone
    assert sidecar.process.poll() is None
    pod_envoy.envoy.stop()
    assert await asyncio.to_thread(sidecar.process.wait, 30) == 0


async def test_shutdown_is_bounded(
    pod_envoy: PodEnvoy, sidecars: Callable[..., Awaitable[Sidecar]]
) -> None:
    conn = await served(pod_envoy)
    sidecar = await sidecars(pod_envoy, 1)
    await sidecar.terminated()
    assert sidecar.answers == [b"timed out\n"]
    assert await connections(pod_envoy) == 1  # the bound passed, not the connection
    conn.close()


async def test_shutdown_without_connections_returns_at_once(
    pod_envoy: PodEnvoy, sidecars: Callable[..., Awaitable[Sidecar]]
) -> None:
    pod_envoy.cache.mark_ready()
    await eventually(lambda: pod_envoy.ready(), lambda r: r[0] == 200)
    # a bound no test waits out: answering means no connection was waited for
    sidecar = await sidecars(pod_envoy, 600)
    await sidecar.terminated()
    assert sidecar.answers == [b"drained\n"]
    assert (await pod_envoy.ready())[0] == 503


async def test_a_draining_envoy_accepts_new_connections_for_the_minimum(
    pod_envoy: PodEnvoy, sidecars: Callable[..., Awaitable[Sidecar]]
) -> None:
    # while the Pod's endpoint is being taken out of kube-proxy's rules, new connections
    # still arrive: with none open, the drain must not end before the minimum
    pod_envoy.cache.mark_ready()
    await eventually(
        lambda: arequest("127.0.0.1", pod_envoy.listen_port), lambda r: r.status == 200
    )
    sidecar = await sidecars(pod_envoy, 600, min_drain=8)
    hook = sidecar.pre_stop()
    sidecar.process.send_signal(signal.SIGTERM)
    await eventually(sidecar.log, lambda text: "draining envoy" in text)
    await eventually(lambda: connections(pod_envoy), lambda n: n == 0)
    answer = await asyncio.to_thread(request, "127.0.0.1", pod_envoy.listen_port)
    assert answer.status == 200  # a new connection, served while draining
    assert sidecar.answers == []  # no connection open, yet the minimum has not passed
    await asyncio.to_thread(hook.join, 30)
    assert sidecar.answers == [b"drained\n"]
