"""`gateway-contour envoy-drain`: the drain sidecar of a provisioned Envoy Pod.

Contour's shutdown-manager, in our controller image (the Envoy image has no shell and no
curl). When the Pod terminates the kubelet, in parallel, runs the Envoy container's preStop
hook (a GET of this sidecar's `/shutdown`) and sends this sidecar SIGTERM (it has no hook
of its own). SIGTERM starts the drain, through Envoy's admin on loopback:

1. `POST /healthcheck/fail`: `/ready` turns 503 DRAINING, so the readiness probe and any
   load balancer checking it stop sending new traffic;
2. `POST /drain_listeners?graceful`: HTTP/1 responses say `Connection: close` and HTTP/2
   connections get a GOAWAY, over Envoy's --drain-time-s; then the listeners close;
3. wait until no downstream connection is open on Envoy's listeners (the ready listener's
   probes and the admin are not counted), but at least `min_drain` (10 s by default), or
   until `timeout` passes. The minimum is for what does not use connections that are
   already open: the Pod's endpoint leaves the Service's EndpointSlice when the Pod starts
   terminating, yet every node's kube-proxy (or a cloud load balancer) takes a moment to
   stop sending new connections here. A client making a new connection per request keeps
   none open, so without the minimum Envoy would stop while they still arrive (the node
   tier's DaemonSet roll: 32 refused connections of 231 without it).

`/shutdown` answers once the drain is done, so the Envoy container's preStop hook returns
and only then does the kubelet send Envoy SIGTERM. The sidecar itself exits once Envoy's
admin stops answering (Envoy is gone), so the hook never finds it already gone.

`/healthz` is the Envoy container's liveness probe: 200 while Envoy's admin answers
`/server_info` (its main thread is alive, whatever its state), else 503. It cannot go
through the ready listener, which stays closed while Envoy waits for its first configuration
(the controller not up yet is no reason to restart Envoy), nor be `/ready`, which is 503
for a draining Envoy.

Only SIGTERM starts a drain: a GET of `/shutdown` from anywhere else waits and changes
nothing (the port is on the Pod IP, as the kubelet's HTTP hooks need). When only the Envoy
container is restarted (a failed liveness probe), no SIGTERM comes, and the probe's own
terminationGracePeriodSeconds bounds the hook. For the same reason this sidecar must be a
regular container, not a native sidecar (those get SIGTERM only after Envoy exited).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import urllib.parse
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from gateway_contour.envoy.bootstrap import READY_LISTENER

log = logging.getLogger(__name__)

DRAIN_PORT = 8090
DEFAULT_TIMEOUT = 270.0  # seconds; the Pod's terminationGracePeriodSeconds is larger
DEFAULT_MIN_DRAIN = 10.0  # seconds Envoy keeps accepting while endpoints propagate
_ADMIN_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
_NOT_COUNTED = ("listener.admin.", f"listener.{READY_LISTENER}.")


@dataclass(frozen=True, slots=True)
class DrainOptions:
    admin_url: str = "http://127.0.0.1:9001"
    timeout: float = DEFAULT_TIMEOUT  # bound on waiting for connections to close
    min_drain: float = DEFAULT_MIN_DRAIN  # the drain lasts at least this (capped by timeout)
    poll_interval: float = 1.0  # between reads of Envoy's connection counts


def open_connections(stats: str) -> int:
    """The downstream connections open on Envoy's own listeners, from admin /stats text
    (per listener totals; per-worker lines, the admin's and the ready listener's left out)."""
    total = 0
    for line in stats.splitlines():
        name, _, value = line.partition(":")
        if (
            name.startswith("listener.")
            and name.endswith(".downstream_cx_active")
            and ".worker_" not in name
            and not name.startswith(_NOT_COUNTED)
        ):
            total += int(value.strip() or 0)
    return total


class Drainer:
    """One drain of one Envoy: `start` begins it (once), `wait` awaits its outcome."""

    def __init__(self, opts: DrainOptions, session: aiohttp.ClientSession) -> None:
        self.opts = opts
        self.session = session
        self.started = asyncio.Event()
        self._task: asyncio.Task[str] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
            self.started.set()

    async def wait(self) -> str:
        """The outcome ("drained", "timed out", "envoy unreachable") once the drain that
        `start` began is over."""
        await self.started.wait()
        assert self._task is not None
        return await asyncio.shield(self._task)

    async def admin(self, method: str, path: str) -> str | None:
        try:
            async with self.session.request(
                method, self.opts.admin_url + path, timeout=aiohttp.ClientTimeout(total=5)
            ) as response:
                return await response.text()
        except _ADMIN_ERRORS:
            return None

    async def open_connections(self) -> int | None:
        pattern = urllib.parse.quote(r"^listener\..*downstream_cx_active$")
        stats = await self.admin("GET", f"/stats?filter={pattern}")
        return None if stats is None else open_connections(stats)

    async def _drain(self) -> str:
        for path in ("/healthcheck/fail", "/drain_listeners?graceful"):
            if await self.admin("POST", path) is None:
                log.warning("envoy admin %s does not answer: nothing to drain", path)
                return "envoy unreachable"
        log.info("draining envoy (at most %.0f s)", self.opts.timeout)
        start = time.monotonic()
        deadline = start + self.opts.timeout
        earliest = start + min(self.opts.min_drain, self.opts.timeout)
        while True:
            active = await self.open_connections()
            if active is None:
                return "envoy unreachable"
            now = time.monotonic()
            if active == 0 and now >= earliest:
                break
            if now >= deadline:
                log.warning("drain bound passed with %d connections open", active)
                return "timed out"
            await asyncio.sleep(min(self.opts.poll_interval, max(earliest - now, 0.05)))
        log.info("envoy drained")
        return "drained"

    async def envoy_gone(self) -> None:
        """Return once Envoy's admin stops answering."""
        while await self.admin("GET", "/ready") is not None:
            await asyncio.sleep(self.opts.poll_interval)


def application(drainer: Drainer) -> web.Application:
    async def shutdown(_: web.Request) -> web.Response:
        return web.Response(text=await drainer.wait() + "\n")

    async def healthz(_: web.Request) -> web.Response:
        if await drainer.admin("GET", "/server_info") is None:
            return web.Response(status=503, text="envoy admin does not answer\n")
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/shutdown", shutdown)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(opts: DrainOptions, host: str = "0.0.0.0", port: int = DRAIN_PORT) -> None:
    """The sidecar: serve `/shutdown`; on SIGTERM drain, then exit once Envoy is gone."""
    terminated = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, terminated.set)
    loop.add_signal_handler(signal.SIGINT, terminated.set)
    async with aiohttp.ClientSession() as session:
        drainer = Drainer(opts, session)
        runner = web.AppRunner(application(drainer), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log.info("envoy-drain on %s:%d, envoy admin %s", host, port, opts.admin_url)
        try:
            await terminated.wait()
            drainer.start()
            await drainer.wait()
            await drainer.envoy_gone()
        finally:
            await runner.cleanup()
