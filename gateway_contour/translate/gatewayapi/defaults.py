"""The defaults the Gateway API CRDs declare, applied in one place.

Objects read from files never pass through an API server, so the defaults its OpenAPI schema
would fill in are missing. These functions return copies with them filled in; the input is
never mutated (only the mappings and lists on the way to a changed field are copied), and an
object that already has its defaults comes back as the very same object.

Defaults applied: Gateway listeners' allowedRoutes.namespaces.from Same, allowedRoutes.kinds
group, tls.mode Terminate, certificateRefs group "" kind Secret; HTTPRoute parentRefs group
gateway.networking.k8s.io kind Gateway, rules [] -> one rule, matches [] -> PathPrefix "/",
path type PathPrefix value "/", header and query match type Exact, backendRefs group ""
kind Service weight 1, requestRedirect statusCode 302, requestMirror backendRef group/kind;
GRPCRoute the same for parentRefs, backendRefs and filters, method and header match type Exact.

Semantic defaults that are not in the schema (a parentRef's namespace is the route's) are the
translator's business, not this module's. This runs for every route on every rebuild, so it
is written for speed rather than generality.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.gatewayapi.conditions import GROUP

Data = dict[str, Any]


def _list(value: Any, fn: Callable[[Data], Data]) -> Any:
    """`value` with `fn` applied to each mapping in it; the same list when nothing changed."""
    if not isinstance(value, list):
        return value
    out = None
    for i, item in enumerate(value):
        if isinstance(item, dict):
            new = fn(item)
            if new is not item:
                if out is None:
                    out = list(value)
                out[i] = new
    return value if out is None else out


def _lists(obj: Data, fields: tuple[tuple[str, Callable[[Data], Data]], ...]) -> Data:
    """`obj` with `_list(obj[key], fn)` for each (key, fn) whose list is present."""
    out = obj
    for key, fn in fields:
        value = obj.get(key)
        if value is not None:
            new = _list(value, fn)
            if new is not value:
                out = _set(out, key, new)
    return out


def _set(obj: Data, key: str, value: Any) -> Data:
    """`obj` with `key` set to `value`: `obj` itself when it already holds that object."""
    if obj.get(key) is value:
        return obj
    out = dict(obj)
    out[key] = value
    return out


def _kind_defaults(ref: Data, group: str, kind: str) -> Data:
    if ref.get("group") is not None and ref.get("kind") is not None:
        return ref
    out = dict(ref)
    if out.get("group") is None:
        out["group"] = group
    if out.get("kind") is None:
        out["kind"] = kind
    return out


# ---------------------------------------------------------------- Gateway


def gateway_with_defaults(gateway: KubeObject) -> KubeObject:
    spec = gateway.get("spec")
    if not isinstance(spec, dict):
        return gateway
    listeners = _list(spec.get("listeners"), _listener)
    if listeners is spec.get("listeners"):
        return gateway
    return _set(gateway, "spec", _set(spec, "listeners", listeners))


def _listener(listener: Data) -> Data:
    raw_allowed = listener.get("allowedRoutes")
    allowed = _allowed_routes(raw_allowed if isinstance(raw_allowed, dict) else {})
    out = listener if raw_allowed is allowed else _set(listener, "allowedRoutes", allowed)
    tls = out.get("tls")
    if isinstance(tls, dict):
        new_tls = tls if tls.get("mode") is not None else _set(tls, "mode", "Terminate")
        refs = _list(new_tls.get("certificateRefs"), _certificate_ref)
        if refs is not new_tls.get("certificateRefs"):
            new_tls = _set(new_tls, "certificateRefs", refs)
        out = _set(out, "tls", new_tls)
    return out


def _certificate_ref(ref: Data) -> Data:
    return _kind_defaults(ref, "", "Secret")


def _allowed_routes(allowed: Data) -> Data:
    raw_namespaces = allowed.get("namespaces")
    namespaces = raw_namespaces if isinstance(raw_namespaces, dict) else {}
    if namespaces.get("from") is None:
        namespaces = _set(namespaces, "from", "Same")
    out = _set(allowed, "namespaces", namespaces)
    kinds = _list(out.get("kinds"), _route_kind)
    return out if kinds is out.get("kinds") else _set(out, "kinds", kinds)


def _route_kind(kind: Data) -> Data:
    return kind if kind.get("group") is not None else _set(kind, "group", GROUP)


# ---------------------------------------------------------------- HTTPRoute


def httproute_with_defaults(route: KubeObject) -> KubeObject:
    spec = route.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    parent_refs = spec.get("parentRefs")
    new_parent_refs = _list(parent_refs, parent_ref_with_defaults)
    rules = spec.get("rules")
    new_rules = _list(rules, _rule) if rules is not None else [_rule({})]
    if new_parent_refs is parent_refs and new_rules is rules and route.get("spec") is spec:
        return route
    new_spec = dict(spec)
    if parent_refs is not None:
        new_spec["parentRefs"] = new_parent_refs
    new_spec["rules"] = new_rules
    return _set(route, "spec", new_spec)


def parent_ref_with_defaults(ref: Data) -> Data:
    return _kind_defaults(ref, GROUP, "Gateway")


def backend_ref_with_defaults(ref: Data) -> Data:
    out = _kind_defaults(ref, "", "Service")
    return out if out.get("weight") is not None else _set(out, "weight", 1)


def _rule(rule: Data) -> Data:
    out = rule
    matches = rule.get("matches")
    new_matches = _list(matches, _match) if matches else [_match({})]
    if new_matches is not matches:
        out = _set(out, "matches", new_matches)
    return _lists(out, (("filters", _filter), ("backendRefs", _http_backend_ref)))


def _http_backend_ref(ref: Data) -> Data:
    out = backend_ref_with_defaults(ref)
    filters = out.get("filters")
    if filters is None:
        return out
    new = _list(filters, _filter)
    return out if new is filters else _set(out, "filters", new)


def _match(match: Data) -> Data:
    out = match
    path = match.get("path")
    if not isinstance(path, dict):
        out = _set(out, "path", {"type": "PathPrefix", "value": "/"})
    elif path.get("type") is None or path.get("value") is None:
        new_path = dict(path)
        new_path.setdefault("type", "PathPrefix")
        new_path.setdefault("value", "/")
        if new_path["type"] is None:
            new_path["type"] = "PathPrefix"
        if new_path["value"] is None:
            new_path["value"] = "/"
        out = _set(out, "path", new_path)
    return _lists(out, (("headers", _exact_type), ("queryParams", _exact_type)))


def _exact_type(item: Data) -> Data:
    return item if item.get("type") is not None else _set(item, "type", "Exact")


def _filter(filter_: Data) -> Data:
    redirect = filter_.get("requestRedirect")
    if isinstance(redirect, dict) and redirect.get("statusCode") is None:
        return _set(filter_, "requestRedirect", _set(redirect, "statusCode", 302))
    mirror = filter_.get("requestMirror")
    if isinstance(mirror, dict) and isinstance(mirror.get("backendRef"), dict):
        ref = mirror["backendRef"]
        new_ref = _kind_defaults(ref, "", "Service")
        if new_ref is not ref:
            return _set(filter_, "requestMirror", _set(mirror, "backendRef", new_ref))
    return filter_


# ---------------------------------------------------------------- GRPCRoute


def grpcroute_with_defaults(route: KubeObject) -> KubeObject:
    """GRPCRoute: parentRefs and backendRefs as for HTTPRoute, method and header match type
    Exact. A rule without matches stays so (it matches every call); no rules stay none."""
    spec = route.get("spec")
    if not isinstance(spec, dict):
        return route
    parent_refs = spec.get("parentRefs")
    new_parent_refs = _list(parent_refs, parent_ref_with_defaults)
    rules = spec.get("rules")
    new_rules = _list(rules, _grpc_rule)
    if new_parent_refs is parent_refs and new_rules is rules:
        return route
    new_spec = dict(spec)
    if parent_refs is not None:
        new_spec["parentRefs"] = new_parent_refs
    if rules is not None:
        new_spec["rules"] = new_rules
    return _set(route, "spec", new_spec)


def _grpc_rule(rule: Data) -> Data:
    return _lists(
        rule,
        (("matches", _grpc_match), ("filters", _filter), ("backendRefs", _http_backend_ref)),
    )


def _grpc_match(match: Data) -> Data:
    out = match
    method = match.get("method")
    if isinstance(method, dict) and method.get("type") is None:
        out = _set(out, "method", _set(method, "type", "Exact"))
    return _lists(out, (("headers", _exact_type),))
