"""One Ingress -> its routes per hostname, its TLS hosts and the problems found.

Each rule host (none: "*") x path becomes a route named "ingress/<ns>/<name>/<rule>/<path>"
forwarding to the path's backend, with the Ingress's annotation policies (timeouts,
retries, websocket). A wildcard host ("*.example.com") also matches the Host header against
one label only, as the Ingress spec says (Envoy's wildcard domains match one or more). What
plain HTTP gets for a route: the route, a 301 to https (force-ssl-redirect), or nothing
(allow-http "false"). The default backend is a catch-all route of the "*" host, on plain HTTP
only (its hosts are unbounded, so no certificate can cover them). A backend that cannot be
resolved answers 503.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway_contour.ir.model import (
    Forward,
    Match,
    PathMatch,
    PathMatchKind,
    Redirect,
    Route,
    Secret,
    TLSServer,
    WeightedCluster,
)
from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.data import dicts, items, mapping, text
from gateway_contour.translate.envoy_checks.regex import regex_error
from gateway_contour.translate.gatewayapi.hostnames import hostname_error
from gateway_contour.translate.ingress.annotations import (
    TLS_CERT_NAMESPACE,
    IngressPolicy,
    ingress_policy,
)
from gateway_contour.translate.ingress.backends import IngressBackends
from gateway_contour.translate.ingress.paths import PathError, path_match, precedence
from gateway_contour.translate.ingress.tls import IngressSecrets
from gateway_contour.translate.wildcard_host import one_label_host_match

ANY_HOST = "*"
UNAVAILABLE = 503
SortKey = tuple[Any, ...]


@dataclass(slots=True)
class Entry:
    key: SortKey
    route: Route  # served on HTTPS (when the host has TLS)
    http: Route | None  # served on plain HTTP
    secure: bool = True  # may be served on HTTPS


@dataclass(slots=True)
class CompiledIngress:
    routes: dict[str, list[Entry]] = field(default_factory=dict)
    tls: dict[str, TLSServer] = field(default_factory=dict)
    secrets: list[Secret] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def compile_ingress(
    obj: KubeObject, backends: IngressBackends, secrets: IngressSecrets
) -> CompiledIngress:
    """Depends on nothing but `obj`, the Services and the Secrets (and delegations): the
    result may be kept while they are unchanged. Routes of several Ingresses for one host
    are ordered by path precedence, then by Ingress (namespace, name), rule and path."""
    meta = obj["metadata"]
    namespace, name = str(meta.get("namespace") or "default"), str(meta["name"])
    order = (namespace, name)
    spec = mapping(obj.get("spec"))
    policy = ingress_policy(obj)
    out = CompiledIngress(problems=list(policy.problems))
    base = f"ingress/{namespace}/{name}"
    source = f"Ingress {namespace}/{name}"

    def forward(backend: Any, where: str) -> Forward:
        cluster, problems = backends.resolve(namespace, backend)
        out.problems.extend(f"{where}: {p}" for p in problems)
        if cluster is None:
            return Forward(clusters=(), unavailable_status=UNAVAILABLE)
        return Forward(clusters=(WeightedCluster(cluster.name),))

    used_paths: set[str] = set()
    for r_i, rule in enumerate(items(spec.get("rules"))):
        rule = mapping(rule)
        host = text(rule.get("host")) or ANY_HOST
        if host != ANY_HOST and (error := hostname_error(host)):
            out.problems.append(f"rules[{r_i}]: {error}; the rule is ignored")
            continue
        host_match = one_label_host_match(host)
        if host_match and (error := regex_error(host_match[0].value)):
            out.problems.append(
                f"rules[{r_i}]: host {host} as Envoy matches it: {error}; the rule is ignored"
            )
            continue
        paths = dicts(mapping(rule.get("http")).get("paths"))
        if not paths:
            out.problems.append(f"rules[{r_i}] ({host}) has no http paths; nothing is served")
            continue
        for p_i, path in enumerate(paths):
            where = f"rules[{r_i}].http.paths[{p_i}]"
            try:
                path_m = path_match(path.get("pathType"), path.get("path"))
            except PathError as err:
                out.problems.append(f"{where}: {err}; the path is ignored")
                continue
            raw_path = text(path.get("path")) or "/"
            used_paths.add(raw_path)
            route = Route(
                name=f"{base}/{r_i}/{p_i}",
                match=Match(path=path_m, headers=host_match),
                action=forward(path.get("backend"), where),
                timeouts=policy.timeouts,
                retry=policy.retry,
                websocket=raw_path in policy.websocket_paths,
                source=source,
            )
            key = (*precedence(path_m), 0, order, r_i, p_i)
            entry = Entry(key, route, _plain_http(route, policy))
            out.routes.setdefault(host, []).append(entry)

    default = spec.get("defaultBackend", spec.get("backend"))
    if default is not None:
        route = Route(
            name=f"{base}/default",
            match=Match(path=PathMatch(PathMatchKind.PREFIX, "/")),
            action=forward(default, "defaultBackend"),
            timeouts=policy.timeouts,
            retry=policy.retry,
            source=source,
        )
        # after every rule route of the "*" host, whatever its path
        key = (2, 0, 0, 1, order, 0, 0)
        out.routes.setdefault(ANY_HOST, []).append(Entry(key, route, route, secure=False))

    unknown = sorted(policy.websocket_paths - used_paths)
    if unknown:
        out.problems.append(
            f"websocket-routes names paths the Ingress does not have: {', '.join(unknown)}"
        )
    _tls(obj, namespace, policy, secrets, out)
    return out


def _plain_http(route: Route, policy: IngressPolicy) -> Route | None:
    if policy.force_ssl_redirect:
        return Route(
            name=route.name,
            match=route.match,
            action=Redirect(scheme="https", status_code=301),
            source=route.source,
        )
    return route if policy.allow_http else None


def _tls(
    obj: KubeObject,
    namespace: str,
    policy: IngressPolicy,
    secrets: IngressSecrets,
    out: CompiledIngress,
) -> None:
    spec = mapping(obj.get("spec"))
    annotations = mapping(mapping(obj.get("metadata")).get("annotations"))
    secret_namespace = text(annotations.get(TLS_CERT_NAMESPACE)).strip() or namespace
    rule_hosts = set(out.routes)
    for t_i, entry in enumerate(items(spec.get("tls"))):
        entry = mapping(entry)
        hosts = [h for h in items(entry.get("hosts")) if isinstance(h, str) and h]
        if not hosts:
            out.problems.append(f"tls[{t_i}] names no hosts; it is ignored")
            continue
        secret_name = text(entry.get("secretName"))
        ns = secret_namespace
        if "/" in secret_name:  # the v1beta1 "namespace/name" form
            ns, _, secret_name = secret_name.partition("/")
        found = secrets.resolve(namespace, ns, secret_name)
        if not isinstance(found, Secret):
            out.problems.append(f"tls[{t_i}]: {found}; its hosts are served on plain HTTP only")
            continue
        for host in hosts:
            if host not in rule_hosts:
                out.problems.append(f"tls[{t_i}]: host {host} matches no rule host; ignored")
                continue
            if host not in out.tls:
                out.tls[host] = TLSServer(
                    secrets=(found.name,), min_version=policy.tls_min, max_version=policy.tls_max
                )
                out.secrets.append(found)
