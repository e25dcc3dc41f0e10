"""An HTTP echo backend: answers every request with JSON describing it and naming itself.

The quickstart runs two of these behind Envoy so a user can see routing decide between them;
end-to-end tests use them as real upstreams. Plain HTTP/1.1 from the standard library, one
thread per connection: simple, and fast enough for tests of a few thousand requests.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _EchoHandler(BaseHTTPRequestHandler):
    server: _EchoServer
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {
                "backend": self.server.backend_name,
                "method": self.command,
                "path": self.path,
                "host": self.headers.get("Host", ""),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            },
            sort_keys=True,
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.backend_name)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True
    backend_name = ""
    verbose = False


@dataclass
class EchoBackend:
    """A running echo server; `stop()` shuts it down."""

    name: str
    host: str
    port: int
    _server: _EchoServer
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_echo(
    name: str, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
) -> EchoBackend:
    """Start an echo backend in a thread; port 0 picks a free port."""
    server = _EchoServer((host, port), _EchoHandler)
    server.backend_name = name
    server.verbose = verbose
    thread = threading.Thread(target=server.serve_forever, name=f"echo-{name}", daemon=True)
    thread.start()
    return EchoBackend(name, host, server.server_address[1], server, thread)


def main() -> None:
    """`python -m gateway_contour.demo.echo --name N --host H --port P`: serve until killed."""
    parser = argparse.ArgumentParser(description="an HTTP echo backend")
    parser.add_argument("--name", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    # block the stop signals before the server thread starts (it inherits the mask), so the
    # main thread receives them in sigwait
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    backend = start_echo(args.name, args.host, args.port, args.verbose)
    print(f"echo {args.name} on {args.host}:{backend.port}", flush=True)
    signal.sigwait(stop_signals)
    backend.stop()


if __name__ == "__main__":
    main()
