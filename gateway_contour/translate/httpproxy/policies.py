"""HTTPProxy policies -> IR route and virtual host policies.

Routes: timeoutPolicy (response -> request timeout, idle; "infinity" disables),
retryPolicy (count, perTryTimeout, retryOn, retriableStatusCodes), request/response
headers policies (set, remove; setting Host rewrites it), pathRewritePolicy (replacePrefix),
requestRedirectPolicy, directResponsePolicy. Virtual hosts and routes: corsPolicy (virtual
host only), ipAllowPolicy / ipDenyPolicy, rateLimitPolicy.local, and the hashing keys of
a Cookie or RequestHash loadBalancerPolicy.

Each parser takes the spec and an `error(type, reason, message)` callback, and returns the
IR value (None when absent or invalid).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from gateway_contour.ir.model import (
    CORSPolicy,
    DirectResponse,
    HashPolicy,
    HeaderModifier,
    HeaderValue,
    IPFilter,
    IPRule,
    LocalRateLimit,
    PathRewrite,
    PathRewriteKind,
    Redirect,
    RetryPolicy,
    Rewrite,
    Timeouts,
)
from gateway_contour.ir.patterns import glob_regex
from gateway_contour.translate.data import dicts, items, mapping, text
from gateway_contour.translate.envoy_checks.header_values import control_error, header_value_error
from gateway_contour.translate.envoy_checks.limits import (
    UINT32_MAX,
    count_error,
)
from gateway_contour.translate.envoy_checks.regex import regex_error
from gateway_contour.translate.go_duration import parse_go_duration
from gateway_contour.translate.httpproxy import status as s
from gateway_contour.translate.httpproxy.header_values import HOST_HEADERS, contour_value

ErrorSink = Callable[[str, str, str], None]

_RATE_UNITS = {"second": 1, "minute": 60, "hour": 3600}


def duration(value: Any) -> float | None:
    """A Go duration ("1s", "1m30s", "250ms", ".5s") in seconds; "infinity"/"infinite" is 0
    (no timeout); None when not a duration."""
    if not isinstance(value, str) or not value:
        return None
    if value in ("infinity", "infinite"):
        return 0.0
    return parse_go_duration(value)


def _duration_at(
    spec: dict[str, Any],
    key: str,
    policy: str,
    reason: str,
    error: ErrorSink,
    condition: str = s.ROUTE_ERROR,
) -> tuple[bool, float | None]:
    """The duration at `spec[key]`, None when absent; (False, None), with the error
    reported, when it is not a duration."""
    if key not in spec:
        return True, None
    value = duration(spec.get(key))
    if value is None:
        error(condition, reason, f"{policy}.{key}: {spec.get(key)!r} is not a duration")
        return False, None
    return True, value


def header_modifier(
    spec: Any, variables: Mapping[str, str], error: ErrorSink, where: str
) -> HeaderModifier | None:
    """A request/responseHeadersPolicy (`where` names it in errors): values as Contour
    writes them for Envoy (`header_values`); a value Envoy cannot carry (a line break or
    NUL, over 16 KiB once escaped) is a RouteError (`where` ends with the policy's field name)."""
    spec = mapping(spec)
    values: list[HeaderValue] = []
    for h in dicts(spec.get("set")):
        name, value = text(h.get("name")), text(h.get("value"))
        if not name:
            continue
        # Host becomes a host rewrite, which Envoy takes literally: only its characters count
        host = name.lower() in HOST_HEADERS
        if not host:
            value = contour_value(value, variables)
        if reason := control_error(value) if host else header_value_error(value):
            kind = "Response" if where.endswith("responseHeadersPolicy") else "Request"
            error(s.ROUTE_ERROR, f"{kind}HeadersPolicyInvalid", f"{where}.set {name}: {reason}")
            continue
        values.append(HeaderValue(name, value))
    modifier = HeaderModifier(
        set=tuple(values),
        remove=tuple(n for n in items(spec.get("remove")) if isinstance(n, str) and n),
    )
    return modifier or None


def timeouts(spec: Any, error: ErrorSink) -> Timeouts | None:
    if spec is None:
        return None
    spec = mapping(spec)
    out = {}
    for field, target in (("response", "request"), ("idle", "idle")):
        ok, value = _duration_at(spec, field, "timeoutPolicy", "TimeoutPolicyNotValid", error)
        if not ok:
            return None
        if value is not None:
            out[target] = value
    return Timeouts(**out) if out else None


def retry(spec: Any, error: ErrorSink) -> RetryPolicy | None:
    if spec is None:
        return None
    spec = mapping(spec)
    count = spec.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        error(s.ROUTE_ERROR, "RetryPolicyNotValid", "retryPolicy.count must be a number >= 0")
        return None
    if reason := count_error(count, "retryPolicy.count"):
        error(s.ROUTE_ERROR, "RetryPolicyNotValid", reason)
        return None
    ok, per_try = _duration_at(spec, "perTryTimeout", "retryPolicy", "RetryPolicyNotValid", error)
    if not ok:
        return None
    retry_on = tuple(v for v in items(spec.get("retryOn")) if isinstance(v, str) and v)
    codes = tuple(
        c
        for c in items(spec.get("retriableStatusCodes"))
        if isinstance(c, int) and 0 < c <= UINT32_MAX
    )
    return RetryPolicy(
        attempts=count or 1,
        per_try_timeout=per_try,
        retry_on=retry_on or ("5xx",),
        status_codes=codes,
    )


def path_rewrite(spec: Any, route_prefix: str, error: ErrorSink) -> Rewrite | None:
    """replacePrefix entries: the one whose `prefix` is the route's prefix, else the one
    without a prefix."""
    entries = dicts(mapping(spec).get("replacePrefix"))
    if not entries:
        return None
    chosen = None
    for entry in entries:
        prefix = text(entry.get("prefix"))
        if prefix and prefix == (route_prefix or "/"):
            chosen = entry
            break
        if not prefix and chosen is None:
            chosen = entry
    if chosen is None:
        return None
    replacement = text(chosen.get("replacement"))
    if not replacement.startswith("/"):
        error(
            s.ROUTE_ERROR,
            "PathRewritePolicyNotValid",
            "pathRewritePolicy replacement must start with /",
        )
        return None
    return Rewrite(path=PathRewrite(PathRewriteKind.PREFIX, replacement, route_prefix or "/"))


def redirect(spec: Any, route_prefix: str, error: ErrorSink) -> Redirect | None:
    spec = mapping(spec)
    code = spec.get("statusCode", 302)
    if code not in (301, 302):
        error(
            s.ROUTE_ERROR,
            "RequestRedirectPolicyNotValid",
            "requestRedirectPolicy.statusCode must be 301 or 302",
        )
        return None
    if spec.get("path") and spec.get("prefix"):
        error(
            s.ROUTE_ERROR,
            "RequestRedirectPolicyNotValid",
            "requestRedirectPolicy: path and prefix cannot both be set",
        )
        return None
    path = None
    if spec.get("path"):
        path = PathRewrite(PathRewriteKind.FULL, text(spec.get("path")))
    elif spec.get("prefix"):
        path = PathRewrite(PathRewriteKind.PREFIX, text(spec.get("prefix")), route_prefix or "/")
    port = spec.get("port")
    scheme = text(spec.get("scheme")) or None
    if scheme not in (None, "http", "https"):
        error(
            s.ROUTE_ERROR,
            "RequestRedirectPolicyNotValid",
            "requestRedirectPolicy.scheme must be http or https",
        )
        return None
    return Redirect(
        scheme=scheme,
        hostname=text(spec.get("hostname")) or None,
        port=port if isinstance(port, int) and not isinstance(port, bool) else None,
        path=path,
        status_code=int(code),
    )


def direct_response(spec: Any, error: ErrorSink) -> DirectResponse | None:
    spec = mapping(spec)
    code = spec.get("statusCode")
    if not isinstance(code, int) or not 200 <= code <= 599:
        error(
            s.ROUTE_ERROR,
            "DirectResponsePolicyNotValid",
            "directResponsePolicy.statusCode must be between 200 and 599",
        )
        return None
    body = spec.get("body")
    return DirectResponse(code, body if isinstance(body, str) and body else None)


def cors(spec: Any, error: ErrorSink) -> CORSPolicy | None:
    if spec is None:
        return None
    spec = mapping(spec)
    ok, seconds = _duration_at(
        spec, "maxAge", "corsPolicy", "PolicyDidNotParse", error, s.CORS_ERROR
    )
    if not ok:
        return None
    max_age = int(seconds) if seconds is not None else None

    def strings(key: str) -> tuple[str, ...]:
        return tuple(v for v in items(spec.get(key)) if isinstance(v, str) and v)

    origins = strings("allowOrigin")
    if not origins or not strings("allowMethods"):
        error(s.CORS_ERROR, "PolicyDidNotParse", "corsPolicy needs allowOrigin and allowMethods")
        return None
    for origin in origins:
        if "*" in origin and origin != "*" and (reason := regex_error(glob_regex(origin))):
            error(s.CORS_ERROR, "PolicyDidNotParse", f"corsPolicy.allowOrigin {origin!r}: {reason}")
            return None
    return CORSPolicy(
        allow_origins=origins,
        allow_methods=strings("allowMethods"),
        allow_headers=strings("allowHeaders"),
        expose_headers=strings("exposeHeaders"),
        allow_credentials=spec.get("allowCredentials") is True,
        max_age=max_age,
    )


def ip_filter(allow: Any, deny: Any, error: ErrorSink) -> IPFilter | None:
    if allow and deny:
        error(
            s.IP_FILTER_ERROR,
            "IPFilterPolicyNotValid",
            "cannot specify both ipAllowPolicy and ipDenyPolicy",
        )
        return None
    if not allow and not deny:
        return None
    rules = []
    for entry in dicts(allow or deny):
        source, cidr = text(entry.get("source")), text(entry.get("cidr"))
        if source not in ("Peer", "Remote"):
            error(
                s.IP_FILTER_ERROR,
                "IPFilterPolicyNotValid",
                f"ip filter source must be Peer or Remote, got {source!r}",
            )
            return None
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            error(
                s.IP_FILTER_ERROR,
                "IPFilterPolicyNotValid",
                f"ip filter cidr {cidr!r} is not an address or CIDR range",
            )
            return None
        rules.append(IPRule(str(network), peer=source == "Peer"))
    return IPFilter(allow=tuple(rules)) if allow else IPFilter(deny=tuple(rules))


def rate_limit(spec: Any, error: ErrorSink) -> LocalRateLimit | None:
    local = mapping(spec).get("local")
    if local is None:
        return None
    local = mapping(local)
    requests, unit = local.get("requests"), text(local.get("unit"))
    if not isinstance(requests, int) or isinstance(requests, bool) or requests < 1:
        error(
            s.RATE_LIMIT_ERROR,
            "PolicyDidNotParse",
            "rateLimitPolicy.local.requests must be a number > 0",
        )
        return None
    if unit not in _RATE_UNITS:
        error(
            s.RATE_LIMIT_ERROR,
            "PolicyDidNotParse",
            "rateLimitPolicy.local.unit must be second, minute or hour",
        )
        return None
    burst = local.get("burst", 0)
    code = local.get("responseStatusCode", 429)
    if not isinstance(code, int) or not 400 <= code <= 599:
        error(
            s.RATE_LIMIT_ERROR,
            "PolicyDidNotParse",
            "rateLimitPolicy.local.responseStatusCode must be between 400 and 599",
        )
        return None
    # Envoy formats these like any header value: literal '%'s are escaped
    headers = [
        HeaderValue(text(h.get("name")), contour_value(text(h.get("value")), {}))
        for h in dicts(local.get("responseHeadersToAdd"))
        if text(h.get("name"))
    ]
    for h in headers:
        if reason := header_value_error(h.value):
            error(
                s.RATE_LIMIT_ERROR,
                "PolicyDidNotParse",
                f"rateLimitPolicy.local.responseHeadersToAdd {h.name}: {reason}",
            )
            return None
    return LocalRateLimit(
        requests=requests,
        unit=_RATE_UNITS[unit],
        burst=burst if isinstance(burst, int) and burst > 0 else 0,
        status=code,
        response_headers=tuple(headers),
    )


SESSION_AFFINITY_COOKIE = "X-Contour-Session-Affinity"


def hash_policies(spec: Any, error: ErrorSink) -> tuple[HashPolicy, ...]:
    """The hashing keys of a Cookie or RequestHash loadBalancerPolicy (the strategy itself
    becomes the cluster's ring hash, see services.cluster_settings)."""
    spec = mapping(spec)
    strategy = text(spec.get("strategy"))
    if strategy == "Cookie":
        return (HashPolicy(cookie=SESSION_AFFINITY_COOKIE),)
    if strategy != "RequestHash":
        return ()
    out = []
    for entry in dicts(spec.get("requestHashPolicies")):
        terminal = entry.get("terminal") is True
        header = text(mapping(entry.get("headerHashOptions")).get("headerName"))
        query = text(mapping(entry.get("queryParameterHashOptions")).get("parameterName"))
        if header:
            out.append(HashPolicy(header=header, terminal=terminal))
        elif query:
            out.append(HashPolicy(query_parameter=query, terminal=terminal))
        elif entry.get("hashSourceIP") is True:
            out.append(HashPolicy(source_ip=True, terminal=terminal))
    if not out:
        error(
            s.ROUTE_ERROR,
            "LoadBalancerPolicyNotValid",
            "loadBalancerPolicy RequestHash needs requestHashPolicies naming a header, a "
            "query parameter or hashSourceIP",
        )
    return tuple(out)
