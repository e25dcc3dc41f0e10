"""Faults under `gateway-contour serve`, against the real API server and a real Envoy.

- etcd compacted while the controller is cut off from the API server: its watches come back
  to a 410, it relists, and what changed in the gap (created, changed, deleted objects)
  reaches the store and Envoy;
- the API server restarted under a running controller: it reconnects, changes made right
  after the restart reach Envoy, status writes and Lease renewals resume;
- the controller restarted under a connected Envoy: Envoy answers 200 all along, no request
  sees a 404, a 503 or a refused connection (the new controller answers xDS only once every
  kind has synced, and Delta/SotW reconnects are not sent an empty or partial world);
- two replicas: only the Lease holder writes status; when it stops, it releases the Lease and
  the other one takes over and writes.

Here Envoy is started by the test from the same bootstrap production uses, never by
`provision="host"` (whose Envoys die with the controller). Backends live on a test host in a
network namespace (the API server refuses loopback addresses in EndpointSlices).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import yaml

from gateway_contour.envoy.binary import envoy_binary
from gateway_contour.envoy.bootstrap import BootstrapOptions, write_bootstrap
from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.providers.kubernetes.watch import KindWatcher
from gateway_contour.provisioner.host import free_port
from gateway_contour.serve import ServeConfig, ServeMode
from tests.e2e.http_client import Response, arequest, eventually, request
from tests.k8s import manifests as m
from tests.k8s.controller import controller_name, serve_config
from tests.support.hostnet import HostNetwork, HostProcess
from tests.support.kube_cluster import KubeCluster

T = TypeVar("T")

START_TIMEOUT = 60.0  # a controller's first sync, on a shared 2-core machine
CONVERGE = 30.0  # change -> Envoy / status, through reconnects and backoff


# --------------------------------------------------------------------------- controllers


@dataclass
class Controller:
    """A ServeMode running as a task of the test's event loop."""

    mode: ServeMode
    task: asyncio.Task[None]

    @classmethod
    async def start(cls, config: ServeConfig) -> Controller:
        mode = ServeMode(config)
        task = asyncio.create_task(mode.run())
        ready = asyncio.ensure_future(mode.ready.wait())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            ready.cancel()
            task.result()  # raises what ended it
            raise AssertionError("the controller ended before serving")
        if ready not in done:
            ready.cancel()
            task.cancel()
            raise AssertionError(f"the controller did not sync within {START_TIMEOUT} s")
        return cls(mode, task)

    def watcher(self, kind: str) -> KindWatcher:
        assert self.mode.source is not None
        return next(w for w in self.mode.source.watchers if w.resource.kind == kind)

    def watchers(self) -> list[KindWatcher]:
        assert self.mode.source is not None
        return self.mode.source.watchers

    @property
    def is_leader(self) -> bool:
        return self.mode.leader is not None and self.mode.leader.is_leader

    @property
    def status_writes(self) -> int:
        return self.mode.writer.total.writes if self.mode.writer is not None else 0

    async def wrote_more_than(self, count: int) -> int:
        """Wait until its writer counted more than `count` writes. (A status shows on the
        object while the writer's round, and so its count, may still be going on.)"""
        return await eventually(lambda: self.value(lambda: self.status_writes), lambda n: n > count)

    def check_alive(self) -> None:
        if self.task.done():
            self.task.result()
            raise AssertionError("the controller stopped by itself")

    async def value(self, read: Callable[[], T]) -> T:
        """`read()` for `eventually`, failing at once (with its error) if the controller
        died: a crash must not pass for a slow condition."""
        self.check_alive()
        return read()

    async def stop(self) -> None:
        """Cancel it (what SIGTERM does) and surface any error it ended with."""
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


# --------------------------------------------------------------------------- Envoy


@dataclass
class Envoy:
    process: subprocess.Popen[bytes]
    admin: tuple[str, int]
    log_path: Path

    async def stat(self, name: str) -> int | None:
        """One counter or gauge from the admin endpoint (None: not there yet)."""
        answer = await arequest(*self.admin, f"/stats?filter=^{name}$")
        for line in answer.body.decode().splitlines():
            stat, _, value = line.partition(": ")
            if stat == name:
                return int(value)
        return None

    async def connected(self) -> bool:
        return await self.stat("control_plane.connected_state") == 1

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def start_envoy(workdir: Path, fleet: str, xds_port: int, delta: bool = True) -> Envoy:
    """A real Envoy from the production bootstrap, admin on an ephemeral port."""
    name = f"envoy-{uuid.uuid4().hex[:6]}"
    bootstrap = write_bootstrap(
        BootstrapOptions(node_id=name, fleet=fleet, xds_port=xds_port, admin_port=0, delta=delta),
        workdir / f"{name}.json",
    )
    admin_path, log_path = workdir / f"{name}.admin", workdir / f"{name}.log"
    argv = [envoy_binary(), "-c", str(bootstrap), "--admin-address-path", str(admin_path)]
    argv += ["--use-dynamic-base-id", "--concurrency", "1", "--log-path", str(log_path)]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)

    async def admin_address() -> str:
        if process.poll() is not None:
            raise AssertionError(f"Envoy exited: {log_path.read_text(errors='replace')}")
        return admin_path.read_text().strip() if admin_path.exists() else ""

    address = await eventually(admin_address, bool, timeout=30)
    host, _, port = address.rpartition(":")
    return Envoy(process, (host, int(port)), log_path)


# --------------------------------------------------------------------------- a partition


class ApiPartition:
    """A TCP proxy in front of the API server that can cut a client off: `cut()` aborts every
    proxied connection and refuses new ones until `heal()`. TLS passes through untouched."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.is_cut = False
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._open -= {writer, up_writer}
            writer.transport.abort()
            up_writer.transport.abort()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.transport.abort()

    def cut(self) -> None:
        self.is_cut = True
        for writer in list(self._open):
            writer.transport.abort()

    def heal(self) -> None:
        self.is_cut = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def kubeconfig_via(kube: KubeCluster, port: int, path: Path) -> Path:
    """The admin kubeconfig, pointed at 127.0.0.1:`port` (the serving certificate names
    127.0.0.1, so TLS still verifies through a proxy)."""
    config = yaml.safe_load(kube.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    path.write_text(yaml.safe_dump(config))
    return path


# --------------------------------------------------------------------------- a site


@dataclass
class Site:
    """A namespace with a GatewayClass of its own, a backend, and what the test started."""

    kube: KubeCluster
    api: KubeClient
    ns: str
    workdir: Path
    backend: HostProcess
    port: int = field(default_factory=free_port)  # the Gateway listener's port
    controllers: list[Controller] = field(default_factory=list)
    envoys: list[Envoy] = field(default_factory=list)

    @property
    def class_name(self) -> str:
        return f"gc-{self.ns}"

    @property
    def controller_name(self) -> str:
        return controller_name(self.ns)

    @property
    def fleet(self) -> str:
        return f"{self.ns}/gw"

    def config(self, **overrides: Any) -> ServeConfig:
        defaults: dict[str, Any] = {"envoy_address": "127.0.0.1", "provision": "none"}
        return serve_config(self.kube, self.ns, **{**defaults, **overrides})

    async def controller(self, **overrides: Any) -> Controller:
        started = await Controller.start(self.config(**overrides))
        self.controllers.append(started)
        return started

    async def envoy(self, xds_port: int, delta: bool = True) -> Envoy:
        started = await start_envoy(self.workdir, self.fleet, xds_port, delta)
        self.envoys.append(started)
        return started

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        return await self.api.request("POST", m.collection_path(obj), body=obj)  # type: ignore[no-any-return]

    async def get(self, obj: dict[str, Any]) -> dict[str, Any]:
        return await self.api.get(m.object_path(obj))  # type: ignore[no-any-return]

    async def delete(self, obj: dict[str, Any]) -> None:
        await self.api.request("DELETE", m.object_path(obj))

    def route(self, name: str, path: str) -> dict[str, Any]:
        return m.http_route(self.ns, name, "gw", path, "app")

    async def create_world(self, *route_paths: tuple[str, str]) -> None:
        """Gateway + Service + EndpointSlice to the backend + one HTTPRoute per (name, path)."""
        await self.create(m.gateway(self.ns, "gw", self.class_name, self.port))
        await self.create(m.service(self.ns, "app"))
        await self.create(m.endpoint_slice(self.ns, "app", self.backend.address, 8080))
        for name, path in route_paths:
            await self.create(self.route(name, path))

    async def through_envoy(self, path: str) -> Response:
        return await arequest("127.0.0.1", self.port, path, timeout=5)

    async def serves(self, path: str, status: int = 200, timeout: float = CONVERGE) -> None:
        def answered(r: Response) -> bool:
            return r.status == status and (status != 200 or r.backend == "backend-a")

        await eventually(lambda: self.through_envoy(path), answered, timeout=timeout)

    async def accepted(self, route: dict[str, Any], generation: int = 1) -> dict[str, Any]:
        """The route once our controller wrote Accepted=True for `generation` on it."""

        def ours(obj: dict[str, Any]) -> bool:
            for parent in (obj.get("status") or {}).get("parents") or []:
                if parent.get("controllerName") != self.controller_name:
                    continue
                for cond in parent.get("conditions", []):
                    if cond["type"] == "Accepted" and cond["status"] == "True":
                        return bool(cond["observedGeneration"] == generation)
            return False

        return await eventually(lambda: self.get(route), ours, timeout=CONVERGE)

    async def lease(self) -> dict[str, Any]:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{self.ns}/leases/gateway-contour-leader"
        return await self.api.get(path)  # type: ignore[no-any-return]


@pytest.fixture(name="site")
async def site_fixture(kube: KubeCluster, namespace: str, tmp_path: Path) -> AsyncIterator[Site]:
    net = HostNetwork(workdir=tmp_path).up()
    api = KubeClient(kube.kubeconfig)
    site: Site | None = None
    try:
        backend = net.start_echo("backend-a", port=8080)
        site = Site(kube, api, namespace, tmp_path, backend)
        await site.create(m.gateway_class(site.class_name, site.controller_name))
        yield site
    finally:
        if site is not None:
            for controller in site.controllers:
                with contextlib.suppress(Exception):  # a crash is the test's to report
                    await controller.stop()
            for envoy in site.envoys:
                envoy.stop()
            with contextlib.suppress(ApiError):
                await api.request("DELETE", m.object_path(m.gateway_class(site.class_name, "")))
        await api.close()
        net.down()


# --------------------------------------------------------------------------- traffic


class Traffic:
    """Requests sent one after the other through Envoy from a thread, each on a new
    connection, until stopped; every outcome counted (a status code, or an error's name)."""

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.outcomes: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answer = request("127.0.0.1", self.port, self.path, timeout=5)
                outcome = str(answer.status)
                if answer.status == 200 and answer.backend != "backend-a":
                    outcome = "200 from elsewhere"
            except Exception as err:  # every failure is a finding, whatever its kind
                outcome = type(err).__name__
            self.outcomes[outcome] += 1
            time.sleep(0.005)

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())

    async def more(self, count: int) -> None:
        """Wait until `count` more requests have been answered (or failed)."""
        target = self.sent + count
        await eventually(lambda: asyncio.sleep(0, self.sent), lambda n: n >= target, timeout=60)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


# --------------------------------------------------------------------------- the tests


async def test_compaction_gap_is_relisted_and_nothing_is_lost(site: Site, tmp_path: Path) -> None:
    kube = site.kube
    # watches served from etcd: compaction reaches them (the watch cache would hide it)
    await asyncio.to_thread(kube.restart_apiserver, ["--watch-cache=false"])
    partition = ApiPartition(kube.apiserver_port)
    try:
        kubeconfig = kubeconfig_via(kube, await partition.start(), tmp_path / "kubeconfig")
        ctl = await site.controller(kubeconfig=kubeconfig)
        await site.envoy(ctl.mode.xds_port)
        await site.create_world(("old", "/old"), ("moving", "/before"))
        await site.serves("/old")
        await site.serves("/before")
        routes = ctl.watcher("HTTPRoute")
        relists, gone = routes.relists, routes.gone

        partition.cut()
        await site.create(site.route("new", "/new"))
        await site.delete(site.route("old", ""))
        moving = await site.get(site.route("moving", ""))
        moving["spec"]["rules"][0]["matches"][0]["path"]["value"] = "/after"
        await site.api.request("PUT", m.object_path(moving), body=moving)
        compacted = await asyncio.to_thread(kube.compact_etcd)
        # the controller saw none of it: its last resourceVersion is older than the gap
        assert routes.relists == relists
        assert ctl.mode.store.snapshot().get("HTTPRoute", site.ns, "new") is None
        partition.heal()

        # back from the gap: a 410, a relist, and the difference reconciled
        await eventually(lambda: ctl.value(lambda: routes.relists), lambda n: n > relists, CONVERGE)
        assert routes.gone > gone
        snapshot = ctl.mode.store.snapshot()
        assert snapshot.get("HTTPRoute", site.ns, "old") is None
        new_route = snapshot.get("HTTPRoute", site.ns, "new")
        assert new_route is not None
        assert int(new_route["metadata"]["resourceVersion"]) < compacted
        moved = snapshot.get("HTTPRoute", site.ns, "moving")
        assert moved is not None
        assert moved["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/after"
        # every kind went through the same: none is left watching from a compacted version
        await eventually(
            lambda: ctl.value(lambda: [w for w in ctl.watchers() if not w.gone]),
            lambda behind: not behind,
            CONVERGE,
        )

        await site.serves("/new")
        await site.serves("/after")
        await site.serves("/old", 404)
        await site.serves("/before", 404)
        await site.accepted(site.route("new", ""))
        await site.accepted(site.route("moving", ""), generation=2)
        ctl.check_alive()
    finally:
        await partition.close()
        for controller in site.controllers:
            await controller.stop()
        await asyncio.to_thread(kube.restart_apiserver, [])


async def test_apiserver_restart_under_a_running_controller_converges(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube = site.kube
    ctl = await site.controller()
    await site.envoy(ctl.mode.xds_port)
    await site.create_world(("first", "/first"))
    await site.serves("/first")
    await site.accepted(site.route("first", ""))
    assert ctl.is_leader

    restarted_at = time.time()
    await asyncio.to_thread(kube.restart_apiserver, [])
    second = await site.create(site.route("second", "/second"))
    await site.delete(site.route("first", ""))

    await site.serves("/second")
    await site.serves("/first", 404)
    await site.accepted(second)  # created after the restart: status writes resumed
    # leadership survived: the Lease is renewed again after the restart
    lease = await eventually(
        site.lease,
        lambda lease: datetime.fromisoformat(lease["spec"]["renewTime"]).timestamp() > restarted_at,
        timeout=CONVERGE,
    )
    assert lease["spec"]["holderIdentity"] == ctl.mode.config.identity
    assert ctl.is_leader

    # A status write that finds the API server unreachable (as during a restart) neither
    # crashes the controller nor is forgotten: it is retried with no new event to prompt it.
    assert ctl.mode.client is not None and ctl.mode.writer is not None
    client, writer = ctl.mode.client, ctl.mode.writer
    # status PUTs go through request_bounded (their answer is the whole user object)
    real_request, unreachable = client.request_bounded, [True]

    async def flaky(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        if unreachable[0] and method == "PUT" and path.endswith("/status"):
            raise aiohttp.ClientConnectionError("injected: the API server is unreachable")
        return await real_request(method, path, *args, **kwargs)

    monkeypatch.setattr(client, "request_bounded", flaky)
    third = await site.create(site.route("third", "/third"))
    await eventually(lambda: ctl.value(lambda: writer.total.retryable), bool, CONVERGE)
    unreachable[0] = False
    await site.accepted(third)
    ctl.check_alive()


@pytest.mark.parametrize("delta", [True, False], ids=["delta", "sotw"])
async def test_controller_restart_keeps_envoy_answering(
    site: Site, delta: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The new controller lists HTTPRoutes last, well after everything else: were it to
    # answer xDS before every kind synced, Envoy would get listeners without routes (404).
    list_kind = KindWatcher.relist

    async def routes_late(watcher: KindWatcher) -> str:
        if watcher.resource.kind == "HTTPRoute":
            await asyncio.sleep(1.5)
        return await list_kind(watcher)

    xds_port = free_port()
    first = await site.controller(xds_port=xds_port, identity="first")
    envoy = await site.envoy(xds_port, delta=delta)
    await site.create_world(("app", "/app"))
    await site.serves("/app")

    removed = ("listener_manager.listener_removed", "cluster_manager.cluster_removed")
    removed_before = [await envoy.stat(name) for name in removed]
    assert None not in removed_before
    with Traffic(site.port, "/app/x") as traffic:
        await traffic.more(20)
        await first.stop()
        await eventually(envoy.connected, lambda up: not up, timeout=CONVERGE)
        await traffic.more(20)  # nobody serves xDS: Envoy keeps its configuration
        monkeypatch.setattr(KindWatcher, "relist", routes_late)

        second = await site.controller(xds_port=xds_port, identity="second")
        await eventually(envoy.connected, bool, timeout=CONVERGE)
        await traffic.more(20)
        # the new controller does drive this Envoy: a new route reaches it
        await site.create(site.route("later", "/later"))
        await site.serves("/later")
        await traffic.more(20)

    print(f"controller restart ({'delta' if delta else 'sotw'}): {dict(traffic.outcomes)}")
    assert traffic.outcomes == {"200": traffic.sent}, dict(traffic.outcomes)
    assert await envoy.stat("control_plane.connected_state") == 1
    # not even for a moment did Envoy drop a listener or a cluster (a partial world)
    assert [await envoy.stat(name) for name in removed] == removed_before
    second.check_alive()


async def test_only_the_lease_holder_writes_status(site: Site) -> None:
    one = await site.controller(identity="replica-1")
    await eventually(lambda: one.value(lambda: one.is_leader), bool, timeout=CONVERGE)
    two = await site.controller(identity="replica-2")
    # every replica serves xDS: this Envoy follows the one that is not the leader
    await site.envoy(two.mode.xds_port)

    await site.create_world(("first", "/first"))
    await site.serves("/first")
    await site.accepted(site.route("first", ""))
    await one.wrote_more_than(0)
    assert two.status_writes == 0
    assert two.mode.writer is not None and two.mode.writer.total.skipped == 0
    assert not two.is_leader
    transitions = (await site.lease())["spec"].get("leaseTransitions", 0)

    # the leader stops: it releases the Lease, the other replica takes over at once (well
    # within leaseDuration) and writes status from then on
    stopped_at = time.monotonic()
    await one.stop()
    released = await site.lease()
    assert released["spec"].get("holderIdentity", "") in ("", "replica-2")
    lease = await eventually(
        site.lease, lambda lease: lease["spec"].get("holderIdentity") == "replica-2", CONVERGE
    )
    assert time.monotonic() - stopped_at < two.mode.leader.lease_duration  # type: ignore[union-attr]
    assert lease["spec"]["leaseTransitions"] == transitions + 1
    second = await site.create(site.route("second", "/second"))
    await site.accepted(second)
    await site.serves("/second")
    await two.wrote_more_than(0)
    assert two.is_leader
    two.check_alive()
