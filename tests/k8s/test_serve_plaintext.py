"""Issue 22 with `gateway-contour serve` as a real process: plaintext xDS only when asked for.

Without --xds-cert-dir and --insecure-xds the process exits with status 2 and one error
line naming both flags, before it reaches the API server (a listening socket its kubeconfig
points at never sees a connection). With `--insecure-xds --provision host` against the real
API server it starts, logs the plaintext warning once, and still holds every stream to its
fleet's token: the Gateway's own Envoy is served its listener, while a plain client naming
that fleet without the token (or with a wrong one) gets PERMISSION_DENIED and no byte."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.provisioner.host import free_port
from tests.e2e.http_client import arequest, eventually
from tests.e2e.test_fleet_credentials import probe
from tests.k8s import manifests as m
from tests.k8s.controller import controller_name

SERVE = (sys.executable, "-m", "gateway_contour.cli", "serve")


def kubeconfig_for(server: str, path: Path) -> Path:
    """A kubeconfig naming `server` with a bearer token (the process never gets to use it)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


@contextlib.asynccontextmanager
async def serve_process(
    argv: list[str], log_path: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`serve argv` as a process logging to `log_path` for the block; on exit, unless it
    has ended, SIGTERM and its exit awaited (its process group killed if that takes over
    30 s)."""
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *SERVE, *argv, stdout=log, stderr=log, start_new_session=True
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            with anyio.fail_after(30):
                await process.wait()
        finally:
            if process.returncode is None:
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()


async def test_serve_without_a_transport_exits_2_before_reaching_the_api_server(
    tmp_path: Path,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as api_server:
        api_server.bind(("127.0.0.1", 0))
        api_server.listen()
        api_server.setblocking(False)
        kubeconfig = kubeconfig_for(
            f"https://127.0.0.1:{api_server.getsockname()[1]}", tmp_path / "kubeconfig"
        )
        argv = ["--kubeconfig", str(kubeconfig), "--xds-address", "127.0.0.1"]
        async with serve_process(argv, tmp_path / "serve.log") as process:
            with anyio.fail_after(10):  # it refuses in about 1 s: Python's start-up
                await process.wait()
        output = (tmp_path / "serve.log").read_text()
        assert process.returncode == 2, output
        errors = [line for line in output.splitlines() if "error:" in line]
        assert len(errors) == 1 and errors[0].startswith("gateway-contour serve: error:")
        assert "--xds-cert-dir" in errors[0] and "--insecure-xds" in errors[0]
        with pytest.raises(BlockingIOError):
            api_server.accept()  # nobody knocked


def plaintext_warnings(log_path: Path) -> list[str]:
    return [
        line
        for line in log_path.read_text().splitlines()
        if " WARNING " in line and "xDS is plaintext" in line
    ]


async def test_insecure_xds_warns_once_and_host_envoys_still_need_their_token(
    kube: Any, namespace: str, tmp_path: Path
) -> None:
    xds_port, listener_port = free_port(), free_port()
    controller = controller_name(namespace)
    argv = [
        *("--kubeconfig", str(kube.kubeconfig), "--gateway-class-controller", controller),
        *("--provision", "host", "--insecure-xds", "--no-leader-election"),
        *("--xds-address", "127.0.0.1", "--xds-port", str(xds_port)),
        *("--metrics-address", "", "--debug-address", ""),
    ]
    class_name = f"gc-{namespace}"
    api = KubeClient(kube.kubeconfig)
    gateway = m.gateway(namespace, "gw", class_name, listener_port)
    try:
        log_path = tmp_path / "serve.log"
        async with serve_process(argv, log_path):
            gateway_class = m.gateway_class(class_name, controller)
            await api.request("POST", m.collection_path(gateway_class), body=gateway_class)
            await api.request("POST", m.collection_path(gateway), body=gateway)
            live = await eventually(
                lambda: api.get(m.object_path(gateway)),
                lambda o: bool((o.get("status") or {}).get("addresses")),
                timeout=60,
            )
            address = live["status"]["addresses"][0]["value"]
            # the Envoy the controller started shows its token and gets its listener
            answer = await eventually(
                lambda: arequest(address, listener_port, "/", host="x.test"),
                lambda r: r.status == 404,
                timeout=60,
            )
            assert answer.status == 404
            fleet = f"{namespace}/gw"
            for delta in (True, False):
                for token in (None, "guess"):
                    assert await probe(xds_port, fleet, token, delta) == ("PERMISSION_DENIED", 0)
            (warning,) = plaintext_warnings(log_path)
            assert "no fleet's identity rests on node.cluster alone" in warning
            assert f"127.0.0.1:{xds_port}" in warning
    finally:
        with contextlib.suppress(ApiError):
            await api.request("DELETE", m.object_path(m.gateway_class(class_name, "")))
        await api.close()
