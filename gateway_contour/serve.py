"""Kubernetes mode (`gateway-contour serve`): watch an API server, serve xDS, write status.

Every replica watches and serves xDS; only the Lease holder writes status. Nothing is served
before every watched kind has synced once (the cache is marked ready by the first rebuild,
which waits for that), so an Envoy connecting to a freshly started replica never sees an
empty configuration.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

import anyio

from gateway_contour.certs import CERT_FILE
from gateway_contour.certs.fleet import FleetCertificates
from gateway_contour.certs.rotation import DEFAULT_GRACE
from gateway_contour.debounce import Debouncer
from gateway_contour.envoy.bootstrap import XdsClientTLS
from gateway_contour.ir.model import IR, HTTPSettings
from gateway_contour.listen import start_xds
from gateway_contour.nack.fallback import NackFallback
from gateway_contour.observability.metrics import Metrics, Observed
from gateway_contour.observability.server import OpsServer, start_ops_servers
from gateway_contour.pipeline import Pipeline
from gateway_contour.providers.kubernetes.client import KubeClient
from gateway_contour.providers.kubernetes.leader import LeaderElector
from gateway_contour.providers.kubernetes.source import KubernetesSource
from gateway_contour.providers.kubernetes.watch import Backoff
from gateway_contour.provisioner.addresses import HostAddresses, LoopbackAllocator, our_gateways
from gateway_contour.provisioner.host import HostFleet, HostFleetOptions, served_fleets
from gateway_contour.provisioner.host_records import HostRecords
from gateway_contour.provisioner.kube.credentials import (
    EnvoyCredentials,
    EphemeralCredentials,
    FleetCertificateCredentials,
    TLSDirCredentials,
)
from gateway_contour.provisioner.kube.fleet import KubeFleet
from gateway_contour.provisioner.kube.implicit import ImplicitFleetConfig
from gateway_contour.provisioner.kube.objects import CONTROLLER_IMAGE, ControllerEndpoint
from gateway_contour.status.latest import LatestReport
from gateway_contour.status.report import StatusReport
from gateway_contour.status.writer import StatusWriter
from gateway_contour.store.objects import Snapshot
from gateway_contour.store.store import Store
from gateway_contour.translate import TranslateOptions
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.fleet_tokens import FleetTokens
from gateway_contour.xds.limits import DEFAULT_MAX_STREAMS, StreamSlots
from gateway_contour.xds.server import XdsServer
from gateway_contour.xds.tls import ServerTLS

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
    # conformance harness and tests); "kubernetes": an Envoy DaemonSet/Deployment, Service,
    # ServiceAccount and client certificate Secret per Gateway (provisioner/kube/);
    # "none": Envoys are deployed by someone else
    provision: str = "none"
    envoy_work_dir: Path | None = None
    # provision "kubernetes": the Envoys' client certificate (tls.crt, tls.key, ca.crt; a
    # throwaway one when None), where they reach our ADS server, the image of the bootstrap
    envoy_cert_dir: Path | None = None
    xds_service_host: str = "gateway-contour.gateway-contour.svc"
    bootstrap_image: str = CONTROLLER_IMAGE
    # mutual TLS on the ADS server: tls.crt, tls.key, ca.crt (a mounted Secret); `xds_ca`
    # overrides the CA client certificates must chain to. None: plaintext (a warning says
    # whose identity then rests on node.cluster alone; the cli wants --insecure-xds for it)
    xds_cert_dir: Path | None = None
    xds_ca: Path | None = None
    # per-fleet client certificates: the Envoy client CA (tls.crt, tls.key; ca.crt: the CA
    # of the ADS server). The server trusts it and serves a stream only the fleet its
    # certificate names; provision "kubernetes" signs each fleet's certificate with it
    envoy_ca_dir: Path | None = None
    # how often the Envoy CA is looked at: a changed one is applied to every fleet at once
    envoy_ca_check_interval: float = 30.0
    # seconds a rotated-out client CA (ca.crt, or the Envoy CA) is still trusted
    ca_rotation_grace: float = DEFAULT_GRACE
    xds_max_streams: int = DEFAULT_MAX_STREAMS  # ADS streams held at once (xds/limits.py)
    metrics_address: str | None = None  # "host:port": /metrics, /healthz, /readyz
    debug_address: str | None = None  # "host:port": /debug/ir, /debug/xds (and health)
    drain_timeout: float = 10.0  # provision "host": bound on the graceful Envoy drain
    # Ingress classes served (empty: Contour's defaults), and the address written into
    # Ingress status when the implicit fleet has no assigned one
    ingress_class_names: tuple[str, ...] = ()
    ingress_default_class: str | None = None
    ingress_status_address: str | None = None
    fallback_certificate: str | None = None  # "namespace/name" (HTTPProxy fallback)
    http: HTTPSettings = field(default_factory=HTTPSettings)  # every HTTP listener's
    # provision "kubernetes": "namespace/name" of the ContourDeployment shaping the implicit
    # Ingress/HTTPProxy fleet (None: the defaults)
    legacy_fleet_parameters: str | None = None
    # namespace/name of the implicit Ingress/HTTPProxy fleet (its Envoys go to that namespace)
    legacy_fleet: str = TranslateOptions.legacy_fleet
    # provision "kubernetes": what the cluster's load balancer can give (empty: anything)
    load_balancer_ranges: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


def plaintext_warning(config: ServeConfig) -> str:
    """What serving xDS without TLS (`serve --insecure-xds`) gives away, for the start-up log:
    whose resources, TLS keys among them, a client that reaches the port gets by naming a
    fleet in `node.cluster`."""
    where = f"{config.xds_address}:{config.xds_port}" if config.xds_port else config.xds_address
    if config.provision == "host":
        return (
            f"xDS is plaintext on {where} (--insecure-xds): no fleet's "
            "identity rests on node.cluster alone (every stream must show the token of the "
            "fleet it names, --provision host), but tokens and resources cross it unencrypted"
        )
    return (
        f"xDS is plaintext on {where} (--insecure-xds): every fleet's "
        f"identity rests on node.cluster alone (each Gateway of {config.controller_name} "
        f"and the Ingress/HTTPProxy fleet {config.legacy_fleet}): whoever reaches the port "
        "and names one receives its resources, TLS keys included; give --xds-cert-dir"
    )


def _contents(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


class ServeMode:
    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.store = Store()
        self.cache = SnapshotCache()
        self.debouncer = Debouncer(config.holdoff, config.max_wait)
        self.pipeline = Pipeline(
            self.cache,
            TranslateOptions(
                controller_name=config.controller_name,
                default_address=config.envoy_address,
                ingress_class_names=config.ingress_class_names,
                ingress_default_class=config.ingress_default_class,
                ingress_status_address=config.ingress_status_address,
                fallback_certificate=config.fallback_certificate,
                legacy_fleet=config.legacy_fleet,
                http=config.http,
            ),
        )
        self.client: KubeClient | None = None
        self.source: KubernetesSource | None = None
        self.leader: LeaderElector | None = None
        self.writer: StatusWriter | None = None
        self.xds_port = 0
        self.ready = anyio.Event()
        self.allocator = LoopbackAllocator() if config.provision == "host" else None
        self.host_addresses = HostAddresses() if config.provision == "host" else None
        self.host_records: HostRecords | None = None  # host mode's ServiceAccount per Gateway
        self.host_fleet: HostFleet | None = None
        self.kube_fleet: KubeFleet | None = None
        self.status_queue = LatestReport()
        self.ops: list[OpsServer] = []
        # status writes that failed transiently are retried by a later rebuild: no watch
        # event may come to trigger one (the API server was only restarting)
        self._status_retry = anyio.Event()
        self._status_backoff = Backoff(first=0.5, cap=10.0)
        # problems of the last rebuild (objects without conditions, e.g. Ingress): each is
        # logged once, when it appears
        self._problems: set[tuple[str, str]] = set()
        # on a NACK: the objects responsible are withheld and the rest rebuilt at once
        self.nack_fallback = NackFallback(self.pipeline, self.cache, self._rebuild_now)

    async def _rebuild_now(self) -> None:
        self.debouncer.poke()

    async def _rebuild(self) -> None:
        assert self.source is not None
        snapshot = self.store.snapshot()
        if self.allocator is not None:
            assert self.host_addresses is not None
            name = self.config.controller_name
            static = self.host_addresses.static_addresses(snapshot, name)
            # the implicit Ingress/HTTPProxy fleet gets its own address too (unused until
            # an Ingress or HTTPProxy makes the fleet exist)
            fleets = [*our_gateways(snapshot, name), self.pipeline.options.legacy_fleet]
            addresses = self.allocator.assign(fleets, static)
            self.pipeline.options = replace(
                self.pipeline.options,
                gateway_addresses=addresses,
                address_usable=self.host_addresses.usable,
            )
        if self.kube_fleet is not None and self.config.ingress_status_address is None:
            # Ingress/HTTPProxy status: the implicit fleet's Service address, once it has one
            self.pipeline.options = replace(
                self.pipeline.options,
                ingress_status_address=self.kube_fleet.implicit_status_address(snapshot),
            )
        result = await self.pipeline.rebuild(snapshot)
        self.ready.set()
        if result is not None:
            problems = {(p.source, p.reason) for p in result.report.problems}
            for source, reason in sorted(problems - self._problems):
                log.warning("%s: %s", source, reason)
            self._problems = problems
        if result is not None and self.host_fleet is not None:
            self.host_fleet.reconcile(served_fleets(result.ir))
        leading = self.leader is None or self.leader.is_leader
        if result is not None and self.host_records is not None and leading:
            await self.host_records.reconcile(snapshot, result.ir)
        if result is not None and self.kube_fleet is not None:
            await self._provision(snapshot, result.ir, result.report)
        if result is None or self.writer is None:
            return
        # written by its own task: the next rebuild need not wait for the writes
        self.status_queue.offer(result.report, snapshot)

    async def _provision(self, snapshot: Snapshot, ir: IR, report: StatusReport) -> None:
        # the leader provisions (as it writes status); a failed apply is retried like a
        # failed status write
        assert self.kube_fleet is not None
        leading = self.leader is None or self.leader.is_leader
        if leading and not await self.kube_fleet.reconcile(snapshot, ir):
            self._status_retry.set()
        self.kube_fleet.amend_report(report, snapshot)

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
        # with host provisioning every Envoy is ours: each must show its fleet's token
        tokens = FleetTokens() if cfg.provision == "host" else None
        envoy_ca = (cfg.envoy_ca_dir / CERT_FILE,) if cfg.envoy_ca_dir else ()
        grace = cfg.ca_rotation_grace
        fleet_certificates = FleetCertificates(envoy_ca[0], grace) if envoy_ca else None
        server = XdsServer(
            self.cache,
            tokens=tokens,
            fleet_certificates=fleet_certificates,
            slots=StreamSlots(max_streams=cfg.xds_max_streams),
        )
        tls = (
            ServerTLS.from_dir(
                cfg.xds_cert_dir, cfg.xds_ca, extra_ca_files=envoy_ca, ca_grace=grace
            )
            if cfg.xds_cert_dir
            else None
        )
        self.nack_fallback.attach(server.stats)
        if tls is None:
            log.warning("%s", plaintext_warning(cfg))
        try:
            self.xds_port = await start_xds(server, cfg.xds_address, cfg.xds_port, tls)
            await self._start_ops(server)
            log.info("xDS server listening on %s:%d", cfg.xds_address, self.xds_port)
            if cfg.provision == "host":
                local = "127.0.0.1" if cfg.xds_address in ("0.0.0.0", "::") else cfg.xds_address
                self.host_fleet = HostFleet(
                    HostFleetOptions(
                        xds_address=local,
                        xds_port=self.xds_port,
                        work_dir=cfg.envoy_work_dir,
                        tls=XdsClientTLS(cfg.envoy_cert_dir) if cfg.envoy_cert_dir else None,
                        tokens=tokens,
                    )
                )
                self.host_records = HostRecords(self.client)
            if cfg.provision == "kubernetes":
                self.kube_fleet = KubeFleet(
                    self.client,
                    self._envoy_credentials(),
                    cfg.controller_name,
                    ControllerEndpoint(
                        xds_host=cfg.xds_service_host,
                        xds_port=cfg.xds_port or 8001,
                        image=cfg.bootstrap_image,
                        # Envoys dial over mTLS exactly when our ADS server requires it
                        tls=cfg.xds_cert_dir is not None,
                    ),
                    implicit_config=ImplicitFleetConfig(
                        fleet=self.pipeline.options.legacy_fleet,
                        http_port=self.pipeline.options.legacy_http_port,
                        https_port=self.pipeline.options.legacy_https_port,
                        parameters=cfg.legacy_fleet_parameters,
                    ),
                    address_ranges=cfg.load_balancer_ranges,
                )
                # translate reports the static addresses a Service cannot ask for
                self.pipeline.options = replace(
                    self.pipeline.options, address_usable=self.kube_fleet.address_usable
                )
            self.source = KubernetesSource(
                self.client,
                self.store,
                lambda _k: self._changed(),
                provisioned=self.kube_fleet is not None,
            )
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
                tg.start_soon(self.pipeline.collector.run)
                tg.start_soon(self.nack_fallback.run)
                tg.start_soon(self._retry_status)
                if self.kube_fleet is not None:
                    tg.start_soon(self._renew_certificates)
                self.debouncer.poke()
        finally:
            with anyio.CancelScope(shield=True):
                if self.host_fleet is not None:
                    await self.host_fleet.drain(cfg.drain_timeout)
                for ops in self.ops:
                    await ops.stop()
                await server.stop(1.0)
                await self.client.close()

    def _envoy_credentials(self) -> EnvoyCredentials:
        cfg = self.config
        if cfg.envoy_ca_dir is not None:
            return FleetCertificateCredentials(cfg.envoy_ca_dir)
        if cfg.envoy_cert_dir is not None:
            return TLSDirCredentials(cfg.envoy_cert_dir)
        return EphemeralCredentials()

    async def _renew_certificates(self) -> None:
        # per-fleet certificates are renewed by a reconcile: one at least hourly, even when
        # nothing changes, and one as soon as the Envoy CA changes (a rotated CA must reach
        # every fleet's Secret before its Envoys reconnect)
        cfg = self.config
        ca_file = cfg.envoy_ca_dir / CERT_FILE if cfg.envoy_ca_dir is not None else None
        seen, last = _contents(ca_file), anyio.current_time()
        while True:
            await anyio.sleep(cfg.envoy_ca_check_interval if ca_file else 3600)
            current = _contents(ca_file)
            if current != seen or anyio.current_time() - last >= 3600:
                seen, last = current, anyio.current_time()
                self.debouncer.poke()

    async def _start_ops(self, server: XdsServer) -> None:
        observed = Observed(
            xds=server,
            nack_fallback=self.nack_fallback,
            snapshot=self.store.snapshot,
            kinds=lambda: self.source.resources if self.source is not None else (),
            synced=lambda: self.source is not None and self.source.synced.is_set(),
            rejected=lambda: self.source.rejections() if self.source is not None else {},
            status=lambda: self.writer.total if self.writer is not None else None,
        )
        metrics = Metrics(observed)
        metrics.attach(self.pipeline)
        self.ops += await start_ops_servers(
            metrics, self.config.metrics_address, self.config.debug_address
        )

    def _changed(self) -> None:
        # before the first full sync, the initial rebuild covers everything
        if self.source is not None and self.source.synced.is_set():
            self.debouncer.poke()
