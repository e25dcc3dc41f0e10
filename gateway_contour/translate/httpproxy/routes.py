"""One HTTPProxy route (with the conditions of the includes that led to it) -> an IR Route.

A route does exactly one thing: forward to `services`, answer a `requestRedirectPolicy`, or
answer a `directResponsePolicy`. Its policies (timeouts, retries, headers, rewrite,
websockets, IP filter, local rate limit) ride along (a Host set from another header becomes
a host rewrite: `host_rewrite`); `permitInsecure` is returned beside the
route because it decides what the plain HTTP listener does with it on a TLS virtual host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway_contour.ir.model import Action, Route
from gateway_contour.translate.httpproxy import policies as p
from gateway_contour.translate.httpproxy import status as s
from gateway_contour.translate.httpproxy.conditions import Conditions, parse_block
from gateway_contour.translate.httpproxy.header_values import route_variables
from gateway_contour.translate.httpproxy.host_rewrite import split_host_from_header
from gateway_contour.translate.httpproxy.services import Upstreams, route_backends
from gateway_contour.translate.httpproxy.status import ProxyStatus

ErrorSink = Callable[[str, str, str], None]


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    route: Route
    conditions: Conditions
    permit_insecure: bool = False


def compile_route(
    spec: dict[str, Any],
    inherited: Conditions,
    namespace: str,
    name: str,
    index: int,
    upstreams: Upstreams,
    status: ProxyStatus,
) -> CompiledRoute | None:
    """The route, or None after reporting its errors on `status` (warnings go there too)."""
    error = status.error
    failed: list[bool] = []

    def noting(type_: str, reason: str, message: str) -> None:
        failed.append(True)
        error(type_, reason, f"route {index}: {message}")

    own = parse_block(spec.get("conditions"))
    if isinstance(own, str):
        noting(s.ROUTE_ERROR, "MatchConditionsNotValid", own)
        return None
    merged = inherited.then(own)
    if isinstance(merged, str):
        noting(s.ROUTE_ERROR, "MatchConditionsNotValid", merged)
        return None
    prefix = merged.prefix
    chosen = [
        k for k in ("services", "requestRedirectPolicy", "directResponsePolicy") if spec.get(k)
    ]
    if len(chosen) != 1:
        noting(
            s.ROUTE_ERROR,
            "RouteActionNotValid",
            "must set exactly one of services, requestRedirectPolicy or directResponsePolicy",
        )
        return None
    action: Action | None
    mirrors: tuple[Any, ...] = ()
    if chosen[0] == "services":
        backends = route_backends(spec, namespace, upstreams, noting, status.warn)
        if backends is None:
            return None
        action, mirrors = backends.forward, backends.mirrors
    elif chosen[0] == "requestRedirectPolicy":
        action = p.redirect(spec.get("requestRedirectPolicy"), prefix, noting)
    else:
        action = p.direct_response(spec.get("directResponsePolicy"), noting)
    if action is None:
        return None
    variables = route_variables(namespace)
    request_headers, rewrite = split_host_from_header(
        p.header_modifier(
            spec.get("requestHeadersPolicy"), variables, noting, "requestHeadersPolicy"
        ),
        p.path_rewrite(spec.get("pathRewritePolicy"), prefix, noting),
    )
    route = Route(
        name=f"httpproxy/{namespace}/{name}/route/{index}",
        match=merged.to_match(),
        action=action,
        request_headers=request_headers,
        response_headers=p.header_modifier(
            spec.get("responseHeadersPolicy"), variables, noting, "responseHeadersPolicy"
        ),
        rewrite=rewrite,
        mirrors=mirrors,
        timeouts=p.timeouts(spec.get("timeoutPolicy"), noting),
        retry=p.retry(spec.get("retryPolicy"), noting),
        websocket=spec.get("enableWebsockets") is True,
        ip_filter=p.ip_filter(spec.get("ipAllowPolicy"), spec.get("ipDenyPolicy"), noting),
        rate_limit=p.rate_limit(spec.get("rateLimitPolicy"), noting),
        hash_policies=p.hash_policies(spec.get("loadBalancerPolicy"), noting),
        source=f"HTTPProxy/{namespace}/{name}",
    )
    if failed:
        return None
    return CompiledRoute(route, merged, permit_insecure=spec.get("permitInsecure") is True)


def route_sort_key(compiled: CompiledRoute) -> tuple[int, int, int, int]:
    """Most specific first: exact paths, then regexes, then longer prefixes; more header
    and query conditions before fewer. (Ties keep their order: the sort is stable.)"""
    conds = compiled.conditions
    kind_rank = {"Exact": 0, "RegularExpression": 1}.get(conds.path_kind.value, 2)
    return (kind_rank, -len(conds.path), -len(conds.headers), -len(conds.query))
