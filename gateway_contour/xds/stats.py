"""What the xDS server reports: counters, NACK events and connected streams.

The app reads these (observability/ exports them as metrics); tests await conditions on them with
`wait_until` instead of sleeping. A NACK is also logged at WARNING with Envoy's message and
handed to the optional `on_nack` hook (where the app can map it to an object condition);
an ACK to `on_ack` (fleet, type URL, version accepted).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("gateway_contour.xds")


@dataclass(frozen=True, slots=True)
class NackEvent:
    """Envoy rejected a response: it keeps its last accepted config of that type."""

    fleet: str
    node_id: str
    protocol: str  # "sotw" or "delta"
    type_url: str
    nonce: str
    rejected_version: str  # version_info / system_version_info of the rejected response
    message: str  # Envoy's error_detail.message
    code: int  # Envoy's error_detail.code (a google.rpc.Code)


@dataclass(slots=True)
class XdsStats:
    """Counters and recent events of one xDS server."""

    requests: int = 0
    responses: int = 0
    acks: int = 0
    nacks: int = 0
    streams_opened: int = 0
    streams_denied: int = 0  # refused: no credential for the fleet they named
    streams_refused: int = 0  # aborted: a request over a bound (size, names)
    streams_over_limit: int = 0  # refused: too many streams open (limits.py)
    streams_closed: int = 0
    nacks_by_type: dict[str, int] = field(default_factory=dict)  # type_url -> NACKs
    recent_nacks: deque[NackEvent] = field(default_factory=lambda: deque(maxlen=100))
    on_nack: Callable[[NackEvent], None] | None = None
    on_ack: Callable[[str, str, str], None] | None = None  # (fleet, type_url, version)
    _changed: asyncio.Event | None = None

    @property
    def streams_active(self) -> int:
        return self.streams_opened - self.streams_closed

    def notify(self) -> None:
        """Wake `wait_until` callers; called after every counted event."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def record_ack(self, fleet: str, type_url: str, version: str) -> None:
        self.acks += 1
        if self.on_ack is not None:
            try:
                self.on_ack(fleet, type_url, version)
            except Exception:
                log.exception("on_ack hook failed")
        self.notify()

    def record_nack(self, event: NackEvent) -> None:
        self.nacks += 1
        self.nacks_by_type[event.type_url] = self.nacks_by_type.get(event.type_url, 0) + 1
        self.recent_nacks.append(event)
        log.warning(
            "Envoy %s (fleet %s, %s) rejected %s version %s: %s",
            event.node_id,
            event.fleet,
            event.protocol,
            event.type_url.rsplit("/", 1)[-1],
            event.rejected_version,
            event.message,
        )
        if self.on_nack is not None:
            try:
                self.on_nack(event)
            except Exception:
                log.exception("on_nack hook failed")
        self.notify()

    async def wait_until(self, predicate: Callable[[XdsStats], bool]) -> None:
        """Wait until `predicate(self)` holds (callers bound it with a timeout)."""
        while not predicate(self):
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()
