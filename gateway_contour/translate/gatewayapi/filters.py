"""HTTPRoute filters -> ir route policies and actions.

Header modifiers and URL rewrites become `HeaderModifier`/`Rewrite` on the route; a
RequestRedirect becomes the route's `Redirect` action. Redirects and prefix rewrites depend on
the match (the matched prefix) and on the listener (its port and scheme), so they are parsed
here once per rule and finished per match by `redirect_for`/`rewrite_for`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gateway_contour.ir.model import (
    CORSPolicy,
    HeaderModifier,
    HeaderValue,
    Match,
    PathMatchKind,
    PathRewrite,
    PathRewriteKind,
    Redirect,
    Rewrite,
)
from gateway_contour.ir.patterns import glob_regex, prefix_strip_regex
from gateway_contour.translate.envoy_checks.header_values import control_error, header_value_error
from gateway_contour.translate.envoy_checks.regex import regex_error
from gateway_contour.translate.gatewayapi.hostnames import hostname_error
from gateway_contour.translate.gatewayapi.matches import HEADER_NAME

WELL_KNOWN_PORTS = {"http": 80, "https": 443}
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# filter types a rule may carry today; anything else makes the route UnsupportedValue
RULE_FILTERS = frozenset(
    {
        "RequestHeaderModifier",
        "ResponseHeaderModifier",
        "RequestRedirect",
        "URLRewrite",
        "RequestMirror",
        "CORS",
    }
)
BACKEND_FILTERS = frozenset({"RequestHeaderModifier", "ResponseHeaderModifier"})


class FilterError(ValueError):
    """A filter the translator cannot express (the route gets UnsupportedValue)."""


def _check_header(name: str, value: str | None, what: str) -> None:
    if not HEADER_NAME.match(name):
        raise FilterError(f"{what}: {name!r} is not a valid header name")
    if value is None:
        return
    # Envoy reads a header value as a format string (`%NAME%` commands, `%%`); a Host value
    # becomes a host rewrite instead, which it takes literally
    literal = name.lower() in ("host", ":authority")
    reason = control_error(value) if literal else header_value_error(value)
    if reason:
        raise FilterError(f"{what}: the value of {name!r} is not one Envoy accepts: {reason}")


def _check_hostname(hostname: Any, what: str) -> str | None:
    if hostname is None:
        return None
    if not isinstance(hostname, str) or hostname_error(hostname) or hostname.startswith("*"):
        raise FilterError(f"{what} hostname {hostname!r} is not a valid hostname")
    return hostname


@dataclass(slots=True)
class RuleFilters:
    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None
    redirect: dict[str, Any] | None = None
    rewrite: dict[str, Any] | None = None
    mirrors: list[dict[str, Any]] = field(default_factory=list)  # requestMirror bodies
    cors: CORSPolicy | None = None


_NO_FILTERS = RuleFilters()


def parse_filters(raw: Any, allowed: frozenset[str] = RULE_FILTERS) -> RuleFilters:
    """The filters of a rule or backendRef; never modify the result (it may be shared)."""
    if not raw:
        return _NO_FILTERS
    out = RuleFilters()
    if not isinstance(raw, list):
        raise FilterError("filters must be a list")
    for filter_ in raw:
        if not isinstance(filter_, dict):
            raise FilterError("a filter must be a mapping")
        type_ = filter_.get("type")
        if not isinstance(type_, str) or type_ not in allowed:
            raise FilterError(f"filter type {type_!r} is not supported")
        body = filter_.get(_field_of(str(type_)))
        if not isinstance(body, dict):
            raise FilterError(f"filter {type_} needs its {_field_of(str(type_))} field")
        # the spec allows each of these at most once per rule; later ones are ignored
        if type_ == "RequestHeaderModifier" and out.request_headers is None:
            out.request_headers = header_modifier(body, _field_of(type_))
        elif type_ == "ResponseHeaderModifier" and out.response_headers is None:
            out.response_headers = header_modifier(body, _field_of(type_))
        elif type_ == "RequestRedirect" and out.redirect is None:
            out.redirect = body
        elif type_ == "URLRewrite" and out.rewrite is None:
            out.rewrite = body
        elif type_ == "RequestMirror":
            out.mirrors.append(body)
        elif type_ == "CORS" and out.cors is None:
            out.cors = cors_policy(body)
    if out.redirect is not None and out.rewrite is not None:
        raise FilterError("RequestRedirect and URLRewrite cannot be used in the same rule")
    return out


def _field_of(type_: str) -> str:
    # "RequestHeaderModifier" -> "requestHeaderModifier", "URLRewrite" -> "urlRewrite"
    return _FIELDS.get(type_) or type_[:1].lower() + type_[1:]


_FIELDS = {"URLRewrite": "urlRewrite", "CORS": "cors"}
_CORS_ORIGIN = re.compile(r"^(\*|https?://(\*\.)?[A-Za-z0-9.*-]+(:[0-9]{1,5})?)$")
CORS_DEFAULT_MAX_AGE = 5  # seconds, the CRD default


def cors_policy(body: dict[str, Any]) -> CORSPolicy:
    """A CORS filter. Origins may hold '*' wildcards ("*" alone: any origin); methods and
    headers may be "*" (any)."""

    def strings(key: str, check: re.Pattern[str] | None = None) -> tuple[str, ...]:
        raw = body.get(key) or []
        if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
            raise FilterError(f"cors {key} must be a list of non-empty strings")
        for value in raw:
            if check is not None and not check.match(value):
                raise FilterError(f"cors {key}: {value!r} is not valid")
            if "\r" in value or "\n" in value or "," in value:
                raise FilterError(f"cors {key}: {value!r} is not valid")
            if "*" in value and value != "*" and (reason := regex_error(glob_regex(value))):
                raise FilterError(f"cors {key}: {value!r} as Envoy matches it: {reason}")
        return tuple(dict.fromkeys(raw))

    credentials = body.get("allowCredentials", False)
    if not isinstance(credentials, bool):
        raise FilterError("cors allowCredentials must be true or false")
    max_age = body.get("maxAge", CORS_DEFAULT_MAX_AGE)
    if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 1:
        raise FilterError(f"cors maxAge {max_age!r} is not a positive number of seconds")
    return CORSPolicy(
        allow_origins=strings("allowOrigins", _CORS_ORIGIN),
        allow_methods=strings("allowMethods", _CORS_METHOD),
        allow_headers=strings("allowHeaders", HEADER_NAME_OR_ANY),
        expose_headers=strings("exposeHeaders", HEADER_NAME_OR_ANY),
        allow_credentials=credentials,
        max_age=max_age,
    )


_CORS_METHOD = re.compile(r"^(\*|[A-Z]+)$")
HEADER_NAME_OR_ANY = re.compile(r"^(\*|[A-Za-z0-9!#$%&'*+\-.^_`|~]+)$")


def header_modifier(body: dict[str, Any], what: str = "header modifier") -> HeaderModifier | None:
    def values(key: str) -> tuple[HeaderValue, ...]:
        out: dict[str, HeaderValue] = {}
        entries = body.get(key) or []
        if not isinstance(entries, list):
            raise FilterError(f"{what} {key} must be a list")
        for item in entries:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise FilterError(f"{what} {key}: each entry needs a name")
            if not isinstance(item.get("value"), str):
                raise FilterError(f"{what} {key}: {item['name']!r} needs a value")
            _check_header(item["name"], item["value"], f"{what}.{key}")
            # header names are case-insensitive; the first of equivalent names wins
            out.setdefault(item["name"].lower(), HeaderValue(item["name"], item["value"]))
        return tuple(out.values())

    remove = body.get("remove") or []
    if not isinstance(remove, list) or not all(isinstance(name, str) for name in remove):
        raise FilterError(f"{what} remove: names must be strings")
    for name in remove:
        _check_header(name, None, f"{what}.remove")
    modifier = HeaderModifier(set=values("set"), add=values("add"), remove=tuple(remove))
    return modifier or None


def _path_modifier(body: Any, match: Match, what: str) -> PathRewrite | None:
    if body is None:
        return None
    if not isinstance(body, dict):
        raise FilterError(f"{what} path must be a mapping")
    type_ = body.get("type")
    if type_ == "ReplaceFullPath":
        value = body.get("replaceFullPath")
        if not isinstance(value, str):
            raise FilterError(f"{what} path: replaceFullPath is required")
        return PathRewrite(PathRewriteKind.FULL, value)
    if type_ == "ReplacePrefixMatch":
        value = body.get("replacePrefixMatch")
        if not isinstance(value, str):
            raise FilterError(f"{what} path: replacePrefixMatch is required")
        if match.path.kind is not PathMatchKind.PREFIX:
            raise FilterError(f"{what} path: ReplacePrefixMatch needs a PathPrefix match")
        # replacing a prefix by "/" is a regex rewrite for Envoy (envoy/route_action.py)
        prefix = match.path.value.rstrip("/")
        to_root = bool(prefix) and not value.rstrip("/")
        if to_root and (error := regex_error(prefix_strip_regex(prefix))):
            raise FilterError(f"{what} path: replacing {prefix!r} by '/': {error}")
        return PathRewrite(PathRewriteKind.PREFIX, value, matched_prefix=match.path.value)
    raise FilterError(f"{what} path type {type_!r} is not supported")


def redirect_for(
    body: dict[str, Any], match: Match, listener_port: int, listener_scheme: str
) -> Redirect:
    """The Redirect of a RequestRedirect filter for one match on one listener.

    The spec's port rule: an explicit port wins; else a new scheme brings its well-known
    port; else the listener's port. The port is left out of Location when it is the
    well-known port of the resulting scheme, as long as clients leave the port out of Host
    (a listener on its scheme's default port); on any other listener Host carries a port,
    which Envoy keeps unless told another one, so the well-known port is written out.
    """
    scheme = body.get("scheme")
    if scheme is not None and (not isinstance(scheme, str) or scheme not in WELL_KNOWN_PORTS):
        raise FilterError(f"redirect scheme {scheme!r} is not http or https")
    port = body.get("port")
    if port is not None and (not isinstance(port, int) or not 1 <= port <= 65535):
        raise FilterError(f"redirect port {port!r} is not a port number")
    status = body.get("statusCode", 302)
    if not isinstance(status, int) or status not in REDIRECT_CODES:
        raise FilterError(f"redirect statusCode {status!r} is not supported")
    hostname = _check_hostname(body.get("hostname"), "redirect")

    if port is None:
        port = WELL_KNOWN_PORTS[scheme] if scheme else listener_port
    well_known = port == WELL_KNOWN_PORTS.get(scheme or listener_scheme)
    # (a new hostname replaces Host, port and all)
    host_has_port = not hostname and listener_port != WELL_KNOWN_PORTS.get(listener_scheme)
    strip = well_known and not host_has_port
    return Redirect(
        scheme=scheme,
        hostname=hostname or None,
        port=None if strip else port,
        path=_path_modifier(body.get("path"), match, "redirect"),
        status_code=int(status),
        strip_port=strip,
        keep_port=well_known and host_has_port,
    )


def rewrite_for(body: dict[str, Any], match: Match) -> Rewrite | None:
    hostname = _check_hostname(body.get("hostname"), "rewrite")
    rewrite = Rewrite(
        hostname=hostname or None, path=_path_modifier(body.get("path"), match, "rewrite")
    )
    return rewrite if rewrite.hostname or rewrite.path else None


def mirror_percent(body: dict[str, Any]) -> float:
    if "percent" in body:
        percent = body["percent"]
        if not isinstance(percent, int) or not 0 <= percent <= 100:
            raise FilterError("requestMirror percent must be 0..100")
        return float(percent)
    fraction = body.get("fraction")
    if isinstance(fraction, dict):
        numerator = fraction.get("numerator")
        denominator = fraction.get("denominator", 100)
        if (
            not isinstance(numerator, int)
            or not isinstance(denominator, int)
            or denominator <= 0
            or not 0 <= numerator <= denominator
        ):
            raise FilterError("requestMirror fraction must be 0 <= numerator <= denominator")
        return 100.0 * numerator / denominator
    return 100.0
