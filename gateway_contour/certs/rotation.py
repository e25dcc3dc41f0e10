"""A CA that rotates, and the one it replaced, trusted together for a grace period.

When a client CA is rotated (a new `ca.crt` in a Secret volume), the Envoys still hold
certificates signed by the old one until their own Secrets are renewed and the kubelet
updates their volumes (about a minute), and Envoy reconnects at its own pace. Refusing them
at once would cut a fleet off for that time. `RotatingTrust` keeps the previous CA trusted
for `grace` seconds after a rotation is noticed, then drops it; both events are logged.

The default, DEFAULT_GRACE (5 minutes), covers the kubelet's Secret sync period (60 s plus
its cache TTL) and an Envoy's reconnect backoff several times over, and is short enough
that a CA rotated because its key leaked stops being trusted soon. 0 drops it at once.

The clock is `time.monotonic` unless given (tests pass their own).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from gateway_contour.defaults import CA_ROTATION_GRACE as DEFAULT_GRACE

log = logging.getLogger("gateway_contour.certs")


class RotatingTrust:
    """The current CA (PEM bytes) and, during the grace period, the previous one."""

    def __init__(
        self,
        current: bytes,
        *,
        grace: float = DEFAULT_GRACE,
        what: str = "client CA",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.current = current
        self.grace = grace
        self.what = what
        self._clock = clock
        self._lock = threading.Lock()  # gRPC calls from its own threads
        self._previous: bytes | None = None
        self._until = 0.0

    def rotate(self, new: bytes) -> bool:
        """Take `new` as the current CA; True if it differs from the current one (the old
        one is then trusted for the grace period)."""
        with self._lock:
            if new == self.current:
                return False
            old, self.current = self.current, new
            if self.grace > 0:
                self._previous, self._until = old, self._clock() + self.grace
                log.info(
                    "%s rotated: the previous CA stays trusted for %.0f s", self.what, self.grace
                )
            else:
                self._previous = None
                log.info("%s rotated: the previous CA is no longer trusted", self.what)
            return True

    def expire(self) -> bool:
        """Drop the previous CA if its grace period is over; True if it was dropped now."""
        with self._lock:
            if self._previous is None or self._clock() < self._until:
                return False
            self._previous = None
            log.info(
                "%s: the grace period is over, the previous CA is no longer trusted", self.what
            )
            return True

    def trusted(self) -> list[bytes]:
        """The CAs trusted now: the current one, then the previous one during the grace."""
        self.expire()
        with self._lock:
            return [self.current] if self._previous is None else [self.current, self._previous]

    @property
    def in_grace(self) -> bool:
        with self._lock:
            return self._previous is not None
