"""HTTPRoutes: attach each route to the listeners its parentRefs select, add its routes to
the virtual hosts of those listeners, and write its per-parent status (Accepted,
ResolvedRefs). Compiling the route itself is `rules.py`'s job.

Attachment, per parentRef (which listeners it selects, the reasons in their order, the
counts in `attachedRoutes`, the parent status), is `attach.py`'s, shared with the L4 routes;
what is HTTP's is here: the hostnames a route serves on a listener, its routes added to
the listener's virtual hosts, its clusters and the Services it uses, all through
`ctx.effects` so that the attachment is recorded for replay (`replay.py`).

A route with something the translator cannot express (an unsupported filter or match, an
invalid hostname) is not programmed at all and reports Accepted False / UnsupportedValue.
Unresolvable backends do not stop a route: their share of the weight answers 500, and
ResolvedRefs says why.

GRPCRoutes go through the same attachment (`grpcroute.py` compiles them); a route of one of
the two kinds whose hostnames meet an earlier route of the other kind on a listener gets
Accepted False / HostnameConflict (`kind_conflicts.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gateway_contour.ir.model import Cluster
from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.data import dicts, mapping
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.attach import (
    Accepted,
    Matched,
    RouteAttacher,
    RouteContext,
    Wording,
    our_parent_refs,
)
from gateway_contour.translate.gatewayapi.backends import BackendResolver
from gateway_contour.translate.gatewayapi.gateway import GatewayState
from gateway_contour.translate.gatewayapi.kind_conflicts import REASON_HOSTNAME_CONFLICT
from gateway_contour.translate.gatewayapi.listeners import ListenerState
from gateway_contour.translate.gatewayapi.rules import CompiledRoute, compile_route

__all__ = ["RouteContext", "translate_httproute"]


def translate_httproute(
    route: KubeObject,
    resolver: BackendResolver,
    ctx: RouteContext,
    compiled: CompiledRoute | None = None,
    compile_fn: Callable[[KubeObject, BackendResolver], CompiledRoute] = compile_route,
) -> tuple[dict[str, Any] | None, CompiledRoute | None]:
    """Attach one (defaulted) HTTPRoute, or GRPCRoute with its `compile_fn`, compiling it
    unless `compiled` is given. Returns its desired status (None when none of its
    parentRefs is ours) and its compiled form."""
    namespace = route["metadata"]["namespace"]
    generation = c.generation_of(route)
    refs = dicts(mapping(route.get("spec")).get("parentRefs"))
    ours = our_parent_refs(refs, namespace, ctx)
    if not ours:
        return None, compiled
    if compiled is None:
        compiled = compile_fn(route, resolver)
    return _HTTPAttacher(ctx, compiled, namespace, generation).status(ours), compiled


class _HTTPAttacher(RouteAttacher[CompiledRoute]):
    """Serves an attached route's HTTP routes in the virtual hosts of its listeners."""

    wording = Wording(
        selector_joiner=" ",
        no_selector="",
        listener="listener",
        set_not_accepted="is not accepted",
    )

    def admit(self, matched: Matched) -> Accepted | None:
        """HTTPRoutes and GRPCRoutes may not share a hostname on a listener."""
        conflicts = self.ctx.kind_conflicts
        if conflicts is None:
            return None
        clash = conflicts.clash(self.kind, matched)
        if clash is not None:
            return (False, REASON_HOSTNAME_CONFLICT, clash)
        compiled = self.compiled
        conflicts.record(self.kind, f"{self.kind} {compiled.namespace}/{compiled.name}", matched)
        return None

    def program(
        self, gateway: GatewayState, listener: ListenerState, hostnames: tuple[str, ...]
    ) -> None:
        scheme = "https" if listener.protocol == "HTTPS" else "http"
        routes = self.compiled.routes_for(listener.port, scheme)
        for hostname in hostnames:
            self.ctx.effects.add_routes(gateway, listener, hostname, routes)

    def clusters(self) -> Iterable[Cluster]:
        return self.compiled.clusters.values()

    def services(self) -> set[tuple[str, str]] | None:
        return self.compiled.services
