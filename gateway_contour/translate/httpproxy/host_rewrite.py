"""A route's `requestHeadersPolicy` that sets Host from another request header.

Contour turns `set: [{name: Host, value: "%REQ(x-host-rewrite)%"}]` into a host rewrite from
that header (Envoy's `host_rewrite_header`): the backend sees the value the client sent in
`x-host-rewrite` as Host. Envoy cannot set Host through `request_headers_to_add`, and a
literal rewrite would send the command text itself. Other Host values stay in the modifier
(a literal Host becomes a literal host rewrite in envoy/).
"""

from __future__ import annotations

import dataclasses
import re

from gateway_contour.ir.model import HeaderModifier, Rewrite

_FROM_HEADER = re.compile(r"^%REQ\(([A-Za-z0-9!#$&'*+.^_`|~-]+)\)%$")
_HOST_NAMES = frozenset({"host", ":authority"})


def split_host_from_header(
    modifier: HeaderModifier | None, rewrite: Rewrite | None
) -> tuple[HeaderModifier | None, Rewrite | None]:
    """The modifier without a Host set from a header, and the rewrite with that header."""
    if not modifier:
        return modifier, rewrite
    header = None
    kept = []
    for h in modifier.set:
        found = _FROM_HEADER.match(h.value) if h.name.lower() in _HOST_NAMES else None
        if found is None:
            kept.append(h)
        else:
            header = found.group(1).lower()
    if header is None:
        return modifier, rewrite
    modifier = dataclasses.replace(modifier, set=tuple(kept))
    rewrite = dataclasses.replace(rewrite or Rewrite(), hostname_header=header)
    return modifier or None, rewrite
