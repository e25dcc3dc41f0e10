"""Numeric limits of the fields user numbers land in: past them Envoy refuses the whole
resource (a Duration past protobuf's range) or the message cannot even be built (a count
past a UInt32Value), and one object would stop every update of its fleet."""

from __future__ import annotations

UINT32_MAX = 2**32 - 1  # retry counts, retriable status codes: UInt32Value / uint32 fields
# The longest duration Go's time.ParseDuration takes (int64 nanoseconds, ~292 years), which
# is where Contour refuses a timeout; shorter than protobuf's Duration limit (10,000 years).
MAX_DURATION_SECONDS = (2**63 - 1) / 1e9


def count_error(value: int, what: str) -> str | None:
    """Why Envoy cannot carry the count `value`, or None."""
    if value > UINT32_MAX:
        return f"{what} {value} is over {UINT32_MAX}, the most Envoy takes"
    return None
