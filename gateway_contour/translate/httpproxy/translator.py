"""`translate_httpproxy`: root HTTPProxies and what they include into the implicit fleet
(the package docstring says how)."""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from gateway_contour.ir.model import Cluster, HeaderMatch, Redirect, Route, Secret, VirtualHost
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import KubeObject, Snapshot, key_of
from gateway_contour.translate.builder import IRBuilder
from gateway_contour.translate.cache import LegacyMemo
from gateway_contour.translate.data import mapping, text
from gateway_contour.translate.httpproxy import policies as p
from gateway_contour.translate.httpproxy import status as st
from gateway_contour.translate.httpproxy.conditions import Conditions
from gateway_contour.translate.httpproxy.inclusion import Inclusion, Key
from gateway_contour.translate.httpproxy.replay import RootHosts, RootScope, apply
from gateway_contour.translate.httpproxy.routes import (
    CompiledRoute,
    compile_route,
    route_sort_key,
)
from gateway_contour.translate.httpproxy.services import Upstreams
from gateway_contour.translate.httpproxy.tcpproxy import tcp_proxy
from gateway_contour.translate.httpproxy.tls import Delegations, host_tls, upstream_ca
from gateway_contour.translate.ingress import load_balancer_status
from gateway_contour.translate.ingress.classes import IngressClasses
from gateway_contour.translate.legacy import LegacyFleet, status_address
from gateway_contour.translate.options import TranslateOptions
from gateway_contour.translate.services import ServiceIndex
from gateway_contour.translate.wildcard_host import one_label_host_match

log = logging.getLogger(__name__)

_FQDN = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def translate_httpproxy(
    snapshot: Snapshot,
    options: TranslateOptions,
    builder: IRBuilder,
    report: StatusReport,
    legacy: LegacyFleet,
    services: ServiceIndex | None = None,
    memo: LegacyMemo | None = None,
) -> None:
    """With `memo`, a root translated by an earlier translation is replayed while it and
    everything it read are unchanged (`replay`)."""
    # a proxy of another ingress class (spec.ingressClassName or the class annotations) is
    # another controller's: not served, no status
    classes = IngressClasses(snapshot, options)
    objects = [o for o in snapshot.objects("HTTPProxy") if classes.selects(o)]
    if not objects:
        return
    proxies: dict[Key, KubeObject] = {}
    statuses: dict[Key, st.ProxyStatus] = {}
    for obj in objects:
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        proxies[key] = obj
        generation = meta.get("generation")
        statuses[key] = st.ProxyStatus(generation if isinstance(generation, int) else 0)
    services = services if services is not None else ServiceIndex(snapshot)

    def add_cluster(cluster: Cluster) -> None:
        if not builder.has_cluster(cluster.name):
            builder.add_cluster(cluster, services.endpoints(cluster))

    reads = RootReads(snapshot, Delegations(snapshot), services, options.fallback_certificate)
    for key in _valid_roots(proxies, statuses):
        memo_key = ("HTTPProxy", *key)
        outcome = memo.get(memo_key, proxies[key]) if memo is not None else None
        if outcome is None or not outcome.still_valid(proxies, statuses):
            scope = RootScope(proxies, statuses)
            try:
                hosts = _translate_root(key, scope, reads)
            except Exception as err:  # one broken object must not break the others
                log.exception("translating HTTPProxy %s/%s", *key)
                report.problem(
                    str(key_of(proxies[key])), f"internal error while translating: {err!r}"
                )
                continue
            outcome = scope.outcome(hosts)
            if memo is not None:
                memo.put(memo_key, proxies[key], outcome)
        apply(outcome, key, statuses, add_cluster, builder, legacy)
    address = status_address(options)
    for key, status in statuses.items():
        data = status.to_api()
        if address and status.valid and "virtualhost" in mapping(proxies[key].get("spec")):
            data.update(load_balancer_status(address))
        report.set(key_of(proxies[key]), data)
        if status.errors:
            log.info("HTTPProxy %s/%s invalid: %s", *key, status.errors[0][2])


@dataclasses.dataclass(frozen=True, slots=True)
class RootReads:
    """What a root's translation reads besides the proxies: the same for every root."""

    snapshot: Snapshot  # Secrets (certificates, CA bundles)
    delegations: Delegations
    services: ServiceIndex
    fallback_certificate: str | None


def _valid_roots(proxies: dict[Key, KubeObject], statuses: dict[Key, st.ProxyStatus]) -> list[Key]:
    """Roots with a usable, uncontested fqdn (the others get their VirtualHostError)."""
    by_fqdn: dict[str, list[Key]] = {}
    for key, obj in proxies.items():
        vhost = mapping(obj.get("spec")).get("virtualhost")
        if vhost is None:
            continue
        status = statuses[key]
        status.reached = True
        fqdn = text(mapping(vhost).get("fqdn")).lower()  # hostnames are case-insensitive
        if not fqdn:
            status.error(
                st.VIRTUAL_HOST_ERROR, "FQDNNotSpecified", "Spec.VirtualHost.Fqdn must be specified"
            )
        elif not _FQDN.match(fqdn) or len(fqdn) > 253:
            status.error(
                st.VIRTUAL_HOST_ERROR,
                "FQDNNotValid",
                f"Spec.VirtualHost.Fqdn {fqdn!r} is not a valid hostname",
            )
        else:
            by_fqdn.setdefault(fqdn, []).append(key)
    out = []
    for fqdn, keys in by_fqdn.items():
        if len(keys) > 1:
            users = ", ".join(f"{ns}/{name}" for ns, name in sorted(keys))
            for key in keys:
                statuses[key].error(
                    st.VIRTUAL_HOST_ERROR,
                    "DuplicateVhost",
                    f"fqdn {fqdn!r} is used in multiple HTTPProxies: {users}",
                )
            continue
        out.extend(keys)
    return sorted(out)


def _translate_root(key: Key, scope: RootScope, reads: RootReads) -> RootHosts | None:
    """The root's routes (its own and its includes'), policies and TLS; what it serves, or
    None when it is invalid. Everything else it finds goes into `scope`."""
    snapshot, delegations = reads.snapshot, reads.delegations
    status = scope.status(key)
    spec = mapping(scope.proxies[key].get("spec"))
    vhost = mapping(spec.get("virtualhost"))
    fqdn = text(vhost.get("fqdn")).lower()

    def ca_secret(ref: str, namespace: str, error: Any) -> Secret | None:
        found = upstream_ca(ref, namespace, snapshot, delegations, error)
        if found is not None:
            scope.secrets.append(found)
        return found

    upstreams = Upstreams(reads.services, scope.clusters.append, ca_secret)

    def compiler(
        route: dict[str, Any],
        inherited: Conditions,
        ns: str,
        name: str,
        index: int,
        route_status: st.ProxyStatus,
    ) -> CompiledRoute | None:
        return compile_route(route, inherited, ns, name, index, upstreams, route_status)

    tls = None
    if vhost.get("tls") is not None:
        tls = host_tls(
            mapping(vhost.get("tls")),
            key[0],
            snapshot,
            delegations,
            status.error,
            reads.fallback_certificate,
        )
    cors = p.cors(vhost.get("corsPolicy"), status.error)
    ip_filter = p.ip_filter(vhost.get("ipAllowPolicy"), vhost.get("ipDenyPolicy"), status.error)
    rate_limit = p.rate_limit(vhost.get("rateLimitPolicy"), status.error)
    tcp = None
    if spec.get("tcpproxy") is not None:
        if vhost.get("tls") is None:
            status.error(
                st.TCP_PROXY_ERROR,
                "TLSMustBeConfigured",
                "Spec.TCPProxy requires that Spec.VirtualHost.TLS is also configured",
            )
        else:

            def reach(child: Key) -> Any:
                scope.status(child).reached = True
                return scope.status(child).error

            tcp = tcp_proxy(
                mapping(spec.get("tcpproxy")),
                key[0],
                scope.proxies,
                reach,
                reads.services,
                scope.clusters.append,
                status.error,
            )
    elif tls is not None and tls.passthrough:
        status.error(
            st.TCP_PROXY_ERROR,
            "NothingDefined",
            "Spec.VirtualHost.TLS passthrough requires a tcpproxy",
        )
    compiled = Inclusion(scope.proxies, scope.statuses, compiler).routes(key)
    if compiled is None or not status.serves:
        return None
    owner = f"HTTPProxy {key[0]}/{key[1]}"
    named = _unique_names(tuple(c.route for c in compiled))
    compiled = [dataclasses.replace(c, route=r) for c, r in zip(compiled, named, strict=True)]
    compiled.sort(key=route_sort_key)
    host_match = one_label_host_match(fqdn)
    if host_match:
        compiled = [_with_host_match(c, host_match) for c in compiled]
    routes = tuple(c.route for c in compiled)
    base = VirtualHost(
        name=fqdn, hostname=fqdn, cors=cors, ip_filter=ip_filter, rate_limit=rate_limit
    )
    if tls is None:
        return RootHosts(fqdn, owner, dataclasses.replace(base, routes=routes), None, ())
    if tls.passthrough or tcp is not None:
        https = dataclasses.replace(base, tls=tls.server, passthrough=tcp)
        return RootHosts(fqdn, owner, None, https, tls.secrets)
    https = dataclasses.replace(base, routes=routes, tls=tls.server, fallback_tls=tls.fallback)
    insecure = tuple(c.route if c.permit_insecure else _to_https(c.route) for c in compiled)
    http = dataclasses.replace(base, routes=insecure)
    return RootHosts(fqdn, owner, http, https, tls.secrets)


def _with_host_match(compiled: CompiledRoute, host: tuple[HeaderMatch, ...]) -> CompiledRoute:
    match = dataclasses.replace(compiled.route.match, headers=host + compiled.route.match.headers)
    return dataclasses.replace(compiled, route=dataclasses.replace(compiled.route, match=match))


def _to_https(route: Route) -> Route:
    """The plain-HTTP twin of a route on a TLS virtual host: a 301 to https."""
    return Route(
        name=route.name,
        match=route.match,
        action=Redirect(scheme="https", status_code=301),
        source=route.source,
    )


def _unique_names(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    """A proxy included twice (under different conditions) yields routes of the same name:
    number the repeats so names stay unique within the virtual host."""
    seen: dict[str, int] = {}
    out = []
    for route in routes:
        count = seen.get(route.name, 0)
        seen[route.name] = count + 1
        out.append(
            route if count == 0 else dataclasses.replace(route, name=f"{route.name}/{count}")
        )
    return tuple(out)
