"""GRPCRoutes: compiled into the same `CompiledRoute` as HTTPRoutes and attached by the same
code (`httproute.translate_httproute`), so parentRefs, listener hostnames, conditions and
backend resolution behave alike. What differs is here: method matches become path matches
(`grpc_matches`), the filters a rule may carry, and backends are HTTP/2 (`backends.py` makes
every GRPCRoute cluster h2c, or h2 under a BackendTLSPolicy).

Precedence between matches is the HTTPRoute order applied to the resulting paths: an exact
`/service/method` wins over a whole service, a longer service over a shorter one, then more
header matches, then the older route. Calls that would go to an invalid backend get
UNAVAILABLE (HTTP 503), as the GRPCRoute spec asks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.gatewayapi.age import Age
from gateway_contour.translate.gatewayapi.backends import GRPC_ROUTE as KIND
from gateway_contour.translate.gatewayapi.backends import BackendResolver
from gateway_contour.translate.gatewayapi.filters import parse_filters
from gateway_contour.translate.gatewayapi.grpc_matches import grpc_match
from gateway_contour.translate.gatewayapi.httproute import RouteContext, translate_httproute
from gateway_contour.translate.gatewayapi.matches import match_precedence
from gateway_contour.translate.gatewayapi.rules import (
    CompiledMatch,
    CompiledRoute,
    CompiledRule,
    RouteError,
    compile_backends,
    compile_route,
)

UNAVAILABLE = 503  # what gRPC clients read as UNAVAILABLE

# the filter types of a GRPCRouteRule (ExtensionRef has no extension to refer to here)
GRPC_FILTERS = frozenset({"RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror"})


def translate_grpcroute(
    route: KubeObject,
    resolver: BackendResolver,
    ctx: RouteContext,
    compiled: CompiledRoute | None = None,
) -> tuple[dict[str, Any] | None, CompiledRoute | None]:
    """Attach one (defaulted) GRPCRoute; its desired status and compiled form."""
    return translate_httproute(route, resolver, ctx, compiled, compile_grpcroute)


def compile_grpcroute(route: KubeObject, resolver: BackendResolver) -> CompiledRoute:
    return compile_route(route, resolver, KIND, _compile_rule)


def _compile_rule(
    compiled: CompiledRoute,
    rule_index: int,
    rule: dict[str, Any],
    age: Age,
    resolver: BackendResolver,
) -> None:
    filters = parse_filters(rule.get("filters"), GRPC_FILTERS)
    matches = rule.get("matches") or [{}]  # no matches: every call
    if not isinstance(matches, list):
        raise RouteError(f"rule {rule_index}: matches must be a list")
    for match_index, raw in enumerate(matches):
        match = grpc_match(raw)
        precedence = (*match_precedence(match), *age, rule_index, match_index)
        compiled.matches.append(CompiledMatch(rule_index, match_index, match, None, precedence))
    forward, mirrors, _ = compile_backends(compiled, rule_index, rule, filters, resolver)
    # the share of calls meant for invalid backends gets UNAVAILABLE (HTTP 503), not 500
    forward = replace(forward, unavailable_status=UNAVAILABLE)
    compiled.rules.append(
        CompiledRule(
            filters=filters, forward=forward, mirrors=mirrors, timeouts=None, websocket=False
        )
    )
