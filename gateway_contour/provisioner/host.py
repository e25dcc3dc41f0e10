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

The Envoys outlive a controller that dies without that stop (SIGKILL, a crash): they are
started detached (host_launch.py), keep serving their last configuration and retry the ADS
connection. The work directory remembers each one (host_state.py); a new HostFleet on the
same directory adopts every recorded Envoy still running (same pid, start time and
bootstrap) with its fleet's token, and its first `reconcile` keeps those whose launch
(bootstrap and command line) is still the one wanted, and replaces the others.

Only a Gateway with at least one valid listener gets an Envoy (`served_fleets`): one
whose every listener is invalid has nothing to serve, and its status says why.
"""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from gateway_contour.envoy.binary import envoy_binary
from gateway_contour.envoy.bootstrap import (
    BootstrapOptions,
    XdsClientTLS,
    ads_bootstrap,
    write_bootstrap,
)
from gateway_contour.ir.model import IR
from gateway_contour.provisioner.host_launch import DetachedProcess, launch
from gateway_contour.provisioner.host_state import (
    EnvoyRecord,
    StateDir,
    default_work_dir,
    fleet_slug,
    launch_digest,
)
from gateway_contour.xds.fleet_tokens import FleetTokens

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def served_fleets(ir: IR) -> set[str]:
    """The fleets that get an Envoy: the IR Gateways with at least one listener."""
    return {gateway.name for gateway in ir.gateways if gateway.listeners}


@dataclass
class EnvoyProcess:
    fleet: str
    admin_port: int
    bootstrap: Path
    process: DetachedProcess
    log_path: Path
    digest: str  # launch_digest of what it runs with
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)
    adopted: bool = False  # found running at start, not yet checked against the wanted launch

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"


@dataclass
class HostFleetOptions:
    xds_address: str = "127.0.0.1"
    xds_port: int = 18000
    delta: bool = True
    log_level: str = "warn"
    # bootstraps, logs and state (host_state.py); None: default_work_dir of the xDS address
    work_dir: Path | None = None
    concurrency: int = 1  # Envoy worker threads per process (the machine is small)
    tls: XdsClientTLS | None = None  # mutual TLS to the ADS server
    drain_seconds: int = 1  # Envoy's --drain-time-s: the graceful part of a listener drain
    tokens: FleetTokens | None = None  # each Envoy gets its fleet's token in its bootstrap


class HostFleet:
    """The Envoy processes of host mode, one per fleet."""

    def __init__(self, opts: HostFleetOptions) -> None:
        self.opts = opts
        self.work_dir = opts.work_dir or default_work_dir(opts.xds_address, opts.xds_port)
        self.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.state = StateDir(self.work_dir)
        self.envoys: dict[str, EnvoyProcess] = {}
        self._adopt()

    def _adopt(self) -> None:
        """Take over the recorded Envoys that still run; forget the others."""
        for record in self.state.load():
            process = DetachedProcess.find(record.pid, record.started, record.bootstrap)
            if process is None:
                self.state.remove(record.fleet)
                continue
            if self.opts.tokens is not None and record.token is not None:
                self.opts.tokens.adopt(record.fleet, record.token)
            self.envoys[record.fleet] = EnvoyProcess(
                record.fleet,
                record.admin_port,
                Path(record.bootstrap),
                process,
                self._log_path(record.fleet),
                record.digest,
                adopted=True,
            )
            log.info("adopted envoy for %s (pid %d)", record.fleet, record.pid)

    def reconcile(self, fleets: set[str]) -> None:
        """Make the running Envoys exactly one per fleet in `fleets`."""
        for fleet in sorted(set(self.envoys) - fleets):
            self._stop(self.envoys.pop(fleet))
        for fleet in sorted(fleets):
            current = self.envoys.get(fleet)
            if current is None:
                self.envoys[fleet] = self._start(fleet)
            elif current.adopted:
                self._keep_or_replace(current)
            elif not current.process.running():
                self._restart(current)

    def _keep_or_replace(self, envoy: EnvoyProcess) -> None:
        """An adopted Envoy stays if it runs what this controller would start it with."""
        envoy.adopted = False
        _, wanted = self._launch_spec(envoy.fleet, envoy.admin_port)
        if wanted == envoy.digest and envoy.process.running():
            return
        log.info("envoy for %s runs another bootstrap; replacing it", envoy.fleet)
        self._stop(envoy)
        self.envoys[envoy.fleet] = self._start(envoy.fleet)

    def check(self) -> None:
        """Restart Envoys that exited on their own (with a small backoff)."""
        for envoy in list(self.envoys.values()):
            if not envoy.process.running():
                self._restart(envoy)

    async def supervise(self, interval: float = 1.0) -> None:
        """Run `check` every `interval` seconds, forever."""
        while True:
            await anyio.sleep(interval)
            self.check()

    def _restart(self, envoy: EnvoyProcess) -> None:
        if time.monotonic() - envoy.started_at < min(30.0, 0.5 * 2**envoy.restarts):
            return
        log.warning("envoy for %s exited; restarting (see %s)", envoy.fleet, envoy.log_path)
        fresh = self._start(envoy.fleet)
        fresh.restarts = envoy.restarts + 1
        self.envoys[envoy.fleet] = fresh

    def _log_path(self, fleet: str) -> Path:
        return self.work_dir / f"{fleet_slug(fleet)}.envoy.log"

    def _bootstrap_options(self, fleet: str, admin_port: int) -> BootstrapOptions:
        return BootstrapOptions(
            # stable across controller restarts: the bootstrap of an adopted Envoy compares
            node_id=f"{fleet}@{socket.gethostname()}",
            fleet=fleet,
            xds_address=self.opts.xds_address,
            xds_port=self.opts.xds_port,
            admin_port=admin_port,
            delta=self.opts.delta,
            tls=self.opts.tls,
            fleet_token=self.opts.tokens.issue(fleet) if self.opts.tokens else None,
        )

    def _command(self, bootstrap: Path) -> list[str]:
        return [
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

    def _launch_spec(self, fleet: str, admin_port: int) -> tuple[BootstrapOptions, str]:
        """The fleet's bootstrap options and the launch_digest of starting it with them."""
        opts = self._bootstrap_options(fleet, admin_port)
        bootstrap = self.work_dir / f"{fleet_slug(fleet)}.bootstrap.json"
        document = ads_bootstrap(opts, bootstrap.parent)
        return opts, launch_digest(document, self._command(bootstrap))

    def _start(self, fleet: str) -> EnvoyProcess:
        admin_port = free_port()
        opts, digest = self._launch_spec(fleet, admin_port)
        bootstrap = write_bootstrap(opts, self.work_dir / f"{fleet_slug(fleet)}.bootstrap.json")
        log_path = self._log_path(fleet)
        process = launch(self._command(bootstrap), log_path)
        self.state.save(
            EnvoyRecord(
                fleet=fleet,
                pid=process.pid,
                started=process.started,
                admin_port=admin_port,
                bootstrap=str(bootstrap),
                digest=digest,
                token=opts.fleet_token,
            )
        )
        log.info("started envoy for %s (pid %d, admin %d)", fleet, process.pid, admin_port)
        return EnvoyProcess(fleet, admin_port, bootstrap, process, log_path, digest)

    def _stop(self, envoy: EnvoyProcess, timeout: float = 5.0) -> None:
        envoy.process.signal(signal.SIGTERM)
        if not envoy.process.wait(timeout):
            envoy.process.signal(signal.SIGKILL)
            envoy.process.wait(timeout)
        self.state.remove(envoy.fleet)
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
        if not envoy.process.running():
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
        if self.opts.work_dir is None:  # a default directory: nothing left in it to adopt
            shutil.rmtree(self.work_dir, ignore_errors=True)


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
