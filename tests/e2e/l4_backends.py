"""Layer-4 echo backends for end-to-end tests: TCP (optionally TLS) and UDP servers on
127.0.0.1 that answer each line or datagram with "<name> <what they saw>".

A TLS backend also reports the server name the client asked for, so a test can tell that
the bytes it sent through a passthrough listener reached the backend still encrypted, with
their SNI.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field


@dataclass
class L4Backend:
    name: str
    server: socketserver.BaseServer
    thread: threading.Thread
    port: int
    protocol: str  # "TCP" or "UDP"
    seen_server_names: list[str | None] = field(default_factory=list)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _UDPServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


def start_tcp_echo(name: str, tls: ssl.SSLContext | None = None) -> L4Backend:
    """A TCP echo server; with `tls` it terminates TLS with that context first."""
    seen: list[str | None] = []
    # the handshake runs in the handler's thread: the SNI callback leaves the name there
    handshake = threading.local()
    if tls is not None:
        tls.sni_callback = lambda _sock, server_name, _ctx: setattr(
            handshake, "server_name", server_name
        )

    class Handler(socketserver.StreamRequestHandler):
        def setup(self) -> None:
            self.sni = ""
            if tls is not None:
                handshake.server_name = None
                self.request.settimeout(5)
                self.request = tls.wrap_socket(self.request, server_side=True)
                seen.append(handshake.server_name)
                self.sni = f" sni={handshake.server_name}"
            super().setup()

        def handle(self) -> None:
            with contextlib.suppress(OSError):
                for line in self.rfile:
                    self.wfile.write(f"{name}{self.sni} {line.decode().strip()}\n".encode())
                    self.wfile.flush()

    server = _TCPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name=f"tcp-{name}", daemon=True)
    thread.start()
    return L4Backend(name, server, thread, server.server_address[1], "TCP", seen)


def start_udp_echo(name: str) -> L4Backend:
    class Handler(socketserver.DatagramRequestHandler):
        def handle(self) -> None:
            data = self.rfile.read().decode().strip()
            self.wfile.write(f"{name} {data}".encode())

    server = _UDPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name=f"udp-{name}", daemon=True)
    thread.start()
    return L4Backend(name, server, thread, server.server_address[1], "UDP")


def tcp_exchange(
    port: int,
    line: str,
    *,
    tls: ssl.SSLContext | None = None,
    server_name: str | None = None,
    timeout: float = 3.0,
) -> tuple[str, dict[str, object] | None]:
    """Send one line to 127.0.0.1:`port` (over TLS with SNI `server_name` when `tls` is
    given) and return the answer line and the peer certificate seen (None without TLS).
    Raises OSError (ssl.SSLError included) when the connection is refused or closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        sock: socket.socket = raw
        peer = None
        if tls is not None:
            sock = tls.wrap_socket(raw, server_hostname=server_name)
            peer = sock.getpeercert()
        sock.sendall(line.encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionResetError(f"connection closed after {answer!r}")
            answer += chunk
        return answer.decode().strip(), peer


def udp_exchange(port: int, payload: str, timeout: float = 2.0) -> str:
    """One datagram to 127.0.0.1:`port` from a fresh socket (a new client port, so a new
    session for Envoy), and its answer. Raises TimeoutError when nothing comes back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        sock.send(payload.encode())
        return sock.recv(4096).decode()
