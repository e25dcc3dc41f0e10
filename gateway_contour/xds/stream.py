"""One ADS stream: the loop shared by the SotW and Delta protocols.

A stream has two tasks. The reader applies each request from Envoy to the per-type state
(subscriptions, ACK/NACK) and wakes the writer. The writer waits (no polling) for a
request or a change of its fleet in the cache, then for each type, in push order, asks the
protocol for the next response and writes it.

Rules the writer enforces for every protocol:
- nothing is sent before the cache is ready, nor for a fleet the cache does not have;
- one response in flight per type: the next one waits for Envoy's ACK or NACK, so bursts
  of changes coalesce and every ACK/NACK maps to exactly one response;
- make before break: listeners and route configurations wait while a cluster or endpoint
  response is in flight, so they never point at clusters Envoy does not have yet; and
  clusters, endpoints and secrets the client holds but the snapshot dropped are removed
  only once listener and route updates are sent and ACKed (nothing references them then).

Bounds (anyone who reaches the port may open a stream): the server reads no request over
4 MiB (server.py), and a stream may name at most MAX_STREAM_TYPES types and
MAX_STREAM_NAMES resource names of at most MAX_NAME_LENGTH characters, MAX_STREAM_NAME_CHARS
in all; past a bound the stream is aborted (RESOURCE_EXHAUSTED, or INVALID_ARGUMENT for an
over-long name) with a warning. Envoy is far inside them: a 10k-route install subscribes to
about 20k names (EDS, RDS and SDS) of under 330 characters (namespace, name, port, hash).
The fleet credential is checked on the first request, before any other is read.

The stream ends when Envoy closes it or the RPC is cancelled (disconnect, server stop);
both are normal and logged at DEBUG.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc

from gateway_contour.xds import types
from gateway_contour.xds.cache import CachedResource, FleetSnapshot, SnapshotCache, TypeSnapshot
from gateway_contour.xds.stats import NackEvent, XdsStats

log = logging.getLogger("gateway_contour.xds")

_stream_ids = itertools.count(1)

MAX_STREAM_NAMES = 100_000  # resource names one stream may subscribe to, all types together
MAX_NAME_LENGTH = 1024  # characters of one resource name or type URL
MAX_STREAM_NAME_CHARS = 8 * 1024 * 1024  # characters of all the names of one stream
MAX_STREAM_TYPES = 32  # distinct type URLs of one stream (Envoy uses 6)


class Refused(Exception):
    """A request over a bound: the stream is aborted with `code`."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TypeState:
    """What one stream knows about one resource type."""

    __slots__ = (
        "accepted_version",
        "answered",
        "explicit",
        "names",
        "pending_nonce",
        "pending_version",
        "records",
        "resume_version",
        "sent",
        "sent_version",
        "synced",
        "type_url",
        "wildcard",
    )

    def __init__(self, type_url: str) -> None:
        self.type_url = type_url
        self.wildcard = False
        self.explicit = False  # the client has named resources at least once
        self.names: set[str] = set()  # explicit subscriptions ("*" excluded)
        # name -> version the client is believed to hold (delta also: "" = told absent)
        self.sent: dict[str, str] = {}
        self.sent_version: str | None = None  # SotW wildcard: version of the last full set
        self.records: dict[str, CachedResource] = {}  # SotW wildcard: the last full set
        self.resume_version: str | None = None  # SotW: version_info of a reconnecting client
        # the snapshot this state was last fully brought up to date with (None: unknown)
        self.synced: TypeSnapshot | None = None
        self.answered = False  # at least one response sent for this type
        self.pending_nonce: str | None = None  # response in flight, awaiting ACK/NACK
        self.pending_version = ""
        self.accepted_version = ""  # version of the last ACKed response

    def state_changed(self) -> None:
        self.synced = None


class AdsStream:
    """Protocol-independent part of one ADS stream. Subclasses: SotwStream, DeltaStream."""

    protocol = ""

    def __init__(self, cache: SnapshotCache, stats: XdsStats, context: Any) -> None:
        self.cache = cache
        self.stats = stats
        self.id = next(_stream_ids)
        self.node_id = ""
        self.fleet = ""
        self.types: dict[str, TypeState] = {}
        self._context = context
        # (fleet, gRPC metadata) -> may this stream have the fleet; None: no credential asked
        self.authorize: Callable[[str, Any], bool] | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._nonces = 0
        self._refused: Refused | None = None
        self._seeded_names = 0  # names the client said it holds (Delta initial versions)
        self._name_chars: dict[str, int] = {}  # type_url -> characters of its names

    # -- protocol hooks --------------------------------------------------------------------

    def handle_request(self, request: Any) -> None:
        raise NotImplementedError

    def next_response(
        self, state: TypeState, snapshot: TypeSnapshot, hold_removals: bool
    ) -> bytes | None:
        """The next response for this type, or None. With `hold_removals`, resources the
        client holds that are gone from the snapshot are kept (not removed) for now."""
        raise NotImplementedError

    def request_names(self, request: Any) -> Sequence[Sequence[str]]:
        """The groups of resource names `request` carries (checked against the bounds)."""
        raise NotImplementedError

    def seeded_names(self, request: Any) -> int:
        """How many names `request` adds to what the client is believed to hold."""
        return 0

    # -- shared helpers --------------------------------------------------------------------

    def type_state(self, type_url: str) -> TypeState:
        state = self.types.get(type_url)
        if state is None:
            state = self.types[type_url] = TypeState(type_url)
        return state

    def new_nonce(self, state: TypeState, version: str) -> str:
        self._nonces += 1
        nonce = f"{self.id}.{self._nonces}"
        state.pending_nonce = nonce
        state.pending_version = version
        state.answered = True
        return nonce

    def settle(self, state: TypeState, request: Any) -> None:
        """Apply the ACK or NACK carried by `request` for the response in flight."""
        state.pending_nonce = None
        if request.HasField("error_detail"):
            detail = request.error_detail
            self.stats.record_nack(
                NackEvent(
                    fleet=self.fleet,
                    node_id=self.node_id,
                    protocol=self.protocol,
                    type_url=state.type_url,
                    nonce=request.response_nonce,
                    rejected_version=state.pending_version,
                    message=detail.message,
                    code=detail.code,
                )
            )
        else:
            state.accepted_version = state.pending_version
            self.stats.record_ack(self.fleet, state.type_url, state.pending_version)
            log.debug(
                "%s stream %d ACK %s", self.protocol, self.id, state.type_url.rpartition(".")[2]
            )

    def close(self) -> None:
        """End the stream from the server side (the RPC then completes with OK)."""
        self._closed = True
        self._wake.set()

    # -- the loop --------------------------------------------------------------------------

    async def run(self, requests: AsyncIterator[Any]) -> None:
        try:
            first = await anext(requests)
        except StopAsyncIteration:
            return
        self.node_id = first.node.id
        self.fleet = first.node.cluster
        if not self.fleet:
            log.warning(
                "%s stream %d: node %r has no node.cluster (fleet): serving nothing",
                self.protocol,
                self.id,
                self.node_id,
            )
        if self.authorize is not None and not self.authorize(
            self.fleet, self._context.invocation_metadata()
        ):
            self.stats.streams_denied += 1
            log.warning(
                "%s stream %d from %s: no credential for fleet %r: PERMISSION_DENIED",
                self.protocol,
                self.id,
                self.node_id,
                self.fleet,
            )
            await self._context.abort(
                grpc.StatusCode.PERMISSION_DENIED, f"no credential for fleet {self.fleet!r}"
            )
            return
        log.info(
            "%s stream %d from %s (fleet %r)", self.protocol, self.id, self.node_id, self.fleet
        )
        self.cache.add_listener(self.fleet, self._wake)
        self.stats.streams_opened += 1
        self.stats.notify()
        reader = asyncio.create_task(self._read(first, requests))
        try:
            while not self._closed:
                self._wake.clear()
                await self._push()
                if not self._closed:
                    await self._wake.wait()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self.cache.remove_listener(self.fleet, self._wake)
            self.stats.streams_closed += 1
            self.stats.notify()
            log.info("%s stream %d from %s closed", self.protocol, self.id, self.node_id)
        if self._refused is not None:
            await self._context.abort(self._refused.code, self._refused.message)

    async def _read(self, first: Any, requests: AsyncIterator[Any]) -> None:
        try:
            self._apply(first)
            async for request in requests:
                self._apply(request)
        except asyncio.CancelledError:
            raise
        except Refused as refused:
            self._refused = refused
            self.stats.streams_refused += 1
            log.warning(
                "%s stream %d from %s (fleet %r) refused, %s: %s",
                self.protocol,
                self.id,
                self.node_id,
                self.fleet,
                refused.code.name,
                refused.message,
            )
        except Exception as exc:  # the RPC ended under us: a disconnect, not an error
            log.debug("%s stream %d read ended: %r", self.protocol, self.id, exc)
        finally:
            self._closed = True
            self._wake.set()

    def _apply(self, request: Any) -> None:
        groups, seeded = self._check_request(request)
        self.handle_request(request)
        self._check_stream(request.type_url, groups, seeded)
        self.stats.requests += 1
        self.stats.notify()
        self._wake.set()

    def _check_request(self, request: Any) -> tuple[Sequence[Sequence[str]], int]:
        """Refuse a request over a per-request bound, before it changes any state; else its
        names and how many it seeds (`seeded_names`, first request of a type only)."""
        type_url = request.type_url
        if len(type_url) > MAX_NAME_LENGTH:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "type_url over 1024 characters")
        if type_url not in self.types and len(self.types) >= MAX_STREAM_TYPES:
            raise Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, f"more than {MAX_STREAM_TYPES} types")
        groups = self.request_names(request)
        seeded = self.seeded_names(request) if type_url not in self.types else 0
        if sum(len(group) for group in groups) > MAX_STREAM_NAMES:
            raise Refused(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"a request naming more than {MAX_STREAM_NAMES} resources",
            )
        for group in groups:
            if group and max(map(len, group)) > MAX_NAME_LENGTH:
                raise Refused(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"a resource name over {MAX_NAME_LENGTH} characters",
                )
        return groups, seeded

    def _check_stream(self, type_url: str, groups: Sequence[Sequence[str]], seeded: int) -> None:
        """Refuse a stream whose subscriptions, all types together, went over a bound."""
        self._seeded_names += seeded
        if any(groups):
            names = self.types[type_url].names
            self._name_chars[type_url] = sum(map(len, names))
        held = sum(len(state.names) for state in self.types.values()) + self._seeded_names
        if held > MAX_STREAM_NAMES:
            raise Refused(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"subscriptions to more than {MAX_STREAM_NAMES} resources",
            )
        if sum(self._name_chars.values()) > MAX_STREAM_NAME_CHARS:
            raise Refused(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"resource names of more than {MAX_STREAM_NAME_CHARS} characters in all",
            )

    async def _push(self) -> None:
        if not self.cache.ready:
            return
        fleet: FleetSnapshot | None = self.cache.snapshot(self.fleet)
        if fleet is None:
            return
        # A pass can settle listeners and routes after it held removals back (they come
        # later in push order): then one more pass sends the removals.
        while await self._push_pass(fleet) and not self._routes_unsettled(fleet):
            pass

    async def _push_pass(self, fleet: FleetSnapshot) -> bool:
        """One pass over the types in push order; True if some removal was held back."""
        held = False
        for type_url in sorted(self.types, key=types.push_rank):
            if self._closed:
                return False
            state = self.types[type_url]
            if state.pending_nonce is not None:
                continue
            if type_url in types.AFTER_CLUSTERS and self._clusters_in_flight():
                continue
            snapshot = fleet.get(type_url)
            hold = type_url in types.REMOVE_AFTER_ROUTES and self._routes_unsettled(fleet)
            payload = self.next_response(state, snapshot, hold)
            held = held or (hold and state.synced is not snapshot)
            if payload is None:
                continue
            try:
                await self._context.write(payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the RPC ended while writing
                log.debug("%s stream %d write ended: %r", self.protocol, self.id, exc)
                self._closed = True
                return False
            self.stats.responses += 1
            self.stats.notify()
            log.debug("%s stream %d sent %s", self.protocol, self.id, type_url.rpartition(".")[2])
        return held

    def _routes_unsettled(self, fleet: FleetSnapshot) -> bool:
        """Listeners or routes still have an update to send or to be ACKed."""
        return any(
            state.pending_nonce is not None or state.synced is not fleet.get(type_url)
            for type_url, state in self.types.items()
            if type_url in types.AFTER_CLUSTERS
        )

    def _clusters_in_flight(self) -> bool:
        return any(
            state.pending_nonce is not None
            for type_url, state in self.types.items()
            if type_url in types.CLUSTER_TYPES
        )
