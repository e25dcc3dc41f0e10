"""Host mode starts no Envoy for a Gateway with nothing to serve (real Envoys, real HTTP).

Beside a valid Gateway, one whose every listener is invalid gets no Envoy process, and its
status says why (Programmed False, reason Invalid, and each listener's own condition). A
Gateway that loses its last valid listener loses its Envoy.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway_contour.demo.echo import EchoBackend, start_echo
from gateway_contour.provisioner.host import free_port
from gateway_contour.provisioner.host_launch import command_line
from tests.e2e.host_controller import host_config, running
from tests.e2e.host_world import service_yaml
from tests.e2e.http_client import arequest, eventually
from tests.e2e.test_host_mode import HOST, gateway_yaml
from tests.e2e.test_observability import route_yaml

pytestmark = pytest.mark.e2e


def invalid_gateway_yaml(name: str, port: int) -> str:
    """A Gateway whose listeners are all invalid: an unsupported protocol, and HTTPS with a
    certificate Secret that does not exist."""
    return textwrap.dedent(f"""\
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {{name: {name}, namespace: default}}
        spec:
          gatewayClassName: gc
          listeners:
            - {{name: odd, protocol: SCTP, port: {port}}}
            - name: tls
              protocol: HTTPS
              port: {port + 1}
              tls: {{certificateRefs: [{{name: missing}}]}}
        """)


GATEWAY_CLASS = textwrap.dedent("""\
    apiVersion: gateway.networking.k8s.io/v1
    kind: GatewayClass
    metadata: {name: gc}
    spec: {controllerName: gateway-contour.dev/gateway-controller}
    """)


def envoys_running_with(bootstrap: Path) -> list[int]:
    """The pids whose command line names the `bootstrap` file."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and str(bootstrap) in command_line(int(proc.name)):
            pids.append(int(proc.name))
    return pids


def gateway_status(status_file: Path, name: str) -> dict[str, Any]:
    data = yaml.safe_load(status_file.read_text())
    (entry,) = [s for s in data["statuses"] if s["object"] == f"Gateway default/{name}"]
    return dict(entry["status"])


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [c for c in status["conditions"] if c["type"] == kind]
    return dict(found)


@pytest.fixture
def backend() -> Iterator[EchoBackend]:
    app = start_echo("app")
    yield app
    app.stop()


async def test_no_envoy_for_a_gateway_without_a_valid_listener(
    tmp_path: Path, backend: EchoBackend
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    port = free_port()
    (config_dir / "gateways.yaml").write_text(
        gateway_yaml(port) + "---\n" + invalid_gateway_yaml("broken", free_port())
    )
    (config_dir / "app.yaml").write_text(service_yaml("app", backend))
    (config_dir / "route.yaml").write_text(route_yaml("first", "/"))
    status_file = tmp_path / "status.yaml"
    work_dir = tmp_path / "envoy"
    config = host_config(config_dir, work_dir, status_file=status_file)
    web_bootstrap = work_dir / "default_web.bootstrap.json"
    async with running(config) as mode:
        await eventually(
            lambda: arequest("127.0.0.1", port, "/", host=HOST), lambda r: r.status == 200
        )
        assert mode.fleet is not None
        assert set(mode.fleet.envoys) == {"default/web"}
        assert envoys_running_with(work_dir / "default_broken.bootstrap.json") == []
        assert len(envoys_running_with(web_bootstrap)) == 1

        broken = gateway_status(status_file, "broken")
        programmed = condition(broken, "Programmed")
        assert (programmed["status"], programmed["reason"]) == ("False", "Invalid")
        assert programmed["message"] == "Gateway has no valid listener"
        listeners = {listener["name"]: listener for listener in broken["listeners"]}
        assert condition(listeners["odd"], "Accepted")["reason"] == "UnsupportedProtocol"
        assert condition(listeners["tls"], "ResolvedRefs")["reason"] == "InvalidCertificateRef"

        # web loses its only valid listener: its Envoy goes too
        (envoy,) = mode.fleet.envoys.values()
        edited = config_dir / ".gateways.yaml.tmp"  # renamed: never seen half-written
        edited.write_text(GATEWAY_CLASS + "---\n" + invalid_gateway_yaml("web", port))
        edited.rename(config_dir / "gateways.yaml")

        async def web_envoys() -> list[int]:
            return envoys_running_with(web_bootstrap)

        await eventually(web_envoys, lambda pids: pids == [])
        assert not envoy.process.running()
        assert mode.fleet.envoys == {}
        web = gateway_status(status_file, "web")
        assert condition(web, "Programmed")["reason"] == "Invalid"
