"""`translate_gateway_api`: GatewayClasses, Gateways, ListenerSets and every route kind into
the builder (the package docstring maps the modules it uses)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from gateway_contour.ir.model import Cluster
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import KubeObject, ObjectKey, Snapshot, key_of
from gateway_contour.translate.builder import IRBuilder
from gateway_contour.translate.cache import TranslationCache
from gateway_contour.translate.data import dicts, mapping, text
from gateway_contour.translate.gatewayapi.age import Age, age
from gateway_contour.translate.gatewayapi.backend_tls import BackendTLSPolicies
from gateway_contour.translate.gatewayapi.backends import BackendResolver, ReferenceGrants
from gateway_contour.translate.gatewayapi.certificates import CertificateResolver
from gateway_contour.translate.gatewayapi.defaults import (
    gateway_with_defaults,
    grpcroute_with_defaults,
    httproute_with_defaults,
)
from gateway_contour.translate.gatewayapi.frontend_tls import FrontendValidation
from gateway_contour.translate.gatewayapi.gateway import GatewayState, gateway_state
from gateway_contour.translate.gatewayapi.gatewayclass import our_gateway_classes
from gateway_contour.translate.gatewayapi.grpcroute import translate_grpcroute
from gateway_contour.translate.gatewayapi.httproute import RouteContext, translate_httproute
from gateway_contour.translate.gatewayapi.kind_conflicts import KindConflicts
from gateway_contour.translate.gatewayapi.l4routes import translate_l4_routes
from gateway_contour.translate.gatewayapi.listenersets import attach_listener_sets
from gateway_contour.translate.gatewayapi.replay import Attachment, ListenerPlaces, Recorder
from gateway_contour.translate.gatewayapi.rules import CompiledRoute
from gateway_contour.translate.options import TranslateOptions
from gateway_contour.translate.services import ServiceIndex

log = logging.getLogger(__name__)

RouteTranslator = Callable[
    [KubeObject, BackendResolver, RouteContext, CompiledRoute | None],
    tuple[dict[str, Any] | None, CompiledRoute | None],
]

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def translate_gateway_api(
    snapshot: Snapshot,
    options: TranslateOptions,
    builder: IRBuilder,
    report: StatusReport,
    cache: TranslationCache | None,
) -> None:
    if cache is not None:
        cache.begin(snapshot)
    classes = our_gateway_classes(snapshot, options.controller_name, report)
    grants = ReferenceGrants(snapshot)
    certificates = CertificateResolver(snapshot, grants)
    frontend = FrontendValidation(snapshot, grants)

    gateways: dict[tuple[str, str], GatewayState] = {}
    foreign: set[tuple[str, str]] = set()
    for obj in snapshot.objects("Gateway"):
        meta = obj["metadata"]
        where = (meta["namespace"], meta["name"])
        if text(mapping(obj.get("spec")).get("gatewayClassName")) not in classes:
            foreign.add(where)
            continue
        try:
            gateways[where] = gateway_state(
                gateway_with_defaults(obj), certificates, frontend, snapshot
            )
        except Exception as err:  # one broken object must not break the others
            log.exception("translating %s", key_of(obj))
            report.problem(str(key_of(obj)), f"internal error while translating: {err!r}")

    labels_cache: dict[str, Mapping[str, Any]] = {}

    def namespace_labels(namespace: str) -> Mapping[str, Any]:
        labels = labels_cache.get(namespace)
        if labels is None:
            ns = snapshot.get("Namespace", "", namespace)
            found = mapping(mapping(mapping(ns).get("metadata")).get("labels"))
            # the API server sets this label on every Namespace; files may not
            labels = {NAMESPACE_NAME_LABEL: namespace, **found}
            labels_cache[namespace] = labels
        return labels

    listener_sets = attach_listener_sets(snapshot, gateways, certificates, namespace_labels)
    services = ServiceIndex(snapshot, cache.endpoints if cache is not None else None)

    def add_cluster(cluster: Cluster) -> None:
        if not builder.has_cluster(cluster.name):
            builder.add_cluster(cluster, services.endpoints(cluster))

    policies = BackendTLSPolicies(snapshot)
    if cache is not None:
        cache.depend("backend-tls", policies.fingerprint())
    gateways_of_service: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def note_services(gateway: GatewayState, used: set[tuple[str, str]]) -> None:
        for service in used:
            gateways_of_service.setdefault(service, set()).add((gateway.namespace, gateway.name))

    ctx = RouteContext(
        gateways=gateways,
        foreign_gateways=foreign,
        namespace_labels=namespace_labels,
        effects=Recorder(ListenerPlaces(gateways), add_cluster, note_services),
        controller_name=options.controller_name,
        listener_sets={(ls.namespace, ls.name): ls for ls in listener_sets},
    )
    resolver = BackendResolver(services, grants, policies)
    seen: set[tuple[str, str, str]] = set()
    _translate_routes(_http_routes(snapshot, ctx), resolver, ctx, report, cache, seen)
    if cache is not None:
        cache.retain(seen)
    translate_l4_routes(snapshot, BackendResolver(services, grants), ctx, report)
    for secret in policies.secrets():
        builder.add_secret(secret)
    _backend_tls_status(policies, gateways_of_service, options.controller_name, report)
    for listener_set in listener_sets:
        report.set(key_of(listener_set.obj), listener_set.status())

    for state in gateways.values():
        address = options.address_of(state.full_name)
        try:
            builder.add_gateway(state.to_ir(address))
            if state.backend_client is not None:
                builder.add_secret(state.backend_client)
            for listener in state.listeners + state.set_listeners:
                if listener.ready:
                    for secret in listener.secrets:
                        builder.add_secret(secret)
                    if listener.client_ca is not None:
                        builder.add_secret(listener.client_ca)
            known = state.full_name in options.gateway_addresses
            report.set(
                key_of(state.obj),
                state.status(address if known else None, options.address_usable),
            )
        except Exception as err:
            log.exception("building Gateway %s", state.full_name)
            report.problem(str(key_of(state.obj)), f"internal error while translating: {err!r}")


def _backend_tls_status(
    policies: BackendTLSPolicies,
    gateways_of_service: dict[tuple[str, str], set[tuple[str, str]]],
    controller_name: str,
    report: StatusReport,
) -> None:
    """Each policy's status: one ancestor per Gateway of ours routing to a Service it
    targets (a policy no route uses gets no status)."""
    for policy in policies.policies:
        for ref in dicts(mapping(policy.obj.get("spec")).get("targetRefs")):
            found = gateways_of_service.get((policy.namespace, text(ref.get("name"))))
            if found:
                policy.ancestors.update(found)
        if policy.ancestors:
            report.set(key_of(policy.obj), policy.status(controller_name))


# the route kinds compiled into HTTP routes: kind -> (CRD defaults, translation)
_ROUTE_KINDS: dict[str, tuple[Callable[[KubeObject], KubeObject], RouteTranslator]] = {
    "HTTPRoute": (httproute_with_defaults, translate_httproute),
    "GRPCRoute": (grpcroute_with_defaults, translate_grpcroute),
}


def _http_routes(snapshot: Snapshot, ctx: RouteContext) -> list[tuple[str, KubeObject]]:
    """(kind, route) of every HTTPRoute and GRPCRoute, in the order to attach them.

    With both kinds present, an HTTPRoute and a GRPCRoute may not share a hostname on a
    listener and the older wins (`kind_conflicts`): they are attached oldest first, and
    their attachments are not replayed (they depend on the other routes)."""
    routes = [(kind, obj) for kind in _ROUTE_KINDS for obj in snapshot.objects(kind)]
    if all(snapshot.objects(kind) for kind in _ROUTE_KINDS):
        ctx.kind_conflicts = KindConflicts()
        routes.sort(key=_age)
    return routes


def _age(entry: tuple[str, KubeObject]) -> Age:
    return age(entry[1]["metadata"])


def _translate_routes(
    routes: list[tuple[str, KubeObject]],
    resolver: BackendResolver,
    ctx: RouteContext,
    report: StatusReport,
    cache: TranslationCache | None,
    seen: set[tuple[str, str, str]],
) -> None:
    recorder = ctx.effects
    replayable = ctx.kind_conflicts is None
    for kind, obj in routes:
        with_defaults, translate_route = _ROUTE_KINDS[kind]
        meta = obj["metadata"]
        key = ObjectKey(kind, meta["namespace"], meta["name"])
        seen.add(key)
        cached = cache.get(key, obj) if cache is not None else None
        try:
            if cache is not None and cached is not None:
                defaulted, compiled, attachment = cached
                if (
                    replayable
                    and attachment is not None
                    and attachment.epoch == cache.attachment_epoch
                ):
                    # the route and all it attaches to are unchanged: do what it did
                    recorder.replay(attachment)
                    if attachment.status is not None:
                        report.set(key, attachment.status)
                    continue
            else:
                defaulted, compiled = with_defaults(obj), None
            recorder.effects = [] if cache is not None and replayable else None
            status, compiled = translate_route(defaulted, resolver, ctx, compiled)
            if cache is not None and recorder.effects is not None:
                attachment = Attachment(cache.attachment_epoch, tuple(recorder.effects), status)
                cache.put(key, obj, (defaulted, compiled, attachment))
            elif cache is not None:
                cache.put(key, obj, (defaulted, compiled, None))  # keep the compilation
        except Exception as err:  # one broken object must not break the others
            log.exception("translating %s", key)
            report.problem(str(key), f"internal error while translating: {err!r}")
            continue
        finally:
            recorder.effects = None
        if status is not None:
            report.set(key, status)
