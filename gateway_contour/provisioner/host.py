"""Host-mode provisioning: one local Envoy process per fleet (IR Gateway).

Each Envoy gets a bootstrap pointing at our ADS server, identifies with node.cluster = the
fleet name, and listens where its IR listeners say (the Gateway's address). `reconcile`
starts Envoys for new fleets and stops those whose Gateway went away; an Envoy that exits on
its own is restarted with backoff.

`drain` is the graceful stop (at shutdown): each Envoy fails its health checks
(`POST /healthcheck/fail`: load balancers stop sending new traffic), drains its listeners
(`POST /drain_listeners?graceful`: HTTP/1 responses say `Connection: close`, HTTP/2 gets a
GOAWAY, listeners close after the drain time) and is stopped once its downstream
connections are gone, or when the bound runs out. Removing one Gateway's Envoy during a
reconcile stops it at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from gateway_contour.envoy.binary import envoy_binary
from gateway_contour.envoy.bootstrap import BootstrapOptions, XdsClientTLS, write_bootstrap
from gateway_contour.xds.fleet_tokens import FleetTokens

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class EnvoyProcess:
    fleet: str
    admin_port: int
    bootstrap: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"


@dataclass
class HostFleetOptions:
    xds_address: str = "127.0.0.1"
    xds_port: int = 18000
    delta: bool = True
    log_level: str = "warn"
    work_dir: Path | None = None  # bootstraps and logs; a temp dir when None
    concurrency: int = 1  # Envoy worker threads per process (the machine is small)
    tls: XdsClientTLS | None = None  # mutual TLS to the ADS server
    drain_seconds: int = 1  # Envoy's --drain-time-s: the graceful part of a listener drain
    tokens: FleetTokens | None = None  # each Envoy gets its fleet's token in its bootstrap


class HostFleet:
    """The Envoy processes of host mode, one per fleet."""

    def __init__(self, opts: HostFleetOptions) -> None:
        self.opts = opts
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if opts.work_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="gateway-contour-")
            self.work_dir = Path(self._tmp.name)
        else:
            self.work_dir = opts.work_dir
            self.work_dir.mkdir(parents=True, exist_ok=True)
        self.envoys: dict[str, EnvoyProcess] = {}

    def reconcile(self, fleets: set[str]) -> None:
        """Make the running Envoys exactly one per fleet in `fleets`."""
        for fleet in sorted(set(self.envoys) - fleets):
            self._stop(self.envoys.pop(fleet))
        for fleet in sorted(fleets):
            current = self.envoys.get(fleet)
            if current is None:
                self.envoys[fleet] = self._start(fleet)
            elif current.process.poll() is not None:
                self._restart(current)

    def check(self) -> None:
        """Restart Envoys that exited on their own (with a small backoff)."""
        for envoy in self.envoys.values():
            if envoy.process.poll() is not None:
                self._restart(envoy)

    async def supervise(self, interval: float = 1.0) -> None:
        """Run `check` every `interval` seconds, forever."""
        while True:
            await anyio.sleep(interval)
            self.check()

    def _restart(self, envoy: EnvoyProcess) -> None:
        if time.monotonic() - envoy.started_at < min(30.0, 0.5 * 2**envoy.restarts):
            return
        log.warning(
            "envoy for %s exited with %s; restarting (see %s)",
            envoy.fleet,
            envoy.process.returncode,
            envoy.log_path,
        )
        fresh = self._start(envoy.fleet)
        fresh.restarts = envoy.restarts + 1
        self.envoys[envoy.fleet] = fresh

    def _start(self, fleet: str) -> EnvoyProcess:
        slug = fleet.replace("/", "_")
        admin_port = free_port()
        bootstrap = write_bootstrap(
            BootstrapOptions(
                node_id=f"{fleet}@{socket.gethostname()}-{os.getpid()}",
                fleet=fleet,
                xds_address=self.opts.xds_address,
                xds_port=self.opts.xds_port,
                admin_port=admin_port,
                delta=self.opts.delta,
                tls=self.opts.tls,
                fleet_token=self.opts.tokens.issue(fleet) if self.opts.tokens else None,
            ),
            self.work_dir / f"{slug}.bootstrap.json",
        )
        log_path = self.work_dir / f"{slug}.envoy.log"
        cmd = [
            envoy_binary(),
            "-c",
            str(bootstrap),
            "--use-dynamic-base-id",
            "--log-level",
            self.opts.log_level,
            "--concurrency",
            str(self.opts.concurrency),
            "--drain-time-s",
            str(self.opts.drain_seconds),
        ]
        with log_path.open("ab") as out:
            process = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        log.info("started envoy for %s (pid %d, admin %d)", fleet, process.pid, admin_port)
        return EnvoyProcess(fleet, admin_port, bootstrap, process, log_path)

    def _stop(self, envoy: EnvoyProcess, timeout: float = 5.0) -> None:
        if envoy.process.poll() is None:
            os.killpg(envoy.process.pid, signal.SIGTERM)
            try:
                envoy.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(envoy.process.pid, signal.SIGKILL)
                envoy.process.wait()
        log.info("stopped envoy for %s", envoy.fleet)

    async def drain(self, timeout: float = 10.0) -> None:
        """Gracefully stop every Envoy (see the module docstring), within `timeout` seconds
        for them all; then `close`."""
        with anyio.move_on_after(timeout):
            async with anyio.create_task_group() as tg:
                for envoy in self.envoys.values():
                    tg.start_soon(self._drain_one, envoy)
        self.close()

    async def _drain_one(self, envoy: EnvoyProcess) -> None:
        if envoy.process.poll() is not None:
            return
        for path in ("/healthcheck/fail", "/drain_listeners?graceful"):
            if await anyio.to_thread.run_sync(_admin, envoy, "POST", path) is None:
                return  # the admin does not answer: nothing to drain through
        log.info("draining envoy for %s", envoy.fleet)
        while (active := await anyio.to_thread.run_sync(_downstream_connections, envoy)) != 0:
            if active is None:
                return
            await anyio.sleep(0.1)
        log.info("envoy for %s drained", envoy.fleet)

    def close(self) -> None:
        for envoy in self.envoys.values():
            self._stop(envoy)
        self.envoys.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _admin(envoy: EnvoyProcess, method: str, path: str) -> str | None:
    request = urllib.request.Request(envoy.admin_url + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return str(response.read().decode())
    except (urllib.error.URLError, OSError):
        return None


def _downstream_connections(envoy: EnvoyProcess) -> int | None:
    """Open connections on the Envoy's own listeners (not its admin), None if unknown."""
    pattern = urllib.parse.quote(r"^listener\..*downstream_cx_active$")
    text = _admin(envoy, "GET", f"/stats?filter={pattern}")
    if text is None:
        return None
    total = 0
    for line in text.splitlines():
        name, _, value = line.partition(":")
        value = value.strip()
        if name.startswith("listener.") and not name.startswith("listener.admin."):
            total += int(value) if value.isdigit() else 0
    return total
