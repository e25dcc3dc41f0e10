"""Hostnames: validation, wildcard matching, and the listener/route intersection rule.

Gateway API wildcards are a leading "*." label: "*.example.com" matches "foo.example.com" and
"foo.bar.example.com" (one or more labels) but not "example.com".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

ANY_HOST = "*"

_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@lru_cache(maxsize=65536)
def hostname_error(hostname: str) -> str | None:
    """Why `hostname` is not a valid Gateway API hostname, or None when it is."""
    if len(hostname) > 253:
        return f"hostname {hostname!r} is longer than 253 characters"
    if not _HOSTNAME.match(hostname):
        return f"hostname {hostname!r} is not a lower-case RFC 1123 name (optionally '*.' first)"
    if all(label.isdigit() for label in hostname.split(".")):
        return f"hostname {hostname!r} is an IP address"
    return None


def is_wildcard(hostname: str) -> bool:
    return hostname.startswith("*.")


def wildcard_matches(wildcard: str, hostname: str) -> bool:
    """True when `hostname` (exact or wildcard) lies inside `wildcard` ("*.x" covers "a.x",
    "a.b.x" and "*.a.x", but not "x")."""
    return hostname.endswith(wildcard[1:]) and hostname != wildcard[2:]


def intersect(listener_hostname: str | None, route_hostnames: Iterable[str]) -> tuple[str, ...]:
    """The hostnames a route serves on a listener: for each route hostname, the more specific
    of it and the listener's hostname when one contains the other. Empty means the route
    does not attach to this listener. With neither side naming a host the answer is "*"."""
    routes = tuple(route_hostnames)
    if not listener_hostname:
        return routes or (ANY_HOST,)
    if not routes:
        return (listener_hostname,)
    out: dict[str, None] = {}
    for route in routes:
        if route == listener_hostname or (
            is_wildcard(listener_hostname) and wildcard_matches(listener_hostname, route)
        ):
            out[route] = None
        elif is_wildcard(route) and wildcard_matches(route, listener_hostname):
            out[listener_hostname] = None
    return tuple(out)


def covering_hostnames(hostname: str) -> list[str]:
    """`hostname` and every hostname that covers it, most specific first: for
    "a.b.example.com" that is itself, "*.b.example.com", "*.example.com", "*.com", "*"."""
    if hostname == ANY_HOST:
        return [ANY_HOST]
    labels = hostname.split(".")
    out = [hostname]
    # a wildcard covers names with at least one more label: skip the name's own first label
    start = 2 if is_wildcard(hostname) else 1
    out.extend("*." + ".".join(labels[i:]) for i in range(start, len(labels)))
    out.append(ANY_HOST)
    return out


def vhost_order(hostname: str) -> tuple[int, str]:
    """Sort key for virtual hosts: exact names, then wildcards, then the catch-all."""
    if hostname == ANY_HOST:
        return (2, hostname)
    return (1 if is_wildcard(hostname) else 0, hostname)
