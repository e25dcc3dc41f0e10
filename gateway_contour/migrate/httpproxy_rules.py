"""One HTTPProxy route (with the conditions its includes prepended) -> one HTTPRoute rule.

Only routes of valid proxies get here (see `httpproxy_validity`), so the controller's own
parsers read the policies; this module says them in Gateway API terms:

- Paths: exact -> Exact, regex -> RegularExpression, prefix -> PathPrefix. A Contour prefix
  is a plain string prefix, PathPrefix matches whole segments: approximated unless "/".
- Headers: exact -> Exact; present, contains, regex and ignoreCase -> RegularExpression.
  Query parameters likewise (prefix and suffix as expressions). The negated header
  operators (notpresent, notcontains, notexact) cannot be said: dropped, noted.
- services: backendRefs (weights kept when any is set: unset ones are 0); a service in the
  included proxy's namespace gets `namespace` and a ReferenceGrant. `mirror` -> a
  RequestMirror filter (with `percent` from its weight).
- Request/response header policies -> header modifier filters (setting Host -> URLRewrite
  hostname); pathRewritePolicy -> URLRewrite ReplacePrefixMatch; requestRedirectPolicy ->
  RequestRedirect; directResponsePolicy: no equivalent (the rule answers 500), noted.
  A redirect without a port goes to the listener's port in Gateway API (Contour kept the
  request's): noted when the HTTP listener is not on port 80.
- timeoutPolicy.response -> timeouts.request; retryPolicy -> retry (attempts, codes) and
  perTryTimeout -> timeouts.backendRequest (at most the request timeout, as Gateway API
  requires; a longer one never fired before the request's anyway).
- Not expressed, noted: per-service header policies, protocols and validation, load
  balancer and health check policies, websockets, IP filters, rate limits, idle timeouts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gateway_contour.ir.model import (
    DirectResponse,
    HeaderMatch,
    HeaderModifier,
    PathMatchKind,
    PathRewriteKind,
    QueryMatch,
    Redirect,
    StringMatchKind,
)
from gateway_contour.migrate.model import APPROXIMATED, NOT_EXPRESSED
from gateway_contour.migrate.policies import RETRIED_ANYWAY, RETRY_CODES, gateway_duration
from gateway_contour.translate.data import dicts, mapping, text
from gateway_contour.translate.httpproxy import policies as p
from gateway_contour.translate.httpproxy.conditions import Conditions
from gateway_contour.translate.httpproxy.header_values import route_variables

Noter = Callable[[str, str], None]  # (kind, message)
# (Service namespace, name): records that the route uses it (for ReferenceGrants)
Granter = Callable[[str, str], None]

_PATH_TYPES = {
    PathMatchKind.EXACT: "Exact",
    PathMatchKind.STRING_PREFIX: "PathPrefix",
    PathMatchKind.REGEX: "RegularExpression",
}
_NEGATED = {
    StringMatchKind.PRESENT: "notpresent",
    StringMatchKind.CONTAINS: "notcontains",
    StringMatchKind.EXACT: "notexact",
}
_ROUTE_ONLY_NOTES = {
    "loadBalancerPolicy": "HTTPRoute has no load balancing policy (round robin is used)",
    "healthCheckPolicy": "HTTPRoute has no active health checks",
    "enableWebsockets": "set appProtocol kubernetes.io/ws on the Service port instead",
    "ipAllowPolicy": "HTTPRoute has no client IP filter",
    "ipDenyPolicy": "HTTPRoute has no client IP filter",
    "rateLimitPolicy": "HTTPRoute has no rate limits",
    "authPolicy": "HTTPRoute has no external authorization",
    "jwtVerificationPolicy": "HTTPRoute has no JWT verification",
    "cookieRewritePolicies": "HTTPRoute has no cookie rewriting",
    "internalRedirectPolicy": "HTTPRoute has no internal redirects",
    "slowStartPolicy": "HTTPRoute has no slow start",
}


def _ignore(type_: str, reason: str, message: str) -> None:
    """Error sink for the controller's parsers: the proxy is valid, nothing is reported."""


def route_match(conds: Conditions, where: str, note: Noter) -> dict[str, Any]:
    match: dict[str, Any] = {}
    path = conds.path or "/"
    if conds.path_kind is PathMatchKind.STRING_PREFIX and path != "/":
        note(
            APPROXIMATED,
            f"{where}: prefix {path} became a PathPrefix, which matches whole path segments "
            "where Contour matched a plain string prefix",
        )
    match["path"] = {"type": _PATH_TYPES[conds.path_kind], "value": path}
    headers = [h for h in (_header(h, where, note) for h in conds.headers) if h]
    if headers:
        match["headers"] = headers
    query = [_query(q) for q in conds.query]
    if query:
        match["queryParams"] = query
    return match


def _string_match(kind: StringMatchKind, value: str, ignore_case: bool) -> tuple[str, str]:
    flags = "(?i)" if ignore_case else ""
    if kind is StringMatchKind.EXACT and not ignore_case:
        return "Exact", value
    pattern = {
        StringMatchKind.EXACT: re.escape(value),
        StringMatchKind.PRESENT: ".*",
        StringMatchKind.CONTAINS: f".*{re.escape(value)}.*",
        StringMatchKind.PREFIX: f"{re.escape(value)}.*",
        StringMatchKind.SUFFIX: f".*{re.escape(value)}",
        StringMatchKind.REGEX: value,
    }[kind]
    return "RegularExpression", flags + pattern


def _header(h: HeaderMatch, where: str, note: Noter) -> dict[str, Any] | None:
    if h.invert:
        op = _NEGATED.get(h.kind, "negated")
        note(
            NOT_EXPRESSED,
            f"{where}: header condition {op} on {h.name} has no HTTPRoute equivalent; "
            "dropped, the rule now also matches requests it excluded",
        )
        return None
    kind, value = _string_match(h.kind, h.value, h.ignore_case)
    return {"type": kind, "name": h.name, "value": value}


def _query(q: QueryMatch) -> dict[str, Any]:
    kind, value = _string_match(q.kind, q.value, q.ignore_case)
    return {"type": kind, "name": q.name, "value": value}


def route_rule(
    spec: dict[str, Any],
    conds: Conditions,
    owner_ns: str,
    route_ns: str,
    where: str,
    note: Noter,
    grant: Granter,
    http_port: int = 80,
) -> dict[str, Any]:
    """The rule for `spec` (a route of a proxy in `owner_ns`, flattened into `route_ns`;
    `http_port`: the Gateway's HTTP listener's)."""
    match = route_match(conds, where, note)
    rule: dict[str, Any] = {"matches": [match]}
    filters: list[dict[str, Any]] = []
    prefix = conds.prefix
    is_prefix = match["path"]["type"] == "PathPrefix"
    if spec.get("services"):
        backends = _backends(spec, owner_ns, route_ns, where, note, grant, filters)
        if backends:
            rule["backendRefs"] = backends
    elif spec.get("requestRedirectPolicy"):
        found = p.redirect(spec.get("requestRedirectPolicy"), prefix, _ignore)
        if isinstance(found, Redirect):
            filters.append(_redirect(found, is_prefix, where, note))
            if found.port is None and found.scheme != "https" and http_port != 80:
                note(
                    APPROXIMATED,
                    f"{where}: requestRedirectPolicy without a port: Gateway API redirects "
                    f"to the listener's port {http_port}, Contour kept the request's",
                )
    else:
        found_direct = p.direct_response(spec.get("directResponsePolicy"), _ignore)
        if isinstance(found_direct, DirectResponse):
            note(
                NOT_EXPRESSED,
                f"{where}: directResponsePolicy ({found_direct.status}) has no HTTPRoute "
                "equivalent; the rule has no backend and answers 500",
            )
    filters.extend(_header_filters(spec, owner_ns, where, note))
    rewrite = p.path_rewrite(spec.get("pathRewritePolicy"), prefix, _ignore)
    if rewrite is not None and rewrite.path is not None:
        if is_prefix:
            filters.append(_url_rewrite(path=rewrite.path.value))
        else:
            note(
                NOT_EXPRESSED,
                f"{where}: pathRewritePolicy on a route without a prefix condition cannot "
                "be a ReplacePrefixMatch; dropped",
            )
    if filters:
        rule["filters"] = _merge_rewrites(filters)
    rule.update(_timeouts_and_retry(spec, where, note))
    for field, advice in _ROUTE_ONLY_NOTES.items():
        if field == "loadBalancerPolicy" and _round_robin(spec.get(field)):
            continue  # the default of both
        if spec.get(field) not in (None, False):
            note(NOT_EXPRESSED, f"{where}: {field} is not migrated; {advice}")
    return rule


def _round_robin(policy: Any) -> bool:
    policy = mapping(policy)
    return set(policy) <= {"strategy"} and text(policy.get("strategy")) in ("", "RoundRobin")


def _backends(
    spec: dict[str, Any],
    owner_ns: str,
    route_ns: str,
    where: str,
    note: Noter,
    grant: Granter,
    filters: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    entries = dicts(spec.get("services"))
    any_weight = any(
        isinstance(e.get("weight"), int) and e.get("weight") and e.get("mirror") is not True
        for e in entries
    )
    out = []
    for number, entry in enumerate(entries):
        name, port = text(entry.get("name")), entry.get("port")
        ref: dict[str, Any] = {"name": name}
        if owner_ns != route_ns:
            ref["namespace"] = owner_ns
            grant(owner_ns, name)
        ref["port"] = port
        at = f"{where}.services[{number}]"
        weight = entry.get("weight")
        weight = weight if isinstance(weight, int) and not isinstance(weight, bool) else 0
        for field in ("requestHeadersPolicy", "responseHeadersPolicy"):
            if entry.get(field) is not None:
                note(NOT_EXPRESSED, f"{at}: per-service {field} is not migrated")
        if entry.get("protocol"):
            note(
                NOT_EXPRESSED,
                f"{at}: protocol {text(entry.get('protocol'))} is not migrated; set appProtocol "
                "on the Service port (kubernetes.io/h2c) or use a BackendTLSPolicy",
            )
        if entry.get("validation") is not None:
            note(NOT_EXPRESSED, f"{at}: validation is not migrated; use a BackendTLSPolicy")
        if entry.get("mirror") is True:
            mirror: dict[str, Any] = {"backendRef": ref}
            if weight:
                mirror["percent"] = min(weight, 100)
            filters.append({"type": "RequestMirror", "requestMirror": mirror})
            continue
        if any_weight:
            ref["weight"] = weight
        out.append(ref)
    return out


def _redirect(found: Redirect, is_prefix: bool, where: str, note: Noter) -> dict[str, Any]:
    redirect: dict[str, Any] = {}
    if found.scheme:
        redirect["scheme"] = found.scheme
    if found.hostname:
        redirect["hostname"] = found.hostname
    if found.port is not None:
        redirect["port"] = found.port
    if found.path is not None:
        if found.path.kind is PathRewriteKind.FULL:
            redirect["path"] = {"type": "ReplaceFullPath", "replaceFullPath": found.path.value}
        elif is_prefix:
            redirect["path"] = {
                "type": "ReplacePrefixMatch",
                "replacePrefixMatch": found.path.value,
            }
        else:
            note(
                NOT_EXPRESSED,
                f"{where}: requestRedirectPolicy.prefix on a route without a prefix condition "
                "cannot be a ReplacePrefixMatch; the path is kept",
            )
    redirect["statusCode"] = found.status_code
    return {"type": "RequestRedirect", "requestRedirect": redirect}


def _modifier(modifier: HeaderModifier, host_allowed: bool) -> tuple[dict[str, Any], str]:
    out: dict[str, Any] = {}
    host = ""
    kept = []
    for h in modifier.set:
        if host_allowed and h.name.lower() == "host":
            host = h.value
        else:
            kept.append({"name": h.name, "value": h.value})
    if kept:
        out["set"] = kept
    if modifier.remove:
        out["remove"] = list(modifier.remove)
    return out, host


def _header_filters(
    spec: dict[str, Any], namespace: str, where: str, note: Noter
) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    for field, kind, key in (
        ("requestHeadersPolicy", "RequestHeaderModifier", "requestHeaderModifier"),
        ("responseHeadersPolicy", "ResponseHeaderModifier", "responseHeaderModifier"),
    ):
        # values as Contour hands them to Envoy ("%%" for a literal "%", its variables
        # expanded), which is how HTTPRoute header values reach Envoy too
        modifier = p.header_modifier(spec.get(field), route_variables(namespace), _ignore, field)
        if modifier is None:
            continue
        body, host = _modifier(modifier, host_allowed=kind.startswith("Request"))
        if body:
            filters.append({"type": kind, key: body})
        if host:
            filters.append(_url_rewrite(hostname=host))
        written = [text(h.get("value")) for h in dicts(mapping(spec.get(field)).get("set"))]
        if any("%" in v for v in written):
            note(
                APPROXIMATED,
                f"{where}: {field} values with '%' are written as Envoy reads them ('%%' for "
                "a literal '%', Contour's variables expanded); other Gateway API "
                "implementations may send them literally",
            )
    return filters


def _url_rewrite(**fields: str) -> dict[str, Any]:
    rewrite: dict[str, Any] = {}
    if "hostname" in fields:
        rewrite["hostname"] = fields["hostname"]
    if "path" in fields:
        rewrite["path"] = {"type": "ReplacePrefixMatch", "replacePrefixMatch": fields["path"]}
    return {"type": "URLRewrite", "urlRewrite": rewrite}


def _merge_rewrites(filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most one URLRewrite filter per rule: merge the hostname and path parts."""
    merged: dict[str, Any] = {}
    out = []
    for f in filters:
        if f["type"] != "URLRewrite":
            out.append(f)
            continue
        if not merged:
            out.append({"type": "URLRewrite", "urlRewrite": merged})
        merged.update(f["urlRewrite"])
    return out


def _timeouts_and_retry(spec: dict[str, Any], where: str, note: Noter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    timeouts: dict[str, str] = {}
    found = p.timeouts(spec.get("timeoutPolicy"), _ignore)
    if found is not None:
        if found.request is not None:
            timeouts["request"] = gateway_duration(found.request)
        if found.idle is not None:
            note(NOT_EXPRESSED, f"{where}: timeoutPolicy.idle has no HTTPRoute equivalent")
    if "idleConnection" in mapping(spec.get("timeoutPolicy")):
        note(NOT_EXPRESSED, f"{where}: timeoutPolicy.idleConnection has no HTTPRoute equivalent")
    retry = p.retry(spec.get("retryPolicy"), _ignore)
    if retry is not None:
        if retry.per_try_timeout is not None:
            per_try = retry.per_try_timeout
            if found is not None and found.request and per_try > found.request:
                # Gateway API refuses a longer per-try timeout; the request's ends first anyway
                per_try = found.request
            timeouts["backendRequest"] = gateway_duration(per_try)
        codes = {c for cond in retry.retry_on for c in RETRY_CODES.get(cond, ())}
        if "retriable-status-codes" in retry.retry_on:
            codes.update(retry.status_codes)
        other = [
            c
            for c in retry.retry_on
            if c not in RETRY_CODES and c not in RETRIED_ANYWAY and c != "retriable-status-codes"
        ]
        if other:
            note(
                NOT_EXPRESSED,
                f"{where}: retry conditions {', '.join(other)} have no HTTPRoute equivalent",
            )
        if "5xx" in retry.retry_on:
            note(APPROXIMATED, f"{where}: retryOn 5xx became the status codes 500-511")
        if retry.attempts > 0:
            out["retry"] = {"attempts": retry.attempts}
            if codes:
                out["retry"]["codes"] = sorted(codes)
    if timeouts:
        out["timeouts"] = timeouts
    return out
