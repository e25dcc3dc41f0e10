"""A listen address of `run` or `serve` that cannot be bound ends the start-up: exit status 1
and one line naming the address, what it is for and the system's reason, no traceback. Each
case holds the port with a real listening socket; `serve` fails before it would contact the
API server (its kubeconfig names a port nothing listens on)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.host_world import service_and_slice_yaml

REPO = Path(__file__).parents[2]
GOLDEN = REPO / "tests" / "golden" / "basic-http" / "in.yaml"
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def gateway_contour(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway_contour", *argv],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_refused(
    result: subprocess.CompletedProcess[str], command: str, port: int, purpose: str
) -> None:
    """Exit status 1, and one line saying that 127.0.0.1:`port` is taken."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    start = f"gateway-contour {command}: cannot listen on 127.0.0.1:{port} for {purpose}: "
    lines = [line for line in result.stderr.splitlines() if line.startswith(start)]
    assert len(lines) == 1, result.stderr
    assert lines[0].lower().endswith("address already in use")


PURPOSES = {
    "--metrics-address": "/metrics, /healthz and /readyz",
    "--debug-address": "the debug endpoint",
    "--xds-port": "xDS",
}


def taking(flag: str, port: int) -> str:
    return str(port) if flag == "--xds-port" else f"127.0.0.1:{port}"


@pytest.mark.parametrize("flag", PURPOSES)
def test_run_refuses_to_start(tmp_path: Path, held_port: int, flag: str) -> None:
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(GOLDEN, config)
    args = ["run", "--config-dir", str(config), "--state-dir", str(tmp_path / "state")]
    result = gateway_contour(*args, "--xds-port", "0", flag, taking(flag, held_port))
    assert_refused(result, "run", held_port, PURPOSES[flag])


@pytest.mark.parametrize("flag", PURPOSES)
def test_serve_refuses_to_start(tmp_path: Path, held_port: int, flag: str) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    addresses = {
        "--xds-port": "0",
        "--metrics-address": "127.0.0.1:0",
        "--debug-address": "127.0.0.1:0",
        flag: taking(flag, held_port),
    }
    flags = [part for item in addresses.items() for part in item]
    args = ["serve", "--kubeconfig", str(kubeconfig), "--insecure-xds", "--xds-address"]
    result = gateway_contour(*args, "127.0.0.1", *flags)
    assert_refused(result, "serve", held_port, PURPOSES[flag])


def test_run_refuses_a_demo_backend_it_cannot_start(tmp_path: Path, held_port: int) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "app.yaml").write_text(
        service_and_slice_yaml("app", address="127.0.0.1", port=held_port)
    )
    args = ["run", "--config-dir", str(config), "--state-dir", str(tmp_path / "state")]
    result = gateway_contour(*args, "--xds-port", "0", "--demo-backends")
    assert_refused(result, "run", held_port, "the demo backend app")
