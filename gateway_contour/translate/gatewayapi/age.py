"""How Gateway API orders objects that tie: the oldest by creationTimestamp first, then the
first in alphabetical order of "namespace/name" (the spec's words, for route precedence,
listener conflicts and policy conflicts). The string, not the pair: "shop-eu/a" comes before
"shop/a" ('-' sorts before '/'), where comparing (namespace, name) would put "shop" first.
The API server writes every creationTimestamp in one RFC 3339 form (UTC, whole seconds), so
the strings compare as the times do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Age = tuple[str, str]  # (creationTimestamp, "namespace/name")


def age(meta: Mapping[str, Any]) -> Age:
    """The order key of an object's metadata (a missing timestamp sorts first)."""
    stamp = meta.get("creationTimestamp")
    return (
        stamp if isinstance(stamp, str) else "",
        f"{meta.get('namespace') or ''}/{meta.get('name') or ''}",
    )
