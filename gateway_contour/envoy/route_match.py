"""IR `Match` -> Envoy `RouteMatch`, and Gateway API path-prefix semantics.

Path kinds:

- Exact -> `path`.
- PathPrefix (Gateway API: whole segments; "/foo" matches "/foo" and "/foo/bar", not
  "/foobar"; "/foo/" is the same as "/foo"; "/" matches everything) -> `path_separated_prefix`
  with trailing slashes removed, or `prefix: "/"` for the root (Envoy's path_separated_prefix
  must not end in "/" and must not contain "?" or "#"; a value with those falls back to an
  equivalent safe_regex).
- StringPrefix -> `prefix`.
- RegularExpression -> `safe_regex` (RE2, whole path).

Headers use `HeaderMatcher.string_match` (or `present_match`), the method is an exact match on
the `:method` pseudo-header, query parameters use `QueryParameterMatcher`, and `grpc` sets the
gRPC match option. Builders fill messages in place: on the 10k-route path that is about twice
as fast as building sub-messages and copying them in.
"""

from __future__ import annotations

import re

from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.type.matcher.v3 import string_pb2

from gateway_contour.ir.model import (
    HeaderMatch,
    Match,
    PathMatch,
    PathMatchKind,
    QueryMatch,
    StringMatchKind,
)
from gateway_contour.ir.patterns import segment_prefix_regex

_SEPARATED_PREFIX_FORBIDDEN = re.compile(r"[?#]")


def segment_prefix(value: str) -> str:
    """A PathPrefix value normalized: trailing slashes removed, "" for the root."""
    return value.rstrip("/")


def route_match(match: Match) -> rc.RouteMatch:
    out = rc.RouteMatch()
    fill_route_match(out, match)
    return out


def fill_route_match(out: rc.RouteMatch, match: Match) -> None:
    _fill_path(out, match.path)
    for h in match.headers:
        fill_header_matcher(out.headers.add(), h)
    if match.method:
        method = out.headers.add()
        method.name = ":method"
        method.string_match.exact = match.method
    for q in match.query:
        fill_query_matcher(out.query_parameters.add(), q)
    if match.grpc:
        out.grpc.SetInParent()


def _fill_path(out: rc.RouteMatch, path: PathMatch) -> None:
    kind = path.kind
    if kind is PathMatchKind.PREFIX:
        prefix = segment_prefix(path.value)
        if not prefix:
            out.prefix = "/"
        elif _SEPARATED_PREFIX_FORBIDDEN.search(prefix):
            out.safe_regex.regex = segment_prefix_regex(prefix)
        else:
            out.path_separated_prefix = prefix
    elif kind is PathMatchKind.EXACT:
        out.path = path.value
    elif kind is PathMatchKind.STRING_PREFIX:
        out.prefix = path.value
    elif kind is PathMatchKind.REGEX:
        out.safe_regex.regex = path.value
    else:
        raise ValueError(f"unknown path match kind {kind}")


def fill_string_matcher(
    out: string_pb2.StringMatcher, kind: StringMatchKind, value: str, ignore_case: bool
) -> None:
    """Every kind but PRESENT (which callers express as present_match)."""
    if kind is StringMatchKind.EXACT:
        out.exact = value
    elif kind is StringMatchKind.PREFIX:
        out.prefix = value
    elif kind is StringMatchKind.SUFFIX:
        out.suffix = value
    elif kind is StringMatchKind.CONTAINS:
        out.contains = value
    elif kind is StringMatchKind.REGEX:
        out.safe_regex.regex = value
        return  # ignore_case does not apply to regexes
    else:
        raise ValueError(f"no StringMatcher for {kind}")
    if ignore_case:
        out.ignore_case = True


def header_matcher(h: HeaderMatch) -> rc.HeaderMatcher:
    out = rc.HeaderMatcher()
    fill_header_matcher(out, h)
    return out


def fill_header_matcher(out: rc.HeaderMatcher, h: HeaderMatch) -> None:
    out.name = h.name
    if h.kind is StringMatchKind.PRESENT:
        out.present_match = True
    else:
        fill_string_matcher(out.string_match, h.kind, h.value, h.ignore_case)
    if h.invert:
        out.invert_match = True
    if h.treat_missing_as_empty:
        out.treat_missing_header_as_empty = True


def fill_query_matcher(out: rc.QueryParameterMatcher, q: QueryMatch) -> None:
    out.name = q.name
    if q.kind is StringMatchKind.PRESENT:
        out.present_match = True
    else:
        fill_string_matcher(out.string_match, q.kind, q.value, q.ignore_case)
