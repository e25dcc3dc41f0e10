"""Host mode: a directory of YAML in, real Envoy processes (one per Gateway) serving it.

`HostMode.run()` starts the ADS server, watches the directory, rebuilds on every change and
keeps one local Envoy per Gateway in step with the configuration. Cancelling it (Ctrl-C)
stops the Envoys and the server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from gateway_contour.pipeline import Pipeline
from gateway_contour.providers.files import watch_directory
from gateway_contour.provisioner.host import HostFleet, HostFleetOptions
from gateway_contour.status.console import ConsoleStatus
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer

log = logging.getLogger(__name__)


@dataclass
class HostModeConfig:
    config_dir: Path
    address: str = "127.0.0.1"  # where the Gateways' listeners bind
    xds_address: str = "127.0.0.1"
    xds_port: int = 18000  # 0 picks a free port
    delta: bool = True
    controller_name: str = TranslateOptions.controller_name
    status_file: Path | None = None
    envoy_log_level: str = "warn"
    work_dir: Path | None = None
    poll_interval: float = 0.1


@dataclass
class HostMode:
    config: HostModeConfig
    cache: SnapshotCache = field(default_factory=SnapshotCache)
    xds_port: int = 0
    fleet: HostFleet | None = None
    pipeline: Pipeline | None = None
    server: XdsServer | None = None
    started: anyio.Event = field(default_factory=anyio.Event)

    def nack_count(self) -> int:
        """Configurations Envoys rejected since start (each logged with Envoy's message)."""
        return self.server.stats.nacks if self.server is not None else 0

    async def run(self) -> None:
        cfg = self.config
        options = TranslateOptions(controller_name=cfg.controller_name, default_address=cfg.address)
        self.pipeline = Pipeline(self.cache, options)
        self.server = server = XdsServer(self.cache)
        self.xds_port = await server.start(cfg.xds_address, cfg.xds_port)
        log.info("xDS server listening on %s:%d", cfg.xds_address, self.xds_port)
        self.fleet = HostFleet(
            HostFleetOptions(
                xds_address=cfg.xds_address,
                xds_port=self.xds_port,
                delta=cfg.delta,
                log_level=cfg.envoy_log_level,
                work_dir=cfg.work_dir,
            )
        )
        console = ConsoleStatus(cfg.status_file)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.fleet.supervise)
                async for loaded in watch_directory(cfg.config_dir, cfg.poll_interval):
                    snapshot = Snapshot.of(loaded.objects)
                    result = await self.pipeline.rebuild(snapshot, loaded.problems)
                    if result is None:
                        continue
                    console.publish(result.report)
                    self.fleet.reconcile(result.fleets)
                    self.started.set()
        finally:
            with anyio.CancelScope(shield=True):
                self.fleet.close()
                await server.stop(1.0)
