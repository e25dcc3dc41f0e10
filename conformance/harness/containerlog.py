"""Container logs, kubelet style: capture a process's output with timestamps, and serve the
kubelet's /containerLogs endpoint so that `pods/log` (which the API server proxies to the
Node's kubelet port over HTTPS) works.

Files use the CRI log format, one line per output line: `<RFC3339Nano> stdout F <text>`.
"""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import IO

from gateway_contour.certs import self_signed

LogLookup = Callable[[str, str, str], Path | None]  # (namespace, pod, container) -> file


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def capture(stream: IO[bytes], path: Path) -> threading.Thread:
    """Copy `stream` line by line into `path` with timestamps, in a daemon thread."""

    def pump() -> None:
        with path.open("ab") as out:
            for line in iter(stream.readline, b""):
                out.write(f"{_now()} stdout F ".encode() + line.rstrip(b"\n") + b"\n")
                out.flush()

    thread = threading.Thread(target=pump, name=f"log {path.name}", daemon=True)
    thread.start()
    return thread


def _parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _select(lines: list[bytes], query: dict[str, str]) -> list[bytes]:
    """Apply sinceTime/sinceSeconds, tailLines and timestamps to CRI-format lines."""
    since = None
    if "sinceTime" in query:
        since = _parse_time(query["sinceTime"])
    elif "sinceSeconds" in query:
        since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
            seconds=int(query["sinceSeconds"])
        )
    out = []
    for line in lines:
        stamp, _, rest = line.partition(b" ")
        text = rest.split(b" ", 2)[-1] if rest.count(b" ") >= 2 else b""
        if since is not None and _parse_time(stamp.decode()) < since:
            continue
        out.append(stamp + b" " + text if query.get("timestamps") == "true" else text)
    if "tailLines" in query:
        tail = int(query["tailLines"])
        out = out[-tail:] if tail > 0 else []
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    lookup: LogLookup

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the API server polls logs often during mirror tests

    def _reply(self, code: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if url.path in ("/healthz", "/readyz"):
            return self._reply(200, b"ok")
        if len(parts) != 4 or parts[0] != "containerLogs":
            return self._reply(404, b"not found")
        query = dict(urllib.parse.parse_qsl(url.query))
        path = self.lookup(parts[1], parts[2], parts[3])
        if path is None:
            return self._reply(404, f"container {'/'.join(parts[1:])} not found".encode())
        lines = path.read_bytes().splitlines() if path.exists() else []
        body = b"".join(line + b"\n" for line in _select(lines, query))
        if "limitBytes" in query:
            body = body[: int(query["limitBytes"])]
        if query.get("follow") != "true":
            return self._reply(200, body)
        self._follow(path, body, len(lines), query)

    def _follow(self, path: Path, first: bytes, seen: int, query: dict[str, str]) -> None:
        # Stream what there is, then new lines as they come, until the client goes or the
        # container's log disappears.
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        plain = {k: v for k, v in query.items() if k == "timestamps"}
        try:
            chunk = first
            while True:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                time.sleep(0.2)
                if not path.exists():
                    break
                lines = path.read_bytes().splitlines()
                chunk = b"".join(line + b"\n" for line in _select(lines[seen:], plain))
                seen = len(lines)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass


def _self_signed(address: str, directory: Path) -> tuple[Path, Path]:
    cert, key = self_signed("gateway-contour-node-agent", [address], days=7)
    cert_path, key_path = directory / "kubelet.crt", directory / "kubelet.key"
    cert_path.write_bytes(cert)
    key_path.write_bytes(key)
    return cert_path, key_path


class LogServer:
    """The kubelet's log endpoint over HTTPS (self-signed: the API server does not verify a
    kubelet's certificate unless --kubelet-certificate-authority is set)."""

    def __init__(self, address: str, lookup: LogLookup, workdir: Path) -> None:
        handler = type("Handler", (_Handler,), {"lookup": staticmethod(lookup)})
        self.server = http.server.ThreadingHTTPServer((address, 0), handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*_self_signed(address, workdir))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LogServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
