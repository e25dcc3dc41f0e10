"""GRPCRoute matches -> ir `Match`.

A gRPC call is an HTTP/2 POST to `/<service>/<method>`, so a method match is a path match:

- Exact, service and method: the exact path `/service/method`;
- Exact, service only: every path starting `/service/`;
- Exact, method only: the regex `/[^/]+/method` (any service);
- RegularExpression: the regex `/(service)/(method)`, a missing part matching any one
  segment;
- no method match: every path.

Header matches have the HTTPRoute form. Every GRPCRoute match also requires a gRPC request
(content-type application/grpc), so that an HTTPRoute on the same hostname keeps the rest.
"""

from __future__ import annotations

import re
from typing import Any

from gateway_contour.ir.model import Match, PathMatch, PathMatchKind
from gateway_contour.translate.envoy_checks.regex import regex_error
from gateway_contour.translate.gatewayapi.matches import MatchError, header_matches

# what the GRPCRoute CRD allows in Exact matches (the API server checks them; files do not)
_SERVICE = re.compile(r"^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$", re.IGNORECASE)
_METHOD = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")
_ANY_SEGMENT = "[^/]+"
_EVERYTHING = PathMatch(PathMatchKind.PREFIX, "/")


def grpc_match(raw: Any) -> Match:
    """The ir Match of one (defaulted) GRPCRouteMatch."""
    if not isinstance(raw, dict):
        raise MatchError("a match must be a mapping")
    return Match(
        path=method_path(raw.get("method")),
        headers=header_matches(raw.get("headers")),
        grpc=True,
    )


def method_path(raw: Any) -> PathMatch:
    """The path match of a GRPCMethodMatch (None: every method of every service)."""
    if raw is None:
        return _EVERYTHING
    if not isinstance(raw, dict):
        raise MatchError("method must be a mapping")
    kind = raw.get("type", "Exact")
    service, method = _part(raw, "service"), _part(raw, "method")
    if service is None and method is None:
        raise MatchError("a method match needs a service, a method or both")
    if kind == "Exact":
        if service is not None and not _SERVICE.match(service):
            raise MatchError(f"service {service!r} is not a valid gRPC service name")
        if method is not None and not _METHOD.match(method):
            raise MatchError(f"method {method!r} is not a valid gRPC method name")
        if service is None:
            return PathMatch(PathMatchKind.REGEX, f"/{_ANY_SEGMENT}/{method}")
        if method is None:
            return PathMatch(PathMatchKind.STRING_PREFIX, f"/{service}/")
        return PathMatch(PathMatchKind.EXACT, f"/{service}/{method}")
    if kind == "RegularExpression":
        for value in (service, method):
            if value is not None and (error := regex_error(value)):
                raise MatchError(error)
        # the two together are what Envoy compiles (and limits in size)
        path = f"/{_group(service)}/{_group(method)}"
        if error := regex_error(path):
            raise MatchError(f"service and method together: {error}")
        return PathMatch(PathMatchKind.REGEX, path)
    raise MatchError(f"method match type {kind!r} is not supported")


def _part(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MatchError(f"method match {key} must be a string")
    if "/" in value and raw.get("type", "Exact") == "Exact":
        raise MatchError(f"method match {key} {value!r} contains '/'")
    return value


def _group(pattern: str | None) -> str:
    # a group keeps an alternation ("a|b") inside its own path segment
    return _ANY_SEGMENT if pattern is None else f"(?:{pattern})"
