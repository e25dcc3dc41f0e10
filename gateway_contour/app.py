"""Host mode: a directory of YAML in, real Envoy processes (one per Gateway) serving it.

`HostMode.run()` starts the ADS server, watches the directory, rebuilds on every change and
keeps one local Envoy per Gateway in step with the configuration. Cancelling it (Ctrl-C)
drains the Envoys (bounded by `drain_timeout`), then stops them and the server. If the
process dies instead (SIGKILL, a crash), its Envoys keep serving, and the next run on the
same `work_dir` adopts them (provisioner/host.py).

Optional: `xds_certs` (a `gateway-contour certgen --output-dir`) puts the ADS server and its
Envoys on mutual TLS; `metrics_address` serves /metrics, /healthz, /readyz and
`debug_address` the /debug dumps (observability/).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from gateway_contour.envoy.bootstrap import XdsClientTLS
from gateway_contour.ir.model import HTTPSettings
from gateway_contour.listen import start_xds
from gateway_contour.nack.fallback import NackFallback
from gateway_contour.observability.metrics import Metrics, Observed
from gateway_contour.observability.server import OpsServer, start_ops_servers
from gateway_contour.pipeline import Pipeline
from gateway_contour.providers.files import watch_directory
from gateway_contour.provisioner.host import HostFleet, HostFleetOptions, served_fleets
from gateway_contour.status.console import ConsoleStatus
from gateway_contour.status.report import Problem
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.fleet_tokens import FleetTokens
from gateway_contour.xds.server import XdsServer
from gateway_contour.xds.tls import ServerTLS

log = logging.getLogger(__name__)


@dataclass
class HostModeConfig:
    config_dir: Path = Path()
    address: str = "127.0.0.1"  # where the Gateways' listeners bind
    xds_address: str = "127.0.0.1"
    xds_port: int = 18000  # 0 picks a free port
    delta: bool = True
    controller_name: str = TranslateOptions.controller_name
    status_file: Path | None = None
    envoy_log_level: str = "warn"
    # the Envoys' bootstraps, logs and state, by which a restarted controller adopts the
    # Envoys a crashed one left running (provisioner/host_state.py); None: its default
    work_dir: Path | None = None
    poll_interval: float = 0.1
    # the implicit fleet of Ingress/HTTPProxy: its listener ports, and the Ingress classes
    # served (empty: Contour's defaults)
    legacy_http_port: int = TranslateOptions.legacy_http_port
    legacy_https_port: int = TranslateOptions.legacy_https_port
    ingress_class_names: tuple[str, ...] = ()
    ingress_default_class: str | None = None
    fallback_certificate: str | None = None  # "namespace/name" (HTTPProxy fallback)
    http: HTTPSettings = field(default_factory=HTTPSettings)  # every HTTP listener's
    xds_certs: Path | None = None  # certgen output: controller/ and envoy/ (mutual TLS)
    metrics_address: str | None = None  # "host:port" of /metrics, /healthz, /readyz
    debug_address: str | None = None  # "host:port" of /debug/ir, /debug/xds (and health)
    drain_timeout: float = 10.0  # bound on the graceful Envoy drain at shutdown

    def translate_options(self) -> TranslateOptions:
        return TranslateOptions(
            controller_name=self.controller_name,
            default_address=self.address,
            legacy_http_port=self.legacy_http_port,
            legacy_https_port=self.legacy_https_port,
            ingress_class_names=self.ingress_class_names,
            ingress_default_class=self.ingress_default_class,
            fallback_certificate=self.fallback_certificate,
            http=self.http,
        )


@dataclass
class HostMode:
    config: HostModeConfig
    cache: SnapshotCache = field(default_factory=SnapshotCache)
    xds_port: int = 0
    fleet: HostFleet | None = None
    pipeline: Pipeline | None = None
    server: XdsServer | None = None
    started: anyio.Event = field(default_factory=anyio.Event)
    observed: Observed = field(default_factory=Observed)
    snapshot: Snapshot | None = None  # the objects of the last load
    problems: list[Problem] = field(default_factory=list)  # the last load's
    nack_fallback: NackFallback | None = None
    ops: list[OpsServer] = field(default_factory=list)

    def nack_count(self) -> int:
        """Configurations Envoys rejected since start (each logged with Envoy's message)."""
        return self.server.stats.nacks if self.server is not None else 0

    async def run(self) -> None:
        cfg = self.config
        self.pipeline = Pipeline(self.cache, cfg.translate_options())
        # every Envoy of host mode is ours: each fleet's stream must show that fleet's token
        tokens = FleetTokens()
        self.server = server = XdsServer(self.cache, tokens=tokens)
        tls = ServerTLS.from_dir(cfg.xds_certs / "controller") if cfg.xds_certs else None
        self.xds_port = await start_xds(server, cfg.xds_address, cfg.xds_port, tls)
        log.info("xDS server listening on %s:%d", cfg.xds_address, self.xds_port)
        self.fleet = HostFleet(
            HostFleetOptions(
                xds_address=cfg.xds_address,
                xds_port=self.xds_port,
                delta=cfg.delta,
                log_level=cfg.envoy_log_level,
                work_dir=cfg.work_dir,
                tls=XdsClientTLS(cfg.xds_certs / "envoy") if cfg.xds_certs else None,
                tokens=tokens,
            )
        )
        console = ConsoleStatus(cfg.status_file)

        async def rebuild() -> None:
            assert self.pipeline is not None and self.fleet is not None
            if self.snapshot is None:
                return
            result = await self.pipeline.rebuild(self.snapshot, self.problems)
            if result is None:
                return
            console.publish(result.report)
            self.fleet.reconcile(served_fleets(result.ir))
            self.started.set()

        # what Envoy refuses anyway is searched for, withheld, and the rest re-sent
        self.nack_fallback = NackFallback(self.pipeline, self.cache, rebuild)
        self.nack_fallback.attach(server.stats)
        try:
            await self._start_ops()
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.fleet.supervise)
                tg.start_soon(self.pipeline.collector.run)
                tg.start_soon(self.nack_fallback.run)
                async for loaded in watch_directory(cfg.config_dir, cfg.poll_interval):
                    self.snapshot = Snapshot.of(loaded.objects)
                    self.problems = loaded.problems
                    await rebuild()
        finally:
            with anyio.CancelScope(shield=True):
                await self.fleet.drain(cfg.drain_timeout)
                for ops in self.ops:
                    await ops.stop()
                await server.stop(1.0)

    async def _start_ops(self) -> None:
        assert self.pipeline is not None
        self.observed.xds = self.server
        self.observed.nack_fallback = self.nack_fallback
        self.observed.snapshot = lambda: self.snapshot
        self.observed.synced = lambda: self.snapshot is not None
        metrics = Metrics(self.observed)
        metrics.attach(self.pipeline)
        self.ops += await start_ops_servers(
            metrics, self.config.metrics_address, self.config.debug_address
        )
