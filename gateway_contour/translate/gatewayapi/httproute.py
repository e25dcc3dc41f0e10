"""HTTPRoutes: attach each route to the listeners its parentRefs select, add its routes to
the virtual hosts of those listeners, and write its per-parent status (Accepted,
ResolvedRefs). Compiling the route itself is `rules.py`'s job.

A route with something the translator cannot express (an unsupported filter or match, an
invalid hostname) is not programmed at all and reports Accepted False / UnsupportedValue.
Unresolvable backends do not stop a route: their share of the weight answers 500, and
ResolvedRefs says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway_contour.ir.model import Cluster
from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.data import dicts, mapping
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.backends import BackendResolver
from gateway_contour.translate.gatewayapi.gateway import GatewayState
from gateway_contour.translate.gatewayapi.hostnames import intersect
from gateway_contour.translate.gatewayapi.listeners import ListenerState
from gateway_contour.translate.gatewayapi.rules import KIND, CompiledRoute, compile_route


@dataclass(slots=True)
class RouteContext:
    """What route attachment needs from the rest of the translation."""

    gateways: Mapping[tuple[str, str], GatewayState]
    # Gateways of other classes: parentRefs to them are another controller's business
    foreign_gateways: set[tuple[str, str]]
    namespace_labels: Callable[[str], Mapping[str, Any]]
    add_cluster: Callable[[Cluster], None]
    controller_name: str


def translate_httproute(
    route: KubeObject,
    resolver: BackendResolver,
    ctx: RouteContext,
    compiled: CompiledRoute | None = None,
) -> tuple[dict[str, Any] | None, CompiledRoute | None]:
    """Attach one (defaulted) HTTPRoute, compiling it unless `compiled` is given. Returns
    its desired status (None when none of its parentRefs is ours) and its compiled form."""
    meta = route["metadata"]
    namespace = meta["namespace"]
    generation = c.generation_of(route)
    refs = dicts(mapping(route.get("spec")).get("parentRefs"))
    ours = []
    for ref in refs:
        if ref.get("group") != c.GROUP or ref.get("kind") != "Gateway":
            continue
        target = (str(ref.get("namespace") or namespace), str(ref.get("name", "")))
        if target in ctx.foreign_gateways:
            continue
        ours.append((ref, target))
    if not ours:
        return None, compiled

    if compiled is None:
        compiled = compile_route(route, resolver)
    parents = []
    attached: set[int] = set()
    for ref, target in ours:
        gateway = ctx.gateways.get(target)
        if gateway is None:
            accepted = (
                False,
                c.REASON_NO_MATCHING_PARENT,
                f"Gateway {target[0]}/{target[1]} not found",
            )
        else:
            candidates = _selected_listeners(gateway, ref)
            # attachedRoutes counts what parentRefs select and allowedRoutes admits, whatever
            # the route's or the listener's own conditions (the ListenerStatus contract)
            for listener in candidates:
                if id(listener) not in attached and _allows(listener, namespace, gateway, ctx):
                    attached.add(id(listener))
                    listener.attached_routes += 1
            if compiled.error is not None:
                accepted = (False, c.REASON_UNSUPPORTED_VALUE, compiled.error)
            else:
                accepted = _attach(compiled, ref, candidates, namespace, gateway, ctx)
        parents.append(_parent_status(ref, target, accepted, compiled, generation, ctx))
    return {"parents": parents}, compiled


def _selected_listeners(gateway: GatewayState, ref: Mapping[str, Any]) -> list[ListenerState]:
    candidates = gateway.listeners
    section, port = ref.get("sectionName"), ref.get("port")
    if section is not None:
        candidates = [s for s in candidates if s.name == section]
    if port is not None:
        candidates = [s for s in candidates if s.port == port]
    return candidates


def _allows(
    listener: ListenerState, namespace: str, gateway: GatewayState, ctx: RouteContext
) -> bool:
    return KIND in listener.supported_kinds and listener.allows_namespace(
        namespace, gateway.namespace, ctx.namespace_labels
    )


def _attach(
    compiled: CompiledRoute,
    ref: Mapping[str, Any],
    candidates: list[ListenerState],
    namespace: str,
    gateway: GatewayState,
    ctx: RouteContext,
) -> tuple[bool, str, str]:
    section, port = ref.get("sectionName"), ref.get("port")
    if not candidates:
        what = " ".join(
            part
            for part in (
                f"sectionName {section!r}" if section is not None else "",
                f"port {port}" if port is not None else "",
            )
            if part
        )
        return (
            False,
            c.REASON_NO_MATCHING_PARENT,
            f"Gateway {gateway.full_name} has no listener with {what}",
        )
    ready = [s for s in candidates if s.ready]
    if not ready:
        names = ", ".join(s.name for s in candidates)
        return (False, c.REASON_NO_MATCHING_PARENT, f"listeners not valid: {names}")
    allowed = [s for s in ready if _allows(s, namespace, gateway, ctx)]
    if not allowed:
        return (
            False,
            c.REASON_NOT_ALLOWED_BY_LISTENERS,
            f"no listener of Gateway {gateway.full_name} allows HTTPRoutes "
            f"from namespace {namespace}",
        )
    matched: list[tuple[ListenerState, tuple[str, ...]]] = []
    for listener in allowed:
        hostnames = intersect(listener.hostname, compiled.hostnames)
        if hostnames:
            matched.append((listener, hostnames))
    if not matched:
        return (
            False,
            c.REASON_NO_MATCHING_LISTENER_HOSTNAME,
            "no hostname of the route matches a listener hostname",
        )
    for listener, hostnames in matched:
        scheme = "https" if listener.protocol == "HTTPS" else "http"
        routes = compiled.routes_for(listener.port, scheme)
        for hostname in hostnames:
            gateway.add_routes(listener, hostname, routes)
    for cluster in compiled.clusters.values():
        ctx.add_cluster(cluster)
    return (True, c.REASON_ACCEPTED, "Route is accepted")


def _parent_status(
    ref: Mapping[str, Any],
    target: tuple[str, str],
    accepted: tuple[bool, str, str],
    compiled: CompiledRoute,
    generation: int,
    ctx: RouteContext,
) -> dict[str, Any]:
    parent_ref: dict[str, Any] = {
        "group": ref.get("group"),
        "kind": ref.get("kind"),
        "namespace": target[0],
        "name": target[1],
    }
    for key in ("sectionName", "port"):
        if ref.get(key) is not None:
            parent_ref[key] = ref[key]
    if compiled.unresolved:
        reason = compiled.unresolved[0][0]
        message = "; ".join(dict.fromkeys(m for _, m in compiled.unresolved))
        resolved = c.condition(c.RESOLVED_REFS, False, reason, message, generation)
    else:
        resolved = c.condition(
            c.RESOLVED_REFS, True, c.REASON_RESOLVED_REFS, "References resolved", generation
        )
    return {
        "parentRef": parent_ref,
        "controllerName": ctx.controller_name,
        "conditions": [c.condition(c.ACCEPTED, *accepted, generation), resolved],
    }
