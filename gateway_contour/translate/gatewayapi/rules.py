"""HTTPRoute rules -> ir Routes: each route is compiled once (matches, filters, backends,
timeouts) into a `CompiledRoute`, which then yields its ir Routes, with their precedence
keys, for each listener port and scheme it is attached to.

Anything the translator cannot express raises inside compilation and ends up in
`CompiledRoute.error` (the route's Accepted False / UnsupportedValue); unresolvable backends
are collected in `unresolved` and keep their share of the weight as `invalid_weight`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway_contour.ir.model import (
    Cluster,
    Forward,
    Match,
    Mirror,
    Redirect,
    RetryPolicy,
    Rewrite,
    Route,
    Timeouts,
    WeightedCluster,
)
from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.envoy_checks.limits import count_error
from gateway_contour.translate.gatewayapi.age import Age, age
from gateway_contour.translate.gatewayapi.backends import BackendResolver
from gateway_contour.translate.gatewayapi.filters import (
    BACKEND_FILTERS,
    FilterError,
    RuleFilters,
    mirror_percent,
    parse_filters,
    redirect_for,
    rewrite_for,
)
from gateway_contour.translate.gatewayapi.gateway import SortKey
from gateway_contour.translate.gatewayapi.hostnames import hostname_error
from gateway_contour.translate.gatewayapi.matches import MatchError, http_match, match_precedence

KIND = "HTTPRoute"
MAX_WEIGHT = 1_000_000
_DURATION = re.compile(r"^(?:[0-9]{1,5}(?:h|m|s|ms)){1,4}$")
_DURATION_PART = re.compile(r"([0-9]{1,5})(h|ms|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


class RouteError(ValueError):
    pass


@dataclass(slots=True)
class CompiledMatch:
    rule: int
    index: int
    match: Match
    rewrite: Rewrite | None
    precedence: SortKey


@dataclass(slots=True)
class CompiledRule:
    filters: RuleFilters
    forward: Forward
    mirrors: tuple[Mirror, ...]
    timeouts: Timeouts | None
    websocket: bool
    retry: RetryPolicy | None = None


@dataclass(slots=True)
class CompiledRoute:
    namespace: str
    name: str
    hostnames: tuple[str, ...]
    matches: list[CompiledMatch] = field(default_factory=list)
    rules: list[CompiledRule] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    unresolved: list[tuple[str, str]] = field(default_factory=list)
    # (namespace, name) of every Service a backendRef names, when the resolver asks for
    # them (BackendTLSPolicy ancestors; None otherwise, to spare 10k empty sets)
    services: set[tuple[str, str]] | None = None
    error: str | None = None  # why the route cannot be programmed (UnsupportedValue)
    kind: str = KIND  # HTTPRoute, or GRPCRoute (compiled by grpcroute.py)
    _by_listener: dict[tuple[int, str], list[tuple[SortKey, Route]]] = field(default_factory=dict)

    def routes_for(self, port: int, scheme: str) -> list[tuple[SortKey, Route]]:
        """The ir Routes with their precedence keys, for a listener on `port`."""
        cached = self._by_listener.get((port, scheme))
        if cached is not None:
            return cached
        out = []
        source = f"{self.kind}/{self.namespace}/{self.name}"
        prefix = f"{self.kind.lower()}/{self.namespace}/{self.name}"
        for m in self.matches:
            rule = self.rules[m.rule]
            action: Forward | Redirect = rule.forward
            if rule.filters.redirect is not None:
                action = redirect_for(rule.filters.redirect, m.match, port, scheme)
            route = Route(
                name=f"{prefix}/rule/{m.rule}/match/{m.index}",
                match=m.match,
                action=action,
                request_headers=rule.filters.request_headers,
                response_headers=rule.filters.response_headers,
                rewrite=m.rewrite,
                mirrors=rule.mirrors,
                timeouts=rule.timeouts,
                retry=rule.retry,
                cors=rule.filters.cors,
                websocket=rule.websocket,
                source=source,
            )
            out.append((m.precedence, route))
        self._by_listener[(port, scheme)] = out
        return out


RuleCompiler = Callable[[CompiledRoute, int, dict[str, Any], Age, BackendResolver], None]


def compile_route(
    route: KubeObject,
    resolver: BackendResolver,
    kind: str = KIND,
    compile_rule: RuleCompiler | None = None,
) -> CompiledRoute:
    """Compile a (defaulted) route: its hostnames here, each rule with `compile_rule` (an
    HTTPRoute rule by default)."""
    compile_rule = compile_rule or _compile_rule
    meta = route["metadata"]
    spec = route.get("spec") or {}
    namespace, name = meta["namespace"], meta["name"]
    raw_hostnames = spec.get("hostnames") or []
    hostnames = tuple(raw_hostnames) if isinstance(raw_hostnames, list) else ()
    compiled = CompiledRoute(namespace, name, hostnames, kind=kind)
    try:
        if not isinstance(raw_hostnames, list):
            raise RouteError("hostnames must be a list")
        for hostname in hostnames:
            if not isinstance(hostname, str):
                raise RouteError(f"hostname {hostname!r} is not a string")
            if error := hostname_error(hostname):
                raise RouteError(error)
        route_age = age(meta)
        for rule_index, rule in enumerate(_list(spec.get("rules"), "rules")):
            if not isinstance(rule, dict):
                raise RouteError(f"rule {rule_index} is not a mapping")
            compile_rule(compiled, rule_index, rule, route_age, resolver)
    except (RouteError, MatchError, FilterError) as err:
        compiled.error = str(err)
        # attachment still looks at the hostnames (for the condition's reason): keep the
        # well-formed ones
        compiled.hostnames = tuple(
            h for h in hostnames if isinstance(h, str) and not hostname_error(h)
        )
    return compiled


def _compile_rule(
    compiled: CompiledRoute,
    rule_index: int,
    rule: dict[str, Any],
    age: Age,
    resolver: BackendResolver,
) -> None:
    filters = parse_filters(rule.get("filters"))
    for match_index, raw in enumerate(_list(rule.get("matches"), f"rule {rule_index}: matches")):
        match = http_match(raw)
        rewrite = rewrite_for(filters.rewrite, match) if filters.rewrite is not None else None
        if filters.redirect is not None:
            redirect_for(filters.redirect, match, 80, "http")  # validates the filter once
        precedence = (*match_precedence(match), *age, rule_index, match_index)
        compiled.matches.append(CompiledMatch(rule_index, match_index, match, rewrite, precedence))
    forward, mirrors, websocket = compile_backends(compiled, rule_index, rule, filters, resolver)
    compiled.rules.append(
        CompiledRule(
            filters=filters,
            forward=forward,
            mirrors=mirrors,
            timeouts=_timeouts(rule.get("timeouts"), rule_index),
            websocket=websocket,
            retry=_retry(rule.get("retry"), rule_index),
        )
    )


def compile_backends(
    compiled: CompiledRoute,
    rule_index: int,
    rule: dict[str, Any],
    filters: RuleFilters,
    resolver: BackendResolver,
) -> tuple[Forward, tuple[Mirror, ...], bool]:
    """A rule's backendRefs and requestMirror filters: its Forward action, its mirrors, and
    whether a backend speaks WebSocket. Their clusters and unresolved references are noted
    on `compiled`."""
    clusters: list[WeightedCluster] = []
    invalid_weight = 0
    websocket = False
    for ref in _list(rule.get("backendRefs"), f"rule {rule_index}: backendRefs"):
        if not isinstance(ref, dict):
            raise RouteError(f"rule {rule_index}: a backendRef must be a mapping")
        weight = ref.get("weight", 1)
        if not isinstance(weight, int) or not 0 <= weight <= MAX_WEIGHT:
            raise RouteError(f"rule {rule_index}: backend weight {weight!r} is out of range")
        backend_filters = parse_filters(ref.get("filters"), BACKEND_FILTERS)
        if resolver.tracks_services:
            if compiled.services is None:
                compiled.services = set()
            compiled.services.add(
                (str(ref.get("namespace") or compiled.namespace), str(ref.get("name", "")))
            )
        resolved = resolver.resolve(ref, compiled.kind, compiled.namespace)
        if resolved.cluster is None:
            if resolved.error is not None:
                compiled.unresolved.append(resolved.error)
            invalid_weight += weight
            continue
        compiled.clusters[resolved.cluster.name] = resolved.cluster
        websocket = websocket or resolved.websocket
        clusters.append(
            WeightedCluster(
                resolved.cluster.name,
                weight,
                request_headers=backend_filters.request_headers,
                response_headers=backend_filters.response_headers,
            )
        )

    mirrors = []
    for body in filters.mirrors:
        ref = body.get("backendRef")
        if not isinstance(ref, dict):
            raise RouteError(f"rule {rule_index}: requestMirror needs a backendRef")
        percent = mirror_percent(body)
        resolved = resolver.resolve(ref, compiled.kind, compiled.namespace)
        if resolved.cluster is None:
            if resolved.error is not None:
                compiled.unresolved.append(resolved.error)
            continue
        compiled.clusters[resolved.cluster.name] = resolved.cluster
        mirrors.append(Mirror(resolved.cluster.name, percent))
    forward = Forward(clusters=tuple(clusters), invalid_weight=invalid_weight)
    return forward, tuple(mirrors), websocket


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RouteError(f"{what} must be a list")
    return value


def _timeouts(raw: Any, rule_index: int) -> Timeouts | None:
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise RouteError(f"rule {rule_index}: timeouts must be a mapping")
    request = _duration(raw.get("request"), rule_index)
    backend = _duration(raw.get("backendRequest"), rule_index)
    if request is None and backend is None:
        return None
    return Timeouts(request=request, backend_request=backend)


# retried when the rule names no status codes, and always with them: connection failures
RETRY_ON_CONNECTION = ("connect-failure", "refused-stream", "reset")
DEFAULT_RETRY_ATTEMPTS = 1


def _retry(raw: Any, rule_index: int) -> RetryPolicy | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise RouteError(f"rule {rule_index}: retry must be a mapping")
    codes = raw.get("codes") or []
    if not isinstance(codes, list) or not all(
        isinstance(code, int) and 400 <= code <= 599 for code in codes
    ):
        raise RouteError(f"rule {rule_index}: retry codes must be HTTP status codes 400-599")
    attempts = raw.get("attempts", DEFAULT_RETRY_ATTEMPTS)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        raise RouteError(f"rule {rule_index}: retry attempts {attempts!r} must be at least 1")
    if reason := count_error(attempts, "retry attempts"):
        raise RouteError(f"rule {rule_index}: {reason}")
    return RetryPolicy(
        attempts=attempts,
        retry_on=RETRY_ON_CONNECTION,
        status_codes=tuple(sorted(set(codes))),
        backoff_base=_duration(raw.get("backoff"), rule_index),
    )


def _duration(value: Any, rule_index: int) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _DURATION.match(value):
        raise RouteError(f"rule {rule_index}: {value!r} is not a Gateway API duration")
    return sum(int(n) * _SECONDS[unit] for n, unit in _DURATION_PART.findall(value))
