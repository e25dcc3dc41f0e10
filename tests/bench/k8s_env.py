"""What the Kubernetes benchmarks share: a real cluster, test-host backends, the controller.

`BenchEnv` starts etcd + kube-apiserver (tests.support.kube_cluster), a network namespace
with a few echo backends (tests.support.hostnet: the API server refuses loopback endpoints),
and `gateway-contour serve --provision host` as a subprocess (so its RSS is its own and it
does not share an event loop with the load generator); that controller starts the Envoy.

Everything is bounded: object counts come from the caller, every wait has a deadline, and
traffic goes only to loopback (Envoy) and the namespace's 10.x test-host addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from tests.support.hostnet import HostNetwork
from tests.support.kube_cluster import KubeCluster, ensure_binaries, free_port, start_cluster

GW = "gateway.networking.k8s.io/v1"
NS = "bench"
CONTROLLER = "gateway-contour.dev/bench"
GATEWAY = "gw"
LEADER_NS = "gateway-contour"
ROUTES_PATH = f"/apis/gateway.networking.k8s.io/v1/namespaces/{NS}/httproutes"
GATEWAYS_PATH = f"/apis/gateway.networking.k8s.io/v1/namespaces/{NS}/gateways"
IN_FLIGHT = 32  # concurrent API calls when creating objects in bulk

Obj = dict[str, Any]
T = TypeVar("T")


def load() -> dict[str, float]:
    """The machine's load averages (the machine is shared: figures carry their load)."""
    one, five, fifteen = os.getloadavg()
    return {"load1": one, "load5": five, "load15": fifteen, "cpus": float(os.cpu_count() or 0)}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- objects


def service(i: int) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"svc-{i}", "namespace": NS},
        # headless: the test cluster's service range has room for only 254 cluster IPs
        "spec": {
            "clusterIP": "None",
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
        },
    }


def endpoint_slice(i: int, address: str, port: int) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"svc-{i}-a",
            "namespace": NS,
            "labels": {"kubernetes.io/service-name": f"svc-{i}"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
    }


def http_route(i: int, service_index: int) -> Obj:
    """Route i: PathPrefix /r/i to svc-<service_index>, attached to the bench Gateway."""
    return {
        "apiVersion": GW,
        "kind": "HTTPRoute",
        "metadata": {"name": f"route-{i}", "namespace": NS},
        "spec": {
            "parentRefs": [{"name": GATEWAY}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": f"/r/{i}"}}],
                    "backendRefs": [{"name": f"svc-{service_index}", "port": 80}],
                }
            ],
        },
    }


def route_path(i: int) -> str:
    return f"/r/{i}/x"


_COLLECTIONS = {
    "Namespace": "/api/v1/namespaces",
    "GatewayClass": "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
    "Gateway": GATEWAYS_PATH,
    "HTTPRoute": ROUTES_PATH,
    "Service": f"/api/v1/namespaces/{NS}/services",
    "EndpointSlice": f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices",
}


def collection(obj: Obj) -> str:
    return _COLLECTIONS[obj["kind"]]


# --------------------------------------------------------------------------- status


def accepted_by_us(route: Obj) -> bool:
    parents = (route.get("status") or {}).get("parents") or []
    return any(
        p.get("controllerName") == CONTROLLER
        and any(
            c.get("type") == "Accepted" and c.get("status") == "True"
            for c in p.get("conditions") or []
        )
        for p in parents
    )


def attached_routes(gateway: Obj) -> int:
    listeners = (gateway.get("status") or {}).get("listeners") or []
    return sum(int(item.get("attachedRoutes") or 0) for item in listeners)


def parse_metrics(text: str) -> Counter[tuple[str, str, str, str]]:
    """apiserver_request_total summed by (verb, resource, subresource, code)."""
    out: Counter[tuple[str, str, str, str]] = Counter()
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.rindex("}")]))
        value = float(line.rsplit(" ", 1)[1])
        key = (labels.get("verb", ""), labels.get("resource", ""), labels.get("subresource", ""))
        out[(*key, labels.get("code", ""))] += int(value)
    return out


class Settling:
    """Follows route and Gateway status through watches: `wait(n)` returns once n routes
    carry Accepted=True from us and the Gateway listener shows attachedRoutes = n; `marks`
    records when each of the two first held (perf_counter)."""

    def __init__(self) -> None:
        self.accepted: set[str] = set()
        self.attached = 0
        self.marks: dict[str, float] = {}
        self._target = -1
        self._done = asyncio.Event()

    def on_route(self, obj: Obj) -> None:
        if accepted_by_us(obj):
            self.accepted.add(obj["metadata"]["name"])
            if len(self.accepted) == self._target:
                self.marks.setdefault("all_accepted", time.perf_counter())
        self._check()

    def on_gateway(self, obj: Obj) -> None:
        self.attached = attached_routes(obj)
        if self.attached == self._target:
            self.marks.setdefault("attached", time.perf_counter())
        self._check()

    def _check(self) -> None:
        if len(self.accepted) == self.attached == self._target and not self._done.is_set():
            self.marks["settled"] = time.perf_counter()
            self._done.set()

    async def wait(self, routes: int, timeout: float) -> None:
        self._target, self.marks = routes, {}
        self._done = asyncio.Event()
        self._check()
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            raise RuntimeError(
                f"not settled at {routes}: {len(self.accepted)} accepted, "
                f"attachedRoutes {self.attached}"
            ) from None


# --------------------------------------------------------------------------- HTTP probe


class HttpConn:
    """One keep-alive HTTP/1.1 connection to Envoy; `get` returns the status (0: no answer,
    the connection failed or closed)."""

    def __init__(self, address: str, port: int) -> None:
        self.address, self.port = address, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, host: str = "bench.test", timeout: float = 5.0) -> int:
        try:
            return await asyncio.wait_for(self._get(path, host), timeout)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            self.close()
            return 0

    async def _get(self, path: str, host: str) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.address, self.port)
        assert self._reader is not None
        self._writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await self._writer.drain()
        status = int((await self._reader.readline()).split()[1])
        length, close = 0, False
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        if length:
            await self._reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


# --------------------------------------------------------------------------- the environment


class BenchEnv:
    """Cluster + backends + controller for one benchmark. Use as an async context manager."""

    def __init__(self, backends: int = 4) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="gateway-contour-bench-"))
        self.backend_count = backends
        self.cluster: KubeCluster | None = None
        self.net: HostNetwork | None = None
        self.api: KubeClient | None = None
        self.controller: subprocess.Popen[bytes] | None = None
        self.listener_port = free_port()
        self.envoy_address = ""
        self.backends: list[tuple[str, int]] = []

    async def __aenter__(self) -> BenchEnv:
        binaries = ensure_binaries()
        self.cluster = start_cluster(binaries, self.workdir)
        self.net = HostNetwork(workdir=self.workdir).up()
        for b in range(self.backend_count):
            proc = self.net.start_echo(f"echo-{b}")
            self.backends.append((proc.address, proc.port))
        self.api = KubeClient(self.cluster.kubeconfig)
        for ns in (NS, LEADER_NS):
            await self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        await self.create(
            {
                "apiVersion": GW,
                "kind": "GatewayClass",
                "metadata": {"name": "bench"},
                "spec": {"controllerName": CONTROLLER},
            }
        )
        await self.create(
            {
                "apiVersion": GW,
                "kind": "Gateway",
                "metadata": {"name": GATEWAY, "namespace": NS},
                "spec": {
                    "gatewayClassName": "bench",
                    "listeners": [{"name": "http", "protocol": "HTTP", "port": self.listener_port}],
                },
            }
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop_controller()
        if self.api is not None:
            with contextlib.suppress(Exception):
                await self.api.close()
        if self.net is not None:
            self.net.down()
        if self.cluster is not None:
            self.cluster.stop()
        if os.environ.get("BENCH_KEEP"):
            print(f"bench: kept {self.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- API helpers

    @property
    def client(self) -> KubeClient:
        assert self.api is not None
        return self.api

    async def create(self, obj: Obj) -> Obj:
        created: Obj = await self.client.request("POST", collection(obj), body=obj)
        return created

    async def create_all(self, objs: Iterable[Obj], in_flight: int = IN_FLIGHT) -> None:
        """Create objects with `in_flight` calls outstanding at a time."""
        limit = asyncio.Semaphore(in_flight)

        async def one(obj: Obj) -> None:
            async with limit:
                for attempt in range(5):
                    try:
                        await self.create(obj)
                        return
                    except ApiError as err:
                        if err.status == 409 or attempt == 4:
                            raise
                        await asyncio.sleep(0.2 * (attempt + 1))  # 429/5xx under load

        await asyncio.gather(*(one(o) for o in objs))

    async def backends_for(self, indices: Iterable[int]) -> None:
        """Services svc-i with an EndpointSlice on one of the echo backends each."""
        objs: list[Obj] = []
        for i in indices:
            address, port = self.backends[i % len(self.backends)]
            objs += [service(i), endpoint_slice(i, address, port)]
        await self.create_all(objs)

    async def request_counts(self) -> Counter[tuple[str, str, str, str]]:
        """The API server's request counters (verb, resource, subresource, code)."""
        return parse_metrics(await self.client.get_text("/metrics"))

    async def watch(self, path: str, on_object: Callable[[Obj], None]) -> None:
        """List `path` then watch it, calling `on_object` for every object seen; forever."""
        listing = await self.client.get(path)
        for item in listing.get("items") or []:
            on_object(item)
        rv = listing["metadata"]["resourceVersion"]
        while True:
            params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true"}
            # each event comes with whether the client's nesting bound cut parts of it
            async for event, _cut in self.client.stream_lines(path, params, 300):
                obj = event.get("object") or {}
                rv = (obj.get("metadata") or {}).get("resourceVersion", rv)
                if event.get("type") in ("ADDED", "MODIFIED"):
                    on_object(obj)

    # -- the controller

    @contextlib.asynccontextmanager
    async def settling(self) -> AsyncIterator[Settling]:
        """Watch routes and the Gateway for the duration of the block."""
        settling = Settling()
        async with (
            background(self.watch(ROUTES_PATH, settling.on_route)),
            background(self.watch(GATEWAYS_PATH, settling.on_gateway)),
        ):
            await asyncio.sleep(0.5)  # both watches established
            yield settling

    async def create_floor(self, routes: int) -> tuple[float, dict[str, float]]:
        """Seconds to create `routes` HTTPRoutes that no controller acts on (another
        namespace, no such parent), at IN_FLIGHT, and the CPU seconds each process spent
        meanwhile; then delete them. The API server's own cost on this machine: the floor
        under any settle time."""
        ns = "floor"
        await self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        objs = []
        for i in range(routes):
            route = http_route(i, i)
            route["metadata"]["namespace"] = ns
            route["spec"]["parentRefs"][0]["name"] = "no-such-gateway"
            objs.append(route)
        path = ROUTES_PATH.replace(f"/namespaces/{NS}/", f"/namespaces/{ns}/")
        cpu_before = self.cpu_seconds()
        t0 = time.perf_counter()
        limit = asyncio.Semaphore(IN_FLIGHT)

        async def one(obj: Obj) -> None:
            async with limit:
                await self.client.request("POST", path, body=obj)

        await asyncio.gather(*(one(o) for o in objs))
        elapsed = time.perf_counter() - t0
        cpu = cpu_used(cpu_before, self.cpu_seconds())
        await self.client.request("DELETE", path)
        return elapsed, cpu

    def start_controller(self) -> int:
        """`gateway-contour serve --provision host` as a subprocess; returns its pid."""
        assert self.cluster is not None
        exe = Path(sys.executable).parent / "gateway-contour"
        argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "gateway_contour.cli"]
        if os.environ.get("BENCH_VERBOSE"):
            argv.append("-v")  # debug logs: rebuild timings, xDS traffic
        argv += [
            "serve",
            "--kubeconfig",
            str(self.cluster.kubeconfig),
            "--gateway-class-controller",
            CONTROLLER,
            "--xds-address",
            "127.0.0.1",
            "--xds-port",
            "0",
            "--leader-namespace",
            LEADER_NS,
            "--provision",
            "host",
            "--insecure-xds",  # loopback only, and every host Envoy shows its fleet's token
        ]
        log = (self.workdir / "controller.log").open("ab")
        self.controller = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self.controller.pid

    def stop_controller(self) -> None:
        proc, self.controller = self.controller, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # serve stops its Envoys on SIGTERM
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait()

    def controller_log_tail(self, lines: int = 20) -> str:
        path = self.workdir / "controller.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def check_controller(self) -> None:
        if self.controller is not None and self.controller.poll() is not None:
            raise RuntimeError("controller exited:\n" + self.controller_log_tail())

    async def wait_serving(self, timeout: float = 60.0) -> str:
        """Wait for the Gateway's address and for Envoy to answer there; return the address."""

        async def address() -> str:
            gw = await self.client.get(f"{GATEWAYS_PATH}/{GATEWAY}")
            found = (gw.get("status") or {}).get("addresses") or []
            return str(found[0]["value"]) if found else ""

        self.envoy_address = await until(address, bool, timeout, self.check_controller)
        conn = HttpConn(self.envoy_address, self.listener_port)
        await until(lambda: conn.get("/nothing-here"), lambda s: s == 404, timeout)
        conn.close()
        return self.envoy_address

    def process_pids(self) -> dict[str, list[int]]:
        """The benchmark's processes by role: the API server, etcd, the controller, the Envoys
        it started (its children) and this process (the load generator and its watches)."""
        assert self.cluster is not None
        roles: dict[str, list[int]] = {"bench": [os.getpid()]}
        if self.cluster.apiserver is not None:
            roles["kube-apiserver"] = [self.cluster.apiserver.pid]
        if self.cluster.etcd is not None:
            roles["etcd"] = [self.cluster.etcd.pid]
        if self.controller is not None:
            roles["controller"] = [self.controller.pid]
            roles["envoy"] = children_of(self.controller.pid)
        return roles

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by each role of `process_pids`."""
        return {
            role: sum(process_cpu_seconds(pid) for pid in pids)
            for role, pids in self.process_pids().items()
        }

    def rss_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) of the controller process, in KiB."""
        assert self.controller is not None
        fields = {}
        for line in Path(f"/proc/{self.controller.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
        return fields


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds per role between two `cpu_seconds()` readings."""
    return {role: round(after[role] - before.get(role, 0.0), 3) for role in after}


async def until(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    timeout: float,
    check: Callable[[], None] | None = None,
    interval: float = 0.05,
) -> T:
    """Call `probe` until `accept` holds; TimeoutError with the last value at the deadline."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        if check is not None:
            check()
        with contextlib.suppress(ApiError, OSError):
            last = await probe()
            if accept(last):
                return last
        await asyncio.sleep(interval)
    raise TimeoutError(f"gave up after {timeout} s; last: {last!r}")


@contextlib.asynccontextmanager
async def background(coro: Awaitable[None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run `coro` as a task for the duration of the block, then cancel it."""
    task = asyncio.ensure_future(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def dump(name: str, result: dict[str, Any]) -> Path:
    out = Path(__file__).parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
