"""Shared e2e fixtures: real Envoy processes started from a bootstrap file.

`start_envoy(bootstrap_path)` starts the Envoy binary shipped in the venv with its admin
on an ephemeral port (the bootstrap should say admin port 0; Envoy writes the bound
address to --admin-address-path), a dynamic base id so concurrent Envoys never share
hot-restart shared memory, and its log in the test's tmp dir. It returns once the admin
endpoint answers; `EnvoyProcess.wait_ready()` waits for /ready (initialization done).
Teardown terminates every Envoy started, killing it if it does not exit in time.

Blocking HTTP calls run in a thread (`asyncio.to_thread`) so the event loop, which may be
serving xDS to the same Envoy, keeps running.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from gateway_contour.envoy.binary import envoy_binary

STARTUP_TIMEOUT = 15.0


def http_get(url: str, *, host: str | None = None, timeout: float = 2.0) -> tuple[int, str] | None:
    """(status, body) of a GET, or None when nothing answers (connection refused/reset)."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


class EnvoyProcess:
    """A running Envoy and its admin endpoint."""

    def __init__(self, process: subprocess.Popen[bytes], admin_url: str, log_path: Path) -> None:
        self.process = process
        self.admin_url = admin_url
        self.log_path = log_path

    async def admin(self, path: str) -> tuple[int, str] | None:
        return await asyncio.to_thread(http_get, self.admin_url + path)

    async def get(
        self, port: int, path: str = "/", *, host: str | None = None, address: str = "127.0.0.1"
    ) -> tuple[int, str] | None:
        """GET through one of this Envoy's listeners: (status, body), or None if refused."""
        return await asyncio.to_thread(http_get, f"http://{address}:{port}{path}", host=host)

    async def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Wait until admin /ready says LIVE (Envoy finished initializing)."""
        deadline = time.monotonic() + timeout
        while (answer := await self.admin("/ready")) is None or answer[0] != 200:
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"Envoy not ready: {answer}\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"Envoy exited with {self.process.returncode}\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_envoy(tmp_path: Path) -> Iterator[Callable[..., Awaitable[EnvoyProcess]]]:
    """Factory: `await start_envoy(bootstrap_path, *extra_args)` -> EnvoyProcess."""
    started: list[EnvoyProcess] = []

    async def _start(bootstrap: Path, *extra_args: str) -> EnvoyProcess:
        index = len(started)
        admin_path = tmp_path / f"envoy-{index}.admin"
        log_path = tmp_path / f"envoy-{index}.log"
        args = [
            envoy_binary(),
            "-c",
            str(bootstrap),
            "--admin-address-path",
            str(admin_path),
            "--use-dynamic-base-id",
            "--concurrency",
            "1",
            "--log-level",
            os.environ.get("ENVOY_LOG_LEVEL", "info"),
            "--log-path",
            str(log_path),
            *extra_args,
        ]
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        envoy = EnvoyProcess(process, "", log_path)
        started.append(envoy)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            envoy.check_alive()
            address = admin_path.read_text().strip() if admin_path.exists() else ""
            if address:
                envoy.admin_url = f"http://{address}"
                if await envoy.admin("/server_info") is not None:
                    return envoy
            if time.monotonic() > deadline:
                raise TimeoutError(f"Envoy admin did not answer\n{envoy.log_tail()}")
            await asyncio.sleep(0.05)

    yield _start
    for envoy in started:
        envoy.stop()
