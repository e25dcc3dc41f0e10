"""How many ADS streams the server holds at once, overall and per peer address.

Anyone who reaches the xDS port may open streams (with mutual TLS, anyone holding a client
certificate of a trusted CA). Each open stream costs a task, its per-type state and a
listener on the cache, so their number is bounded: past `max_streams` open streams, or
`max_streams_per_peer` from one peer address, a new stream is refused with
RESOURCE_EXHAUSTED before its first request is read, and counted
(`XdsStats.streams_over_limit`, `xds_streams_refused_total{reason="limit"}`).

What a fleet needs: one Envoy holds one ADS stream, so N Envoys hold N, and 2N for a moment
while they roll (a surge Pod connects before its predecessor goes; a hot restart holds two).
The defaults are far above that: 16384 streams overall (8000 Envoys rolling at once), and 512
from one address (Pod IPs are one Envoy each; a hostNetwork Envoy per fleet per node, and the
host-mode Envoys of one controller on 127.0.0.1, are one per fleet).

Connections are bounded at the gRPC server (server.py). In number by
`grpc.max_allowed_incoming_connections`, set to `max_connections`: `max_streams` plus a
sixteenth (at least 16), so a few streams past the cap are still refused with
RESOURCE_EXHAUSTED and counted rather than their connections closed; one more connection is
closed once accepted. In time by `grpc.server_handshake_timeout_ms` (10 s to finish the TLS
handshake: a peer without a trusted certificate, or one that sends nothing, holds a
connection no longer) and `grpc.max_connection_idle_ms` (120 s without a stream). Dead peers
by keepalive, and streams per connection by `grpc.max_concurrent_streams` (Envoy opens one).
gRPC has no per-peer connection count, so a holder of a trusted client certificate could fill
the connection cap with idle connections for 120 s; a peer without one must open
`max_connections` new connections every 10 s to keep it full.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway_contour.defaults import MAX_STREAMS as DEFAULT_MAX_STREAMS

DEFAULT_MAX_STREAMS_PER_PEER = 512


def peer_address(peer: str) -> str:
    """The address of gRPC's peer string, without the port: "ipv4:10.0.0.1:5000" ->
    "ipv4:10.0.0.1", "ipv6:[::1]:5000" -> "ipv6:[::1]"; others ("unix:...") as they are."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6") and ":" in rest:
        return f"{kind}:{rest.rpartition(':')[0]}"
    return peer


@dataclass
class StreamSlots:
    """The streams held now, by peer address; `take` one before serving, `give` it back."""

    max_streams: int = DEFAULT_MAX_STREAMS
    max_streams_per_peer: int = DEFAULT_MAX_STREAMS_PER_PEER
    by_peer: dict[str, int] = field(default_factory=dict)
    held: int = 0

    def take(self, peer: str) -> str | None:
        """Hold a slot for a stream from `peer`; None if taken, else why not."""
        address = peer_address(peer)
        if self.held >= self.max_streams:
            return f"more than {self.max_streams} streams open"
        if self.by_peer.get(address, 0) >= self.max_streams_per_peer:
            return f"more than {self.max_streams_per_peer} streams open from {address}"
        self.held += 1
        self.by_peer[address] = self.by_peer.get(address, 0) + 1
        return None

    @property
    def max_connections(self) -> int:
        """Connections the gRPC server accepts at once (one per stream, plus headroom)."""
        return self.max_streams + max(16, self.max_streams // 16)

    def give(self, peer: str) -> None:
        """Release the slot `take(peer)` held."""
        address = peer_address(peer)
        self.held -= 1
        left = self.by_peer[address] - 1
        if left:
            self.by_peer[address] = left
        else:
            del self.by_peer[address]
