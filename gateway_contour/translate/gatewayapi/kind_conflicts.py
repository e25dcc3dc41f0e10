"""HTTPRoute and GRPCRoute sharing a hostname on one listener: only one of them is accepted.

The GRPCRoute spec (hostnames): when a route of one of the two kinds attaches to a listener
that already has a route of the other kind, and their hostnames intersect, exactly one of
them is accepted: the older by creationTimestamp, then the first by "namespace/name". Routes
are attached oldest first (`translate_gateway_api` orders them so when both kinds exist), so
the route that meets a conflict is always the one to reject.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway_contour.translate.gatewayapi.hostnames import ANY_HOST, is_wildcard, wildcard_matches

REASON_HOSTNAME_CONFLICT = "HostnameConflict"  # not a spec reason: the spec names none


def hostnames_overlap(a: str, b: str) -> bool:
    """True when some request host could match both `a` and `b`."""
    if a == b or ANY_HOST in (a, b):
        return True
    return (is_wildcard(a) and wildcard_matches(a, b)) or (
        is_wildcard(b) and wildcard_matches(b, a)
    )


@dataclass(slots=True)
class KindConflicts:
    """The hostnames accepted routes serve on each listener, by route kind."""

    # id(listener) -> kind -> [(hostname, "Kind namespace/name")]
    _served: dict[int, dict[str, list[tuple[str, str]]]] = field(default_factory=dict)

    def clash(self, kind: str, placements: Iterable[tuple[object, Iterable[str]]]) -> str | None:
        """Why a route of `kind` placed on these (listener, hostnames) must be rejected, or
        None when no route of another kind serves an overlapping hostname there."""
        for listener, hostnames in placements:
            for other_kind, served in self._served.get(id(listener), {}).items():
                if other_kind == kind:
                    continue
                for hostname in hostnames:
                    for taken, owner in served:
                        if hostnames_overlap(hostname, taken):
                            return (
                                f"hostname {hostname} is already served on this listener by "
                                f"{owner}, which comes first (older, or first by "
                                "namespace/name): an HTTPRoute and a GRPCRoute cannot share it"
                            )
        return None

    def record(
        self, kind: str, owner: str, placements: Iterable[tuple[object, Iterable[str]]]
    ) -> None:
        for listener, hostnames in placements:
            served = self._served.setdefault(id(listener), {}).setdefault(kind, [])
            served.extend((hostname, owner) for hostname in hostnames)
