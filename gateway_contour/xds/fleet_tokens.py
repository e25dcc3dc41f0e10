"""Per-fleet secrets for the Envoys the controller starts itself (host mode).

`node.cluster` names the fleet a stream asks for, and anyone who reaches the xDS port can
write any name there, so it must never be enough to receive that fleet's resources (its TLS
keys among them). When the controller starts an Envoy, it issues that fleet a random token
and puts it in the Envoy's bootstrap (a file only the controller's user reads) as gRPC
metadata of the ADS stream; the server serves a stream only when its token is the one issued
to the fleet it names. A missing or wrong token: PERMISSION_DENIED before any resource.

A controller that restarts and adopts the Envoys its predecessor left running (host mode's
state directory) `adopt`s each one's token, so their reconnecting streams are served.

In a cluster the Envoys are not ours to start: there the credential is the Envoy's client
certificate (see DESIGN), and `FleetTokens` is not used.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence

from gateway_contour.envoy.bootstrap import TOKEN_HEADER as HEADER


class FleetTokens:
    def __init__(self) -> None:
        self._by_fleet: dict[str, str] = {}

    def issue(self, fleet: str) -> str:
        """The fleet's token, made on first use and the same for the process's lifetime (a
        restarted Envoy keeps its bootstrap)."""
        token = self._by_fleet.get(fleet)
        if token is None:
            token = self._by_fleet[fleet] = secrets.token_urlsafe(32)
        return token

    def adopt(self, fleet: str, token: str) -> None:
        """Take `token` as the fleet's (issued by an earlier run to an Envoy still running)."""
        self._by_fleet[fleet] = token

    def permits(self, fleet: str, metadata: Sequence[tuple[str, str | bytes]] | None) -> bool:
        """Whether the stream's gRPC `metadata` carries the token issued to `fleet`."""
        expected = self._by_fleet.get(fleet)
        if expected is None:
            return False
        given = [v for k, v in metadata or () if k == HEADER]
        if len(given) != 1:
            return False
        value = given[0].encode() if isinstance(given[0], str) else given[0]
        return hmac.compare_digest(value, expected.encode())
