"""The TLS, TCP and UDP side of one Gateway: which TLSRoute, TCPRoute or UDPRoute serves each
listener (and, on TLS, each server name), and the ir listeners and virtual hosts that become.

TCP and UDP: a listener forwards every connection (UDP: every datagram session) to the
backends of one route. When several routes attach, all of them are Accepted and counted, and
the oldest (creationTimestamp, then namespace/name) carries the traffic. TCP and UDP
listeners may share a port number: they become two ir listeners, "tcp-<port>" and
"udp-<port>".

TLS: a listener forwards by SNI. Each hostname a TLSRoute serves on it (the intersection of
the route's hostnames with the listener's) is a virtual host that passes the TLS connection
through untouched (tls.mode Passthrough) or terminates TLS with the listener's certificates
and forwards the plain bytes inside (Terminate), the oldest route winning per hostname. A
server name belongs to the most specific listener hostname on the port that covers it, as
for HTTPS: a route's hostname served by another listener of the port is not programmed
there. TLS listeners of both modes and HTTPS listeners may share a port (one Envoy listener,
one filter chain per server name).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway_contour.ir.model import (
    Listener,
    Protocol,
    TCPProxy,
    TLSServer,
    UDPProxy,
    VirtualHost,
    WeightedCluster,
)
from gateway_contour.translate.gatewayapi.age import Age
from gateway_contour.translate.gatewayapi.hostnames import (
    ANY_HOST,
    covering_hostnames,
    vhost_order,
)
from gateway_contour.translate.gatewayapi.listeners import ListenerState

# the hostname key of TCP/UDP claims (their listeners have no hostname)
NO_HOST = ""


@dataclass(frozen=True, slots=True)
class L4Backends:
    """What one route forwards to: weighted clusters and the summed weight of backendRefs
    that did not resolve (that share of connections is refused)."""

    clusters: tuple[WeightedCluster, ...]
    invalid_weight: int = 0


@dataclass(frozen=True, slots=True)
class Claim:
    """A route asking to serve a (listener, hostname). `age` orders claims: the smallest
    (oldest) wins."""

    age: Age
    backends: L4Backends


class L4Table:
    """The claims of one Gateway's routes on its TLS/TCP/UDP listeners."""

    __slots__ = ("_claims",)

    def __init__(self) -> None:
        # listener key -> hostname (NO_HOST on TCP/UDP) -> the winning claim so far
        self._claims: dict[str, dict[str, Claim]] = {}

    def claim(self, listener: ListenerState, hostname: str, claim: Claim) -> None:
        by_host = self._claims.setdefault(listener.key, {})
        current = by_host.get(hostname)
        if current is None or claim.age < current.age:
            by_host[hostname] = claim

    def proxy_listeners(
        self, port: int, on_port: list[ListenerState], address: str
    ) -> list[Listener]:
        """The ir listeners of a TCP/UDP port: one per protocol with a route."""
        out = []
        for protocol in (Protocol.TCP, Protocol.UDP):
            owners = [s for s in on_port if s.protocol == protocol.value]
            claims = [
                c for s in owners if (c := self._claims.get(s.key, {}).get(NO_HOST)) is not None
            ]
            if not claims:
                continue
            backends = min(claims, key=_age).backends
            name = f"{protocol.value.lower()}-{port}"
            tcp = udp = None
            if protocol is Protocol.TCP:
                tcp = TCPProxy(backends.clusters, invalid_weight=backends.invalid_weight)
            else:
                udp = UDPProxy(backends.clusters, invalid_weight=backends.invalid_weight)
            listener = Listener(name, address, port, protocol, tcp_proxy=tcp, udp_proxy=udp)
            out.append(listener)
        return out

    def tls_virtual_hosts(self, on_port: list[ListenerState]) -> tuple[VirtualHost, ...]:
        """The passthrough and terminate-to-TCP virtual hosts of a TLS-family port (its
        HTTPS listeners' hosts are built elsewhere)."""
        owners = {s.hostname or ANY_HOST: s for s in on_port}
        found: dict[str, tuple[ListenerState, Claim]] = {}
        for listener in on_port:
            if listener.protocol != "TLS":
                continue
            for hostname, claim in self._claims.get(listener.key, {}).items():
                owner = next((owners[h] for h in covering_hostnames(hostname) if h in owners), None)
                if owner is listener:
                    found[hostname] = (listener, claim)
        out = []
        for hostname in sorted(found, key=vhost_order):
            listener, claim = found[hostname]
            proxy = TCPProxy(claim.backends.clusters, invalid_weight=claim.backends.invalid_weight)
            tls = None
            if listener.terminates_tls:
                # plain TCP inside: no ALPN to offer
                tls = TLSServer(secrets=tuple(s.name for s in listener.secrets), alpn=())
            out.append(VirtualHost(name=hostname, hostname=hostname, tls=tls, passthrough=proxy))
        return tuple(out)


def _age(claim: Claim) -> Age:
    return claim.age
