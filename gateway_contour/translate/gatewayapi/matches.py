"""HTTPRoute matches -> ir `Match`, and the Gateway API precedence order between them.

Precedence (the HTTPRoute spec): an Exact path beats any prefix; then the longest path;
then a method match; then more header matches; then more query matches. Ties go to the
oldest route (creationTimestamp), then namespace/name alphabetically, then rule order.
Regular expressions have no defined rank; they sort by length like prefixes and lose a
tie against a prefix of the same length.
"""

from __future__ import annotations

import re
from typing import Any

from gateway_contour.ir.model import (
    HeaderMatch,
    Match,
    PathMatch,
    PathMatchKind,
    QueryMatch,
    StringMatchKind,
)
from gateway_contour.ir.patterns import segment_prefix_regex
from gateway_contour.translate.envoy_checks.regex import regex_error

_PATH_KINDS = {
    "Exact": PathMatchKind.EXACT,
    "PathPrefix": PathMatchKind.PREFIX,
    "RegularExpression": PathMatchKind.REGEX,
}
_VALUE_KINDS = {"Exact": StringMatchKind.EXACT, "RegularExpression": StringMatchKind.REGEX}
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)


# RFC 9110 token: what Envoy accepts as a header name
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")


class MatchError(ValueError):
    """A match the translator cannot express (the route gets UnsupportedValue)."""


def check_value(value: str, what: str) -> None:
    if "\r" in value or "\n" in value or "\0" in value:
        raise MatchError(f"{what} contains a line break or NUL")


def http_match(raw: Any) -> Match:
    """The ir Match of one (defaulted) HTTPRouteMatch."""
    if not isinstance(raw, dict):
        raise MatchError("a match must be a mapping")
    return Match(
        path=_path(raw.get("path", {})),
        headers=header_matches(raw.get("headers")),
        query=tuple(_query(_list(raw.get("queryParams"), "queryParams"))),
        method=_method(raw.get("method")),
    )


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MatchError(f"{what} must be a list")
    return value


def _path(raw: Any) -> PathMatch:
    if not isinstance(raw, dict):
        raise MatchError("path must be a mapping")
    kind = _PATH_KINDS.get(str(raw.get("type", "PathPrefix")))
    if kind is None:
        raise MatchError(f"path match type {raw.get('type')!r} is not supported")
    value = raw.get("value", "/")
    if not isinstance(value, str) or not value:
        raise MatchError("path match value must be a non-empty string")
    if kind is PathMatchKind.REGEX:
        if error := regex_error(value):
            raise MatchError(error)
    elif not value.startswith("/"):
        raise MatchError(f"path {value!r} must start with '/'")
    if kind is PathMatchKind.PREFIX and len(value) > 1:
        # "/foo/" and "/foo" are the same segment prefix
        value = value.rstrip("/") or "/"
        # with '?' or '#' Envoy gets it as a regex (envoy/route_match.py)
        if ("?" in value or "#" in value) and (error := regex_error(segment_prefix_regex(value))):
            raise MatchError(f"path prefix {value!r} as Envoy matches it: {error}")
    return PathMatch(kind, value)


def header_matches(raw: Any) -> tuple[HeaderMatch, ...]:
    """The header matches of an HTTPRouteMatch or a GRPCRouteMatch (the same form)."""
    return tuple(_headers(_list(raw, "headers")))


def _headers(raw: list[Any]) -> list[HeaderMatch]:
    out: dict[str, HeaderMatch] = {}
    for header in raw:
        name, kind, value = _name_kind_value(header, "header")
        # header names are case-insensitive; only the first of equivalent names counts
        out.setdefault(name.lower(), HeaderMatch(name.lower(), value, kind))
    return list(out.values())


def _query(raw: list[Any]) -> list[QueryMatch]:
    out: dict[str, QueryMatch] = {}
    for param in raw:
        name, kind, value = _name_kind_value(param, "query parameter")
        out.setdefault(name, QueryMatch(name, value, kind))
    return list(out.values())


def _name_kind_value(raw: Any, what: str) -> tuple[str, StringMatchKind, str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise MatchError(f"a {what} match needs a name")
    kind = _VALUE_KINDS.get(str(raw.get("type", "Exact")))
    if kind is None:
        raise MatchError(f"{what} match type {raw.get('type')!r} is not supported")
    if what == "header" and not HEADER_NAME.match(raw["name"]):
        raise MatchError(f"{raw['name']!r} is not a valid header name")
    value = raw.get("value")
    if not isinstance(value, str):
        raise MatchError(f"{what} match {raw['name']!r} needs a string value")
    if kind is StringMatchKind.REGEX and (error := regex_error(value)):
        raise MatchError(error)
    check_value(value, f"{what} match {raw['name']!r}")
    return raw["name"], kind, value


def _method(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in METHODS:
        raise MatchError(f"method {raw!r} is not supported")
    return str(raw)


def match_precedence(match: Match) -> tuple[int, int, int, int, int, int]:
    """The match's share of the sort key: smaller sorts first (wins)."""
    path = match.path
    return (
        0 if path.kind is PathMatchKind.EXACT else 1,
        -len(path.value),
        1 if path.kind is PathMatchKind.REGEX else 0,
        0 if match.method else 1,
        -len(match.headers),
        -len(match.query),
    )
