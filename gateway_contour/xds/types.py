"""xDS resource type URLs served over ADS, and the order in which we push them.

The type URL constants are owned by `gateway_contour.envoy.resources` (what the envoy
layer builds); they are re-exported here for the server and its tests.

Push order follows the make-before-break rule of the xDS protocol: clusters first, then
their endpoints and secrets, then listeners, then the route configurations listeners ask for.
"""

from __future__ import annotations

from gateway_contour.envoy.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET

__all__ = ["CLUSTER", "ENDPOINT", "LISTENER", "ROUTE", "SECRET", "push_rank", "type_url_of"]

_PREFIX = "type.googleapis.com/"

# Unknown types (e.g. runtime) sort after these, by type URL.
PUSH_ORDER: tuple[str, ...] = (CLUSTER, ENDPOINT, SECRET, LISTENER, ROUTE)

# Types whose updates wait until cluster and endpoint updates on the same stream are ACKed,
# so that a listener or route never points at a cluster Envoy does not have yet.
AFTER_CLUSTERS: frozenset[str] = frozenset({LISTENER, ROUTE})
CLUSTER_TYPES: frozenset[str] = frozenset({CLUSTER, ENDPOINT})

# Types whose removals wait until listener and route updates on the same stream are ACKed
# (the last step of make-before-break: drop what nothing references any more).
REMOVE_AFTER_ROUTES: frozenset[str] = frozenset({CLUSTER, ENDPOINT, SECRET})


def type_url_of(message_full_name: str) -> str:
    """The type URL of a protobuf message given its full name (DESCRIPTOR.full_name)."""
    return _PREFIX + message_full_name


def push_rank(type_url: str) -> tuple[int, str]:
    """Sort key putting known types in PUSH_ORDER and others after them."""
    try:
        return (PUSH_ORDER.index(type_url), "")
    except ValueError:
        return (len(PUSH_ORDER), type_url)
