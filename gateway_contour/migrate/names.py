"""Unique names for what `migrate` writes: listeners of the Gateway, routes per namespace.

Names are derived from what they serve ("https-" + the hostname's slug, "<ingress>-<host>"),
and derivations collide: `foo.bar.com` and `foo-bar.com` both slug to `foo-bar-com`, Ingress
`a` with host `b-c.example.com` and Ingress `a-b` with `c.example.com` both give
`a-b-c-example-com`. The API server then refuses the Gateway (listener names are unique)
and one route overwrites the other. `Names` hands out each name once per scope: the first
owner keeps the derived name, another owner of the same derivation gets it with a hash of
its own key appended, and a name longer than the API allows (253 characters: a DNS
subdomain for metadata.name, a listener's SectionName) is cut and hashed the same way. The
same key always gets the same name back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable

# metadata.name of every kind written (DNS-1123 subdomain) and a listener's name (Gateway
# API SectionName: maxLength 253, ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)
NAME_LIMIT = 253
_HASH = 10  # characters of hex digest


def _hashed(base: str, key: Hashable, limit: int, attempt: int = 0) -> str:
    digest = hashlib.sha256(repr((key, attempt)).encode()).hexdigest()[:_HASH]
    return f"{base[: limit - _HASH - 1].rstrip('-.')}-{digest}"


class Names:
    __slots__ = ("_given", "_owners")

    def __init__(self) -> None:
        self._owners: dict[tuple[Hashable, str], Hashable] = {}
        self._given: dict[tuple[Hashable, Hashable], str] = {}

    def claim(self, scope: Hashable, base: str, key: Hashable, limit: int = NAME_LIMIT) -> str:
        """A name in `scope` for `key`: `base` when it is free and short enough."""
        given = self._given.get((scope, key))
        if given is not None:
            return given
        name = base if len(base) <= limit else _hashed(base, key, limit)
        attempt = 0
        while self._owners.setdefault((scope, name), key) != key:
            name = _hashed(base, key, limit, attempt)
            attempt += 1
        self._given[(scope, key)] = name
        return name
