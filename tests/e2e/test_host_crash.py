"""Host mode's data plane outlives a crashed controller (a real `gateway-contour run`
process, a real Envoy, a real HTTP client).

While a bounded loop of requests runs against a route, the controller is SIGKILLed: its
Envoy keeps answering from its last configuration. The controller started again on the
same state directory adopts that Envoy (same pid, no second one), accepts its reconnecting
stream (the recorded fleet token), and a route added after the restart reaches traffic.
Not one request fails along the way. A SIGTERM then stops the Envoy as before.
"""

from __future__ import annotations

import http.client
import signal
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway_contour.demo.echo import EchoBackend, start_echo
from gateway_contour.provisioner.host import free_port
from gateway_contour.provisioner.host_launch import DetachedProcess
from gateway_contour.provisioner.host_state import EnvoyRecord, StateDir
from tests.e2e.host_process import ControllerProcess
from tests.e2e.host_world import service_yaml
from tests.e2e.http_client import arequest, eventually, request
from tests.e2e.test_host_mode import HOST, gateway_yaml
from tests.e2e.test_observability import route_yaml

pytestmark = pytest.mark.e2e

NEW_HOST = "added.example.com"
MAX_REQUESTS = 100_000  # the loop's bound; it normally stops long before


@dataclass
class RequestLoop:
    """GET / (a new connection each time) until stopped or MAX_REQUESTS were sent."""

    port: int
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set() and self.sent < MAX_REQUESTS:
            self.sent += 1
            try:
                status = request("127.0.0.1", self.port, "/", host=HOST, timeout=5).status
                if status != 200:
                    self.failures.append(f"request {self.sent}: status {status}")
            except (OSError, http.client.HTTPException) as err:
                self.failures.append(f"request {self.sent}: {err!r}")

    async def wait_for(self, count: int) -> None:
        async def sent() -> int:
            return self.sent

        await eventually(sent, lambda n: n >= count, timeout=30)


def new_host_route() -> str:
    return textwrap.dedent(f"""\
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {{name: added, namespace: default}}
        spec:
          parentRefs: [{{name: web}}]
          hostnames: [{NEW_HOST}]
          rules: [{{backendRefs: [{{name: app, port: 80}}]}}]
        """)


@pytest.fixture
def backend() -> Iterator[EchoBackend]:
    app = start_echo("app")
    yield app
    app.stop()


def kill_leftover_envoys(records: list[EnvoyRecord]) -> None:
    """Whatever a failed test left running of the Envoys of `records`."""
    for record in records:
        process = DetachedProcess.find(record.pid, record.started, record.bootstrap)
        if process is not None:
            process.signal(signal.SIGKILL)
            process.wait(5)


def the_record(state_dir: Path) -> EnvoyRecord:
    (record,) = StateDir(state_dir).load()
    return record


async def test_envoy_outlives_a_killed_controller_and_is_adopted(
    tmp_path: Path, backend: EchoBackend
) -> None:
    config_dir, state_dir = tmp_path / "config", tmp_path / "state"
    config_dir.mkdir()
    port = free_port()
    (config_dir / "gateway.yaml").write_text(gateway_yaml(port))
    (config_dir / "app.yaml").write_text(service_yaml("app", backend))
    (config_dir / "route.yaml").write_text(route_yaml("first", "/"))
    args = ["run", "--config-dir", str(config_dir), "--xds-port", str(free_port())]
    args += ["--state-dir", str(state_dir)]
    controllers: list[ControllerProcess] = []
    seen: list[EnvoyRecord] = []  # every Envoy recorded, for the clean-up
    loop = RequestLoop(port)
    client = threading.Thread(target=loop.run, daemon=True)
    try:
        controllers.append(ControllerProcess.start(args, tmp_path / "controller-1.log"))
        await eventually(
            lambda: arequest("127.0.0.1", port, "/", host=HOST), lambda r: r.status == 200
        )
        envoy = the_record(state_dir)
        seen.append(envoy)

        client.start()
        await loop.wait_for(50)
        controllers[0].signal(signal.SIGKILL)
        killed_at, sent_at_kill = time.monotonic(), loop.sent
        # the Envoy serves on with no controller at all
        await loop.wait_for(sent_at_kill + 300)
        assert DetachedProcess.find(envoy.pid, envoy.started, envoy.bootstrap) is not None

        restarted_at = time.monotonic()
        down_for = restarted_at - killed_at
        sent_at_restart = loop.sent
        controllers.append(ControllerProcess.start(args, tmp_path / "controller-2.log"))
        await controllers[1].wait_for_line(f"adopted envoy for default/web (pid {envoy.pid})")
        # its reconnecting stream is served: a route added now reaches traffic
        (config_dir / "added.yaml").write_text(new_host_route())
        await eventually(
            lambda: arequest("127.0.0.1", port, "/", host=NEW_HOST),
            lambda r: r.status == 200,
            timeout=30,
            interval=0.01,
        )
        first_change = time.monotonic() - restarted_at
        await loop.wait_for(loop.sent + 50)
        loop.stop.set()
        client.join(30)

        print(
            f"\nrequests: {loop.sent} sent, {len(loop.failures)} failed "
            f"({loop.sent - sent_at_kill} after the SIGKILL, "
            f"{sent_at_restart - sent_at_kill} in the {down_for:.2f} s no controller ran); "
            f"new route served {first_change:.2f} s after the restart"
        )
        assert loop.failures == []
        assert the_record(state_dir).pid == envoy.pid  # adopted, not replaced
        assert "started envoy" not in controllers[1].log()

        # a graceful stop still stops the Envoy
        assert controllers[1].signal(signal.SIGTERM) == 0
        assert DetachedProcess(envoy.pid, envoy.started).wait(10)
        assert StateDir(state_dir).load() == []
    finally:
        loop.stop.set()
        if client.is_alive():
            client.join(30)
        for controller in controllers:
            controller.kill()
        kill_leftover_envoys(seen + StateDir(state_dir).load())
