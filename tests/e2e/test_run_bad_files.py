"""Issue 20's demonstration: `gateway-contour run` (a real process, a real Envoy) on a
directory holding a 1.2 KB YAML file nested 600 levels deep and an HTTPRoute whose `spec` is
a string, beside a good route. The process lives, the good route answers 200 through Envoy,
and each bad file is named, with why it is skipped, in the log (once: each file is parsed
once) and in `--status-file`. A GatewayClass of another controller is named in the log with
the controllerName we answer to, once, not again at the next rebuild."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gateway_contour.demo.echo import EchoBackend, start_echo
from gateway_contour.provisioner.host import free_port
from gateway_contour.provisioner.host_state import StateDir
from tests.e2e.host_process import ControllerProcess
from tests.e2e.host_world import service_yaml
from tests.e2e.http_client import arequest, eventually
from tests.e2e.test_host_crash import kill_leftover_envoys
from tests.e2e.test_host_mode import HOST, gateway_yaml
from tests.e2e.test_observability import route_yaml

pytestmark = pytest.mark.e2e

DEPTH = 600
DEEP = "[" * DEPTH + "]" * DEPTH + "\n"  # 1,201 bytes: one list in a list ... 600 times
STRING_SPEC = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: stringly, namespace: default}
spec: "parentRefs: [{name: web}]"
"""
FOREIGN = """\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: elsewhere}
spec: {controllerName: example.com/other}
"""
HINT = (
    "GatewayClass elsewhere is not ours: its controllerName is 'example.com/other', we answer "
    "to 'gateway-contour.dev/gateway-controller'; its Gateways and their routes are not served"
)
EXPECTED = {
    "deep.yaml#0": "nested deeper than 64 levels",
    "string-spec.yaml#0": "spec is a str, not a mapping",
}


@pytest.fixture
def backend() -> Iterator[EchoBackend]:
    app = start_echo("app")
    yield app
    app.stop()


def problems_in(status_file: Path) -> dict[str, str]:
    if not status_file.is_file():
        return {}
    data = yaml.safe_load(status_file.read_text()) or {}
    return {p["source"]: p["reason"] for p in data.get("problems", [])}


async def test_run_lives_through_bad_files(tmp_path: Path, backend: EchoBackend) -> None:
    config_dir, state_dir = tmp_path / "config", tmp_path / "state"
    config_dir.mkdir()
    port = free_port()
    (config_dir / "gateway.yaml").write_text(gateway_yaml(port))
    (config_dir / "app.yaml").write_text(service_yaml("app", backend))
    (config_dir / "route.yaml").write_text(route_yaml("good", "/"))
    (config_dir / "deep.yaml").write_text(DEEP)
    (config_dir / "string-spec.yaml").write_text(STRING_SPEC)
    (config_dir / "foreign.yaml").write_text(FOREIGN)
    assert 1100 < (config_dir / "deep.yaml").stat().st_size < 1300
    status_file = tmp_path / "status.yaml"
    args = ["run", "--config-dir", str(config_dir), "--xds-port", str(free_port())]
    args += ["--state-dir", str(state_dir), "--status-file", str(status_file)]
    controller = ControllerProcess.start(args, tmp_path / "controller.log")
    try:
        answer = await eventually(
            lambda: arequest("127.0.0.1", port, "/", host=HOST), lambda r: r.status == 200
        )
        assert answer.backend == "app"

        async def reported() -> dict[str, str]:
            return problems_in(status_file)

        assert await eventually(reported, lambda found: found == EXPECTED) == EXPECTED
        statuses = yaml.safe_load(status_file.read_text())["statuses"]
        assert "HTTPRoute default/stringly" not in {s["object"] for s in statuses}
        for source, reason in EXPECTED.items():
            await controller.wait_for_line(f"{source}: {reason}")
        await controller.wait_for_line(HINT)
        # a rebuild later, the good routes still serve and nothing is said again
        (config_dir / "more.yaml").write_text(route_yaml("more", "/more"))
        await eventually(
            lambda: arequest("127.0.0.1", port, "/more", host=HOST), lambda r: r.status == 200
        )
        assert (await arequest("127.0.0.1", port, "/", host=HOST)).status == 200
        assert controller.process.poll() is None, controller.log()
        log = controller.log()
        assert log.count(HINT) == 1, log
        for source, reason in EXPECTED.items():
            assert log.count(f"skipping {source}: {reason}") == 1, log
        assert controller.signal(signal.SIGTERM) == 0
        assert "Traceback" not in controller.log()
    finally:
        controller.kill()
        kill_leftover_envoys(StateDir(state_dir).load())
