"""Listen addresses that cannot be bound end the start-up.

The controller's own servers (xDS, the operations endpoint with /metrics and the health
checks, the debug endpoint) are each asked for by a flag; one that cannot listen (the port
taken, an address not on this host) leaves Envoys unconfigured or probes failing, so the
command stops at once with a ListenError naming the address, its purpose and the system's
reason, rather than serving without it.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway_contour.xds.server import XdsServer
    from gateway_contour.xds.tls import ServerTLS


class ListenError(Exception):
    """One of our servers could not listen; the message is for the user."""

    def __init__(self, purpose: str, address: str, reason: str) -> None:
        super().__init__(f"cannot listen on {address} for {purpose}: {reason}")


def bind_failure(host: str, port: int) -> str:
    """What the system says about binding host:port, asked after a server could not (gRPC
    tells only that it failed)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, port))
    except OSError as err:
        return err.strerror or str(err)
    return "the server could not bind it"


async def start_xds(server: XdsServer, host: str, port: int, tls: ServerTLS | None) -> int:
    """`server.start`, its failure to bind as a ListenError; the port bound."""
    try:
        return await server.start(host, port, tls=tls)
    except RuntimeError as err:
        if "bind" not in str(err):
            raise
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise ListenError("xDS", address, bind_failure(host, port)) from None
