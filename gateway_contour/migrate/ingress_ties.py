"""Which migrated Ingress path answers when several match alike (issue 19, item 2).

The controller serves a host's paths from every Ingress in one list, ordered by path
precedence, then by Ingress (namespace, name), rule and path (translate/ingress/paths.py);
Envoy takes the first match. Gateway API orders rules of one hostname by precedence too,
but breaks ties by route age (creationTimestamp), then "namespace/name", then rule order:
two Ingresses serving one host and path would be decided by when their HTTPRoutes were
created, or by names that sort otherwise ("default/a-b-..." before "default/a-..."). So a
path that ties with one before it in the controller's order, on a listener where both are
served, never answers there: it is left out of that listener's routes, and nothing is left
for a tie-break to decide.

Paths tie when Gateway API sees one match: the same type and value, a PathPrefix without
its trailing slash ("/a/" and "/a" are one segment prefix; ImplementationSpecific plain
prefixes become PathPrefix too). On plain HTTP every Ingress not off it (allow-http
"false") competes, its force-ssl-redirect routes included; on HTTPS every Ingress of a
host with a certificate. Regular expressions of one length that differ rank equal in both
orders but may match the same path: who answers it then is the tie-break's, which is
noted (`ties`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

HTTP_SIDE = "http"
HTTPS_SIDE = "https"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One migrated Ingress path of one host."""

    owner: str  # "Ingress namespace/name"
    host: str
    order: tuple[Any, ...]  # the controller's sort key: smaller answers first
    path_type: str  # as in the HTTPRoute: Exact, PathPrefix, RegularExpression
    value: str
    sides: frozenset[str]  # where the controller serves it: HTTP_SIDE, HTTPS_SIDE

    def compared(self) -> tuple[str, str]:
        """The match as Gateway API compares it."""
        if self.path_type == "PathPrefix":
            return self.path_type, self.value.rstrip("/") or "/"
        return self.path_type, self.value


@dataclass
class Verdicts:
    # a candidate -> side -> the candidate that answers its requests there instead
    shadowed: dict[Candidate, dict[str, Candidate]] = field(default_factory=dict)
    # a regular expression -> one of the same length before it that may match alike
    ties: dict[Candidate, Candidate] = field(default_factory=dict)

    def kept(self, candidate: Candidate) -> frozenset[str]:
        """The sides the candidate is migrated to."""
        return candidate.sides - self.shadowed.get(candidate, {}).keys()


def arbitrate(candidates: Iterable[Candidate]) -> Verdicts:
    verdicts = Verdicts()
    same: dict[tuple[str, str, tuple[str, str]], list[Candidate]] = {}
    for candidate in candidates:
        for side in candidate.sides:
            same.setdefault((candidate.host, side, candidate.compared()), []).append(candidate)
    regexes: dict[tuple[str, str, int], list[Candidate]] = {}
    for (host, side, match), group in same.items():
        group.sort(key=_order)
        first = group[0]
        for later in group[1:]:
            verdicts.shadowed.setdefault(later, {})[side] = first
        if match[0] == "RegularExpression":
            regexes.setdefault((host, side, len(match[1])), []).append(first)
    for group in regexes.values():
        group.sort(key=_order)
        for i, later in enumerate(group[1:], start=1):
            earlier = next((c for c in group[:i] if c.owner != later.owner), None)
            if earlier is not None:
                verdicts.ties.setdefault(later, earlier)
    return verdicts


def _order(candidate: Candidate) -> tuple[Any, ...]:
    return candidate.order
