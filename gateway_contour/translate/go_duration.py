"""Go durations (time.ParseDuration), as Contour reads them in annotations and HTTPProxy.

"1.5s", "2m30s", "300ms", ".5s", "5.s", "+1s" and a bare "0" are durations; a negative one
is refused here (no timeout we read may be negative), as is one past ~292 years, which Go
itself refuses (it overflows an int64 of nanoseconds).
"""

from __future__ import annotations

import re

from gateway_contour.translate.envoy_checks.limits import MAX_DURATION_SECONDS

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # micro sign
    "μs": 1e-6,  # Greek mu: Go accepts both
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_go_duration(value: str) -> float | None:
    """Seconds in a Go duration; None when it is not one (or is negative)."""
    value = value.strip()
    if value == "0":
        return 0.0
    if not value or value.startswith("-"):
        return None
    value = value.removeprefix("+")
    total, pos = 0.0, 0
    for part in _PART.finditer(value):
        if part.start() != pos:
            return None
        total += float(part.group(1)) * _UNIT_SECONDS[part.group(2)]
        pos = part.end()
    return total if pos == len(value) and pos > 0 and total <= MAX_DURATION_SECONDS else None
