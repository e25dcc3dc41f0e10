"""What the IR's wildcard patterns mean as RE2 regexes, shared by `envoy` (which sends them)
and `translate` (which checks that Envoy will take them: a regex over RE2's program size
limit would make Envoy refuse a listener's every route)."""

from __future__ import annotations

import re


def glob_regex(pattern: str) -> str:
    """A pattern whose '*' stands for any run of characters (CORS origins)."""
    return ".*".join(re.escape(part) for part in pattern.split("*"))


def segment_prefix_regex(prefix: str) -> str:
    """A Gateway API path prefix (no trailing '/') matching whole segments: for prefixes
    Envoy's path_separated_prefix cannot take (they hold '?' or '#')."""
    return re.escape(prefix) + "(/.*)?"


def prefix_strip_regex(prefix: str) -> str:
    """The path prefix (no trailing '/') and the slashes after it, for a rewrite to '/'."""
    return "^" + re.escape(prefix) + "/*"
