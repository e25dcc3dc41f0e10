"""Running a real Envoy for behaviour tests: a JSON echo backend, free ports, and an Envoy
started from a static bootstrap of one fleet's resources. (A plain module beside
envoy_testlib, named uniquely for the same reason.)"""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from gateway_contour.envoy.binary import envoy_binary
from gateway_contour.envoy.resources import FleetResources
from gateway_contour.envoy.validate import static_bootstrap
from gateway_contour.provisioner.host import free_port


class JSONEcho(http.server.BaseHTTPRequestHandler):
    """Answers every request with a JSON body describing it: method, path, headers (names
    lower-cased, repeated ones joined with ","). Query parameters steer the answer:
    `status=N` answers N; `fail=K&key=X` answers `status` (default 500) to the first K
    requests carrying that key, then 200 (for retries), and with `how=reset` those first K
    connections are reset without an answer, with `how=slow` answered after `delay`
    seconds; `resp-<name>=<value>` adds a response header."""

    failures: dict[str, int] = {}
    lock = threading.Lock()

    def _answer(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        status = int(query.get("status", ["200"])[0])
        if "fail" in query:
            key = query.get("key", [""])[0]
            with self.lock:
                seen = self.failures.get(key, 0)
                self.failures[key] = seen + 1
            status = status if status != 200 else 500
            if seen >= int(query["fail"][0]):
                status = 200
            elif query.get("how") == ["reset"]:
                # RST instead of FIN: linger on, with a zero timeout
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()
                return
            elif query.get("how") == ["slow"]:
                time.sleep(float(query.get("delay", ["1"])[0]))
                status = 200
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        body = json.dumps({"method": self.command, "path": self.path, "headers": headers})
        self.send_response(status)
        for name, values in query.items():
            if name.startswith("resp-"):
                for value in values:
                    self.send_header(name[len("resp-") :], value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        try:
            self.end_headers()
            self.wfile.write(body.encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # a slow answer the proxy stopped waiting for

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def echo_server() -> Iterator[int]:
    """A JSON echo backend on 127.0.0.1; yields its port."""
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), JSONEcho)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def tls_echo_server(
    cert_file: Path, key_file: Path, client_ca: Path | None = None
) -> Iterator[int]:
    """The JSON echo backend over TLS with the given certificate; with `client_ca`, it
    requires a client certificate signed by that CA. Yields its port."""
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), JSONEcho)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"envoy did not listen on {port}")


@contextmanager
def running_envoy(resources: FleetResources, workdir: Path, *ports: int) -> Iterator[None]:
    """An Envoy serving `resources` statically until the block ends; waits for `ports`."""
    config = workdir / "bootstrap.pb"
    config.write_bytes(static_bootstrap(resources).SerializeToString())
    proc = subprocess.Popen(
        [envoy_binary(), "-c", str(config), "-l", "error", "--use-dynamic-base-id"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for port in ports:
            wait_for(port)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def request(
    port: int,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """(status, response headers, body) of one plain HTTP request to 127.0.0.1:`port`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {"Host": "example.com"})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()
