"""HTTPRoutes: attach each route to the listeners its parentRefs select, add its routes to
the virtual hosts of those listeners, and write its per-parent status (Accepted,
ResolvedRefs). Compiling the route itself is `rules.py`'s job.

Attachment, per parentRef, in the order the reasons are given: a listener must match the
sectionName/port (else NoMatchingParent), allow the HTTPRoute kind and the route's namespace
(else NotAllowedByListeners), be accepted (else NoMatchingParent) and share a hostname with
the route (else NoMatchingListenerHostname). An accepted route counts in `attachedRoutes` of
every such listener, even one that is not programmed for want of a certificate (the
ListenerStatus contract); it is programmed only into ready listeners.

A route with something the translator cannot express (an unsupported filter or match, an
invalid hostname) is not programmed at all and reports Accepted False / UnsupportedValue.
Unresolvable backends do not stop a route: their share of the weight answers 500, and
ResolvedRefs says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway_contour.ir.model import Cluster
from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.data import dicts, mapping
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.backends import BackendResolver
from gateway_contour.translate.gatewayapi.gateway import GatewayState
from gateway_contour.translate.gatewayapi.hostnames import intersect
from gateway_contour.translate.gatewayapi.listeners import ListenerState
from gateway_contour.translate.gatewayapi.listenersets import KIND as LISTENER_SET
from gateway_contour.translate.gatewayapi.listenersets import ListenerSetState
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
    # told the Services an accepted route sends to through a Gateway
    note_services: Callable[[GatewayState, set[tuple[str, str]]], None] | None = None
    # ListenerSets of our Gateways by (namespace, name)
    listener_sets: Mapping[tuple[str, str], ListenerSetState] = field(default_factory=dict)


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
        if ref.get("group") != c.GROUP:
            continue
        target = (str(ref.get("namespace") or namespace), str(ref.get("name", "")))
        if ref.get("kind") == "Gateway":
            if target in ctx.foreign_gateways:
                continue
        elif ref.get("kind") != LISTENER_SET or target not in ctx.listener_sets:
            continue  # a ListenerSet not found among ours is another controller's, or none
        ours.append((ref, target))
    if not ours:
        return None, compiled

    if compiled is None:
        compiled = compile_route(route, resolver)
    parents = []
    counted: set[int] = set()
    for ref, target in ours:
        if ref.get("kind") == LISTENER_SET:
            accepted = _attach_to_set(
                compiled, ref, namespace, ctx.listener_sets[target], ctx, counted
            )
            parents.append(_parent_status(ref, target, accepted, compiled, generation, ctx))
            continue
        gateway = ctx.gateways.get(target)
        if gateway is None:
            accepted = (
                False,
                c.REASON_NO_MATCHING_PARENT,
                f"Gateway {target[0]}/{target[1]} not found",
            )
        else:
            accepted = _attach(compiled, ref, namespace, gateway, ctx, counted)
        parents.append(_parent_status(ref, target, accepted, compiled, generation, ctx))
    return {"parents": parents}, compiled


def _attach_to_set(
    compiled: CompiledRoute,
    ref: Mapping[str, Any],
    namespace: str,
    listener_set: ListenerSetState,
    ctx: RouteContext,
    counted: set[int],
) -> tuple[bool, str, str]:
    if listener_set.not_allowed is not None or listener_set.gateway.not_accepted is not None:
        where = f"{listener_set.namespace}/{listener_set.name}"
        return (False, c.REASON_NO_MATCHING_PARENT, f"ListenerSet {where} is not accepted")
    candidates = _selected_listeners(listener_set.listeners, ref)
    return _attach(compiled, ref, namespace, listener_set.gateway, ctx, counted, candidates)


def _selected_listeners(
    listeners: list[ListenerState], ref: Mapping[str, Any]
) -> list[ListenerState]:
    candidates = listeners
    section, port = ref.get("sectionName"), ref.get("port")
    if section is not None:
        candidates = [s for s in candidates if s.name == section]
    if port is not None:
        candidates = [s for s in candidates if s.port == port]
    return candidates


def _attach(
    compiled: CompiledRoute,
    ref: Mapping[str, Any],
    namespace: str,
    gateway: GatewayState,
    ctx: RouteContext,
    counted: set[int],
    candidates: list[ListenerState] | None = None,
) -> tuple[bool, str, str]:
    """Attach the route to the listeners `ref` selects (`candidates` when given: a
    ListenerSet's); its Accepted condition for `ref`.

    The checks go from the parentRef to the listener: a listener must exist for the
    sectionName/port, allow HTTPRoutes from the route's namespace, be accepted, and share a
    hostname with the route. The route counts in `attachedRoutes` of every listener passing
    them when it is accepted, programmed or not (a listener waiting for its certificate
    still has its routes); it is programmed only into listeners that are ready.
    """
    if gateway.not_accepted is not None:
        return (False, c.REASON_NO_MATCHING_PARENT, f"Gateway {gateway.full_name} is not accepted")
    if candidates is None:
        candidates = _selected_listeners(gateway.listeners, ref)
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
            f"{ref.get('kind')} {ref.get('name')} has no listener with {what}",
        )
    # one pass over the candidates; `stage` is how far the best of them got
    stage = 0  # 1: allows the kind, 2: and the namespace, 3: and is accepted
    matched: list[tuple[ListenerState, tuple[str, ...]]] = []
    for listener in candidates:
        if KIND not in listener.supported_kinds:
            continue
        stage = max(stage, 1)
        if not listener.allows_namespace(namespace, gateway.namespace, ctx.namespace_labels):
            continue
        stage = max(stage, 2)
        if not listener.attachable:
            continue
        stage = 3
        hostnames = intersect(listener.hostname, compiled.hostnames)
        if hostnames:
            matched.append((listener, hostnames))
    if stage == 0:
        return (
            False,
            c.REASON_NOT_ALLOWED_BY_LISTENERS,
            f"no listener of Gateway {gateway.full_name} allows the {KIND} kind",
        )
    if stage == 1:
        return (
            False,
            c.REASON_NOT_ALLOWED_BY_LISTENERS,
            f"no listener of Gateway {gateway.full_name} allows HTTPRoutes "
            f"from namespace {namespace}",
        )
    if stage == 2:
        names = ", ".join(s.name for s in candidates if KIND in s.supported_kinds)
        return (False, c.REASON_NO_MATCHING_PARENT, f"listeners not accepted: {names}")
    if not matched:
        return (
            False,
            c.REASON_NO_MATCHING_LISTENER_HOSTNAME,
            "no hostname of the route matches a listener hostname",
        )
    if compiled.error is not None:
        return (False, c.REASON_UNSUPPORTED_VALUE, compiled.error)
    programmed = False
    for listener, hostnames in matched:
        if id(listener) not in counted:
            counted.add(id(listener))
            listener.attached_routes += 1
        if not listener.ready:
            continue
        programmed = True
        scheme = "https" if listener.protocol == "HTTPS" else "http"
        routes = compiled.routes_for(listener.port, scheme)
        for hostname in hostnames:
            gateway.add_routes(listener, hostname, routes)
    if programmed:
        for cluster in compiled.clusters.values():
            ctx.add_cluster(cluster)
    if ctx.note_services is not None and compiled.services:
        ctx.note_services(gateway, compiled.services)
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
