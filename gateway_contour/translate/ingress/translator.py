"""`translate_ingress`: the Ingresses of our class into the implicit fleet (the package
docstring says how they merge)."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from gateway_contour.ir.model import Cluster, Route, Secret, TLSServer, VirtualHost
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import Snapshot, key_of
from gateway_contour.translate.builder import IRBuilder
from gateway_contour.translate.cache import LegacyMemo
from gateway_contour.translate.gatewayapi.hostnames import covering_hostnames
from gateway_contour.translate.ingress.backends import IngressBackends
from gateway_contour.translate.ingress.classes import IngressClasses
from gateway_contour.translate.ingress.routes import Entry, compile_ingress
from gateway_contour.translate.ingress.tls import IngressSecrets
from gateway_contour.translate.legacy import LegacyFleet, status_address
from gateway_contour.translate.options import TranslateOptions
from gateway_contour.translate.services import ServiceIndex

log = logging.getLogger(__name__)


def translate_ingress(
    snapshot: Snapshot,
    options: TranslateOptions,
    builder: IRBuilder,
    report: StatusReport,
    fleet: LegacyFleet,
    services: ServiceIndex | None = None,
    memo: LegacyMemo | None = None,
) -> None:
    """With `memo`, an Ingress compiled by an earlier translation (and still the same, its
    inputs too) is not compiled again: its result and the clusters it added are reused."""
    ingresses = snapshot.objects("Ingress")
    if not ingresses:
        return
    classes = IngressClasses(snapshot, options)
    services = services if services is not None else ServiceIndex(snapshot)
    added: list[Cluster] = []  # the clusters the Ingress being compiled adds

    def add_cluster(cluster: Cluster) -> None:
        if not builder.has_cluster(cluster.name):
            builder.add_cluster(cluster, services.endpoints(cluster))

    def add_and_record(cluster: Cluster) -> None:
        added.append(cluster)
        add_cluster(cluster)

    backends = IngressBackends(services, add_and_record)
    secrets = IngressSecrets(snapshot)
    routes: dict[str, list[Entry]] = {}
    tls: dict[str, TLSServer] = {}
    owners: dict[str, str] = {}
    secrets_by_name: dict[str, Secret] = {}
    address = status_address(options)
    for obj in ingresses:
        if not classes.selects(obj):
            continue
        key = key_of(obj)
        source = f"Ingress {key.namespace}/{key.name}"
        memo_key = ("Ingress", key.namespace, key.name)
        kept = memo.get(memo_key, obj) if memo is not None else None
        if kept is not None:
            compiled, clusters = kept
            for cluster in clusters:
                add_cluster(cluster)
        else:
            added.clear()
            try:
                compiled = compile_ingress(obj, backends, secrets)
            except Exception as err:  # one broken object must not break the others
                log.exception("translating %s", key)
                report.problem(str(key), f"internal error while translating: {err!r}")
                continue
            if memo is not None:
                memo.put(memo_key, obj, (compiled, tuple(added)))
        # what the compiled Ingress gets depends on the others: work on copies (it is kept)
        own_routes, own_tls = dict(compiled.routes), dict(compiled.tls)
        problems = list(compiled.problems)
        for host in list(own_routes):
            owner = fleet.owner(host)
            if owner is None or owner.startswith("Ingress "):
                owners.setdefault(host, source)
                fleet.claim(host, owners[host])
                continue
            problems.append(f"host {host} is served by {owner}; its rules are ignored")
            del own_routes[host]
            own_tls.pop(host, None)
        for host, entries in own_routes.items():
            routes.setdefault(host, []).extend(entries)
        for host, server in own_tls.items():
            if host in tls:
                if tls[host] != server:
                    problems.append(
                        f"host {host} already has its TLS settings from another Ingress; "
                        "this Ingress's certificate and TLS versions are not used for it"
                    )
                continue
            tls[host] = server
        for secret in compiled.secrets:
            secrets_by_name.setdefault(secret.name, secret)
        for problem in problems:
            # each rebuild reports it again: the modes log it once, when it appears
            log.debug("%s: %s", key, problem)
            report.problem(str(key), problem)
        if address is not None:
            report.set(key, load_balancer_status(address))

    for name in sorted({name for server in tls.values() for name in server.secrets}):
        builder.add_secret(secrets_by_name[name])
    _add_hosts(fleet, routes, tls)


def _add_hosts(
    fleet: LegacyFleet, routes: dict[str, list[Entry]], tls: dict[str, TLSServer]
) -> None:
    """The virtual hosts: on plain HTTP, each host with routes of its own carries them, then
    those of the wildcard hosts covering it, then those of "*" (rules without a host and the
    default backend), as Gateway API assembles a listener's routes; on HTTPS, a host with a
    certificate carries its own routes only."""
    ordered = {host: sorted(entries, key=_first) for host, entries in routes.items()}
    plain = {
        host: [e.http for e in entries if e.http is not None] for host, entries in ordered.items()
    }
    for host in sorted(h for h, own in plain.items() if own):
        merged: list[Route] = []
        for cover in covering_hostnames(host):
            merged.extend(plain.get(cover, ()))
        fleet.add_http(VirtualHost(name=host, hostname=host, routes=_unique(tuple(merged))))
    for host in sorted(h for h in ordered if h in tls):
        secure = tuple(e.route for e in ordered[host] if e.secure)
        fleet.add_https(
            VirtualHost(name=host, hostname=host, routes=_unique(secure), tls=tls[host])
        )


def load_balancer_status(address: str) -> dict[str, Any]:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        entry = {"hostname": address}
    else:
        entry = {"ip": address}
    return {"loadBalancer": {"ingress": [entry]}}


def _first(entry: Entry) -> Any:
    return entry.key


def _unique(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    seen: set[str] = set()
    out = []
    for route in routes:
        if route.name not in seen:
            seen.add(route.name)
            out.append(route)
    return tuple(out)
