"""The operations HTTP endpoint: /metrics, /healthz, /readyz, /debug/ir, /debug/xds.

A small HTTP/1.1 server on the event loop (asyncio streams): one GET per connection, then
close. Running on the loop means every handler reads the controller's state where it
changes, without locks. `/healthz` answers while the loop runs; `/readyz` is 503 until
every watched kind synced and the first configuration is published (the body says which
part is missing). The debug endpoints are opt-in (`debug=True`) because the dumps show the
whole configuration (secrets redacted): serve them on loopback unless you mean otherwise.
`/debug/xds?fleet=ns/name` narrows the dump to one fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST

from gateway_contour.ir.serialize import ir_to_yaml
from gateway_contour.listen import ListenError
from gateway_contour.observability.debug import fleet_snapshots, xds_yaml
from gateway_contour.observability.metrics import Metrics

log = logging.getLogger(__name__)

MAX_HEAD = 8192
READ_TIMEOUT = 5.0
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
Reply = tuple[int, str, bytes]
TEXT = "text/plain; charset=utf-8"
YAML = "application/yaml; charset=utf-8"


def split_address(address: str) -> tuple[str, int]:
    """ "host:port" (or "[v6]:port") -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{address!r} is not host:port")
    return host.strip("[]") or "0.0.0.0", int(port)


class OpsServer:
    def __init__(self, metrics: Metrics, *, debug: bool = False) -> None:
        self.metrics = metrics
        self.debug = debug
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0: ephemeral) and return the bound port."""
        self._server = await asyncio.start_server(self._handle, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("operations endpoint on http://%s:%d", host, self.port)
        return self.port

    async def start_at(self, address: str) -> None:
        """Start on "host:port"; a bad address or one that cannot be bound (the port taken)
        is a ListenError: the endpoint was asked for, and probes need it."""
        purpose = "the debug endpoint" if self.debug else "/metrics, /healthz and /readyz"
        try:
            host, port = split_address(address)
            await self.start(host, port)
        except ValueError as err:
            raise ListenError(purpose, address, str(err)) from None
        except OSError as err:
            raise ListenError(purpose, address, err.strerror or str(err)) from None

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def reply(self, method: str, target: str) -> Reply:
        """The answer to one request. The dumps render in a worker thread from immutable
        objects (the last IR, the served snapshots): a big configuration does not stall xDS."""
        if method not in ("GET", "HEAD"):
            return 405, TEXT, b"only GET\n"
        url = urlsplit(target)
        observed = self.metrics.observed
        if url.path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, self.metrics.render()
        if url.path == "/healthz":
            return 200, TEXT, b"ok\n"
        if url.path == "/readyz":
            if observed.ready():
                return 200, TEXT, b"ready\n"
            return 503, TEXT, ("not ready: " + "; ".join(observed.not_ready) + "\n").encode()
        if self.debug and url.path in ("/debug/ir", "/debug/xds"):
            pipeline = observed.pipeline
            if pipeline is None or pipeline.last is None:
                return 503, TEXT, b"no configuration built yet\n"
            if url.path == "/debug/ir":
                dump = await asyncio.to_thread(ir_to_yaml, pipeline.last.ir)
            else:
                fleet = parse_qs(url.query).get("fleet", [None])[0]
                snapshots = fleet_snapshots(pipeline.cache, fleet)
                dump = await asyncio.to_thread(xds_yaml, snapshots)
            return 200, YAML, dump.encode()
        return 404, TEXT, b"not found\n"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = request_line.split(" ", 2)
            try:
                status, content_type, body = await self.reply(method, target)
            except Exception:
                log.exception("operations endpoint: %s %s failed", method, target)
                status, content_type, body = 500, TEXT, b"internal error\n"
            header = (
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(header.encode() + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            pass  # a malformed or abandoned request: just close
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def start_ops_servers(
    metrics: Metrics, metrics_address: str | None, debug_address: str | None
) -> list[OpsServer]:
    """The metrics/health server and the debug server, for the addresses given (an empty
    one: not started); ListenError when one cannot listen (the other is stopped then)."""
    started: list[OpsServer] = []
    try:
        for address, debug in ((metrics_address, False), (debug_address, True)):
            if address:
                ops = OpsServer(metrics, debug=debug)
                await ops.start_at(address)
                started.append(ops)
    except ListenError:
        for ops in started:
            await ops.stop()
        raise
    return started
