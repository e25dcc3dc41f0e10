"""The gRPC server: Envoy's AggregatedDiscoveryService over grpc.aio.

Serves both ADS methods from one SnapshotCache: StreamAggregatedResources (State of the
World, sotw.py) and DeltaAggregatedResources (incremental, delta.py). Secrets travel on the
same stream like any other type (SDS over ADS). The fleet of a stream is `node.cluster` of
its first request (Envoy sets the node on the first message only); with `tokens` (host
mode) and/or `fleet_certificates` (per-fleet client certificates, certs/fleet.py) a stream
is served only the fleet its credential names. How many streams are held at once is
bounded (limits.py): one past the bound is refused with RESOURCE_EXHAUSTED.

Responses are pre-encoded bytes (see wire.py), so the method handlers are registered with
an identity response serializer instead of the generated servicer.

Usage (from the app, on its event loop):

    cache = SnapshotCache()
    server = XdsServer(cache)
    port = await server.start("0.0.0.0", 18000)   # tls=ServerTLS.from_dir(...) for mTLS
    cache.set_fleet("default/web", resources)   # type_url -> name -> Message
    cache.mark_ready()                          # once every source has synced
    ...
    await server.stop(grace=1.0)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
from envoy.service.discovery.v3 import discovery_pb2

from gateway_contour.certs.fleet import FleetCertificates
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.delta import DeltaStream
from gateway_contour.xds.fleet_tokens import FleetTokens
from gateway_contour.xds.limits import StreamSlots
from gateway_contour.xds.sotw import SotwStream
from gateway_contour.xds.stats import XdsStats
from gateway_contour.xds.stream import AdsStream
from gateway_contour.xds.tls import CertificateFiles, ServerTLS

log = logging.getLogger("gateway_contour.xds")

SERVICE = "envoy.service.discovery.v3.AggregatedDiscoveryService"
DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024 * 1024  # sent: above Envoy's side (bootstrap: 64 MiB)
# received: Envoy's requests are small (one naming 10k EDS clusters is 0.4 MB; 1 MB for a
# Delta one with their versions); a larger one is refused by gRPC (RESOURCE_EXHAUSTED)
# before it is decoded
MAX_RECEIVE_BYTES = 4 * 1024 * 1024
MAX_STREAMS_PER_CONNECTION = 16  # HTTP/2 streams one connection may open (Envoy: one)
MAX_CONNECTION_IDLE_MS = 120_000  # a connection with no stream this long is closed
# A connection whose TLS (or HTTP/2) handshake has not finished this long is closed: a peer
# without a trusted client certificate never gets past it, so it holds a connection 10 s.
HANDSHAKE_TIMEOUT_MS = 10_000


def _identity(payload: bytes) -> bytes:
    return payload


class XdsServer:
    """ADS server for every fleet in `cache`."""

    def __init__(
        self,
        cache: SnapshotCache,
        *,
        stats: XdsStats | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        tokens: FleetTokens | None = None,
        fleet_certificates: FleetCertificates | None = None,
        slots: StreamSlots | None = None,
        handshake_timeout_ms: int = HANDSHAKE_TIMEOUT_MS,
    ) -> None:
        self.cache = cache
        # with tokens, a stream is served only the fleet whose token it presents; with
        # fleet_certificates, only the fleet its client certificate names
        self.tokens = tokens
        self.fleet_certificates = fleet_certificates
        self.stats = stats if stats is not None else XdsStats()
        self._max_message_bytes = max_message_bytes
        self._server: grpc.aio.Server | None = None
        self._streams: dict[int, AdsStream] = {}
        self.slots = slots if slots is not None else StreamSlots()
        self.handshake_timeout_ms = handshake_timeout_ms
        self.port = 0
        self.certificates: CertificateFiles | None = None  # with mTLS: what is served now

    def streams(self) -> list[AdsStream]:
        """The streams connected now (read-only use: node, fleet, per-type state)."""
        return list(self._streams.values())

    async def start(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: grpc.ServerCredentials | None = None,
        tls: ServerTLS | None = None,
        options: Sequence[tuple[str, Any]] = (),
    ) -> int:
        """Listen on host:port (0: an ephemeral port) and return the bound port.

        With `tls`, serve TLS from those files (client certificates required unless it says
        otherwise) and pick up rotated files at each new connection."""
        if self._server is not None:
            raise RuntimeError("XdsServer already started")
        if tls is not None:
            self.certificates = CertificateFiles(tls)
            credentials = self.certificates.credentials()
        server = grpc.aio.server(
            options=[
                ("grpc.max_send_message_length", self._max_message_bytes),
                ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
                ("grpc.so_reuseport", 0),
                # Envoy holds one stream for hours: keep it alive through idle NATs.
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.keepalive_timeout_ms", 10_000),
                ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
                ("grpc.keepalive_permit_without_calls", 1),
                # bounds per connection; the streams overall are bounded by self.slots.
                # No max connection age: it would end Envoy's stream (and resend every
                # resource) on a timer; keepalive finds the dead peers
                ("grpc.max_concurrent_streams", MAX_STREAMS_PER_CONNECTION),
                ("grpc.max_connection_idle_ms", MAX_CONNECTION_IDLE_MS),
                ("grpc.server_handshake_timeout_ms", self.handshake_timeout_ms),
                # connections overall, streams or not (limits.py); one more is closed as
                # soon as it is accepted
                ("grpc.max_allowed_incoming_connections", self.slots.max_connections),
                *options,
            ]
        )
        handlers = {
            "StreamAggregatedResources": grpc.stream_stream_rpc_method_handler(
                self._stream_sotw,
                request_deserializer=discovery_pb2.DiscoveryRequest.FromString,
                response_serializer=_identity,
            ),
            "DeltaAggregatedResources": grpc.stream_stream_rpc_method_handler(
                self._stream_delta,
                request_deserializer=discovery_pb2.DeltaDiscoveryRequest.FromString,
                response_serializer=_identity,
            ),
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if credentials is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, credentials)
        await server.start()
        self._server = server
        self.port = bound
        log.info("xDS server listening on %s:%d", host, bound)
        return bound

    async def stop(self, grace: float | None = 1.0) -> None:
        """Stop accepting streams, end the open ones after `grace` seconds, and wait."""
        server, self._server = self._server, None
        if server is None:
            return
        for stream in self._streams.values():
            stream.close()
        await server.stop(grace)
        await server.wait_for_termination()

    async def _stream_sotw(self, requests: AsyncIterator[Any], context: Any) -> None:
        await self._serve(SotwStream(self.cache, self.stats, context), requests, context)

    async def _stream_delta(self, requests: AsyncIterator[Any], context: Any) -> None:
        await self._serve(DeltaStream(self.cache, self.stats, context), requests, context)

    def _authorizer(self, context: Any) -> Callable[[str, Any], bool] | None:
        tokens, certificates = self.tokens, self.fleet_certificates
        if tokens is None and certificates is None:
            return None

        def authorize(fleet: str, metadata: Any) -> bool:
            if tokens is not None and not tokens.permits(fleet, metadata):
                return False
            return certificates is None or certificates.permits(fleet, context.auth_context())

        return authorize

    async def _serve(self, stream: AdsStream, requests: AsyncIterator[Any], context: Any) -> None:
        peer = context.peer()
        refusal = self.slots.take(peer)
        if refusal is not None:
            self.stats.streams_over_limit += 1
            self.stats.notify()
            log.warning("%s stream from %s refused: %s", stream.protocol, peer, refusal)
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refusal)
            return
        stream.authorize = self._authorizer(context)
        self._streams[stream.id] = stream
        try:
            await stream.run(requests)
        except asyncio.CancelledError:
            log.debug("%s stream %d cancelled", stream.protocol, stream.id)
            raise
        finally:
            del self._streams[stream.id]
            self.slots.give(peer)
