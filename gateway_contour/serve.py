"""Kubernetes mode (`gateway-contour serve`): watch an API server, serve xDS, write status.

Every replica watches and serves xDS; only the Lease holder writes status. Nothing is served
before every watched kind has synced once (the cache is marked ready by the first rebuild,
which waits for that), so an Envoy connecting to a freshly started replica never sees an
empty configuration.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

import anyio

from gateway_contour.debounce import Debouncer
from gateway_contour.pipeline import Pipeline
from gateway_contour.providers.kubernetes.client import KubeClient
from gateway_contour.providers.kubernetes.leader import LeaderElector
from gateway_contour.providers.kubernetes.source import KubernetesSource
from gateway_contour.providers.kubernetes.watch import Backoff
from gateway_contour.provisioner.addresses import LoopbackAllocator, our_gateways
from gateway_contour.provisioner.host import HostFleet, HostFleetOptions
from gateway_contour.status.latest import LatestReport
from gateway_contour.status.report import StatusReport
from gateway_contour.status.writer import StatusWriter
from gateway_contour.store.objects import Snapshot
from gateway_contour.store.store import Store
from gateway_contour.translate import TranslateOptions
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer

log = logging.getLogger(__name__)


@dataclass
class ServeConfig:
    kubeconfig: Path | None = None
    context: str | None = None
    controller_name: str = TranslateOptions.controller_name
    xds_address: str = "0.0.0.0"
    xds_port: int = 8001
    envoy_address: str = "0.0.0.0"  # where Envoy listeners bind
    leader_namespace: str = "gateway-contour"
    leader_name: str = "gateway-contour-leader"
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    holdoff: float = 0.1
    max_wait: float = 0.5
    leader_election: bool = True
    # "host": run one local Envoy per Gateway, each on its own loopback address (the
    # conformance harness and tests); "none": Envoys are deployed by someone else
    provision: str = "none"
    envoy_work_dir: Path | None = None


class ServeMode:
    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.store = Store()
        self.cache = SnapshotCache()
        self.debouncer = Debouncer(config.holdoff, config.max_wait)
        self.pipeline = Pipeline(
            self.cache,
            TranslateOptions(
                controller_name=config.controller_name, default_address=config.envoy_address
            ),
        )
        self.client: KubeClient | None = None
        self.source: KubernetesSource | None = None
        self.leader: LeaderElector | None = None
        self.writer: StatusWriter | None = None
        self.xds_port = 0
        self.ready = anyio.Event()
        self.allocator = LoopbackAllocator() if config.provision == "host" else None
        self.host_fleet: HostFleet | None = None
        self.status_queue = LatestReport()
        # status writes that failed transiently are retried by a later rebuild: no watch
        # event may come to trigger one (the API server was only restarting)
        self._status_retry = anyio.Event()
        self._status_backoff = Backoff(first=0.5, cap=10.0)

    async def _rebuild(self) -> None:
        assert self.source is not None
        snapshot = self.store.snapshot()
        if self.allocator is not None:
            addresses = self.allocator.assign(our_gateways(snapshot, self.config.controller_name))
            self.pipeline.options = replace(self.pipeline.options, gateway_addresses=addresses)
        result = await self.pipeline.rebuild(snapshot)
        self.ready.set()
        if result is not None and self.host_fleet is not None:
            self.host_fleet.reconcile(result.fleets)
        if result is None or self.writer is None:
            return
        # written by its own task: the next rebuild need not wait for the writes
        self.status_queue.offer(result.report, snapshot)

    async def _write_status(self, report: StatusReport, snapshot: Snapshot) -> None:
        assert self.writer is not None
        if self.leader is None or self.leader.is_leader:
            stats = await self.writer.write(report, snapshot)
            if stats.writes or stats.failures:
                log.info(
                    "status: %d written, %d unchanged, %d conflicts, %d failed",
                    stats.writes,
                    stats.skipped,
                    stats.conflicts,
                    stats.failures,
                )
            if stats.retryable:
                self._status_retry.set()
            else:
                self._status_backoff.reset()

    async def _retry_status(self) -> None:
        while True:
            await self._status_retry.wait()
            self._status_retry = anyio.Event()
            await self._status_backoff.sleep()
            self.debouncer.poke()

    async def _on_leadership(self) -> None:
        # a new leader writes the status of the current world at once
        assert self.leader is not None
        while True:
            await self.leader.elected.wait()
            self.debouncer.poke()
            while self.leader.is_leader:
                await anyio.sleep(self.leader.renew_period)

    async def run(self) -> None:
        cfg = self.config
        self.client = KubeClient(cfg.kubeconfig, cfg.context)
        server = XdsServer(self.cache)
        try:
            self.xds_port = await server.start(cfg.xds_address, cfg.xds_port)
            log.info("xDS server listening on %s:%d", cfg.xds_address, self.xds_port)
            if cfg.provision == "host":
                local = "127.0.0.1" if cfg.xds_address in ("0.0.0.0", "::") else cfg.xds_address
                self.host_fleet = HostFleet(
                    HostFleetOptions(
                        xds_address=local, xds_port=self.xds_port, work_dir=cfg.envoy_work_dir
                    )
                )
            self.source = KubernetesSource(self.client, self.store, lambda _k: self._changed())
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.source.run)
                await self.source.synced.wait()
                self.writer = StatusWriter(self.client, self.source.resources, cfg.controller_name)
                if cfg.leader_election:
                    self.leader = LeaderElector(
                        self.client, cfg.leader_namespace, cfg.leader_name, cfg.identity
                    )
                    tg.start_soon(self.leader.run)
                    tg.start_soon(self._on_leadership)
                if self.host_fleet is not None:
                    tg.start_soon(self.host_fleet.supervise)
                tg.start_soon(self.status_queue.run, self._write_status)
                tg.start_soon(self.debouncer.run, self._rebuild)
                tg.start_soon(self._retry_status)
                self.debouncer.poke()
        finally:
            with anyio.CancelScope(shield=True):
                if self.host_fleet is not None:
                    self.host_fleet.close()
                await server.stop(1.0)
                await self.client.close()

    def _changed(self) -> None:
        # before the first full sync, the initial rebuild covers everything
        if self.source is not None and self.source.synced.is_set():
            self.debouncer.poke()
