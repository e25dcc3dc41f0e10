"""HTTPProxy route services -> weighted clusters, mirrors, and per-route cluster settings.

`services[]` name Service ports in the proxy's namespace. Weights: when none is set every
service gets an equal share; once any is set, an unset weight is 0. A service with
`mirror: true` receives a copy of the traffic (at most one per route; its `weight`, when set,
is the percentage mirrored). `protocol` (h2c: cleartext HTTP/2; h2, tls: over TLS,
verifying the backend's certificate against `validation.caSecret` and `subjectName`, or
any of `subjectNames` when listed, when given, else not verifying it) overrides the Service's
projectcontour.io/upstream-protocol.* annotations; the circuit-breaker annotations apply
(translate/service_annotations.py).
`requestHeadersPolicy`/`responseHeadersPolicy` of a service apply to its share only.

The route's `loadBalancerPolicy` and `healthCheckPolicy` are cluster settings: a Service
port used with non-default settings gets its own cluster, whose name hashes the settings
(routes with the same settings share it; routes with none share the plain cluster).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

from gateway_contour.ir.model import (
    Cluster,
    Forward,
    HealthCheck,
    LBPolicy,
    Mirror,
    Secret,
    UpstreamProtocol,
    UpstreamTLS,
    WeightedCluster,
)
from gateway_contour.translate.data import dicts, items, mapping, text
from gateway_contour.translate.httpproxy import status as s
from gateway_contour.translate.httpproxy.header_values import service_variables
from gateway_contour.translate.httpproxy.policies import header_modifier
from gateway_contour.translate.service_annotations import (
    ServiceSettings,
    apply_settings,
    service_settings,
)
from gateway_contour.translate.services import ServiceIndex, find_service_port

ClusterSink = Callable[[Cluster], None]
ErrorSink = Callable[[str, str, str], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Upstreams:
    """What resolving route services needs: the Services, where clusters go, and how a
    `validation.caSecret` reference (with the proxy's namespace) becomes a CA Secret in the
    IR (None after reporting why not)."""

    services: ServiceIndex
    add_cluster: ClusterSink
    ca_secret: Callable[[str, str, ErrorSink], Secret | None]


_LB_STRATEGIES = {
    "RoundRobin": LBPolicy.ROUND_ROBIN,
    "WeightedLeastRequest": LBPolicy.LEAST_REQUEST,
    "Random": LBPolicy.RANDOM,
    "Cookie": LBPolicy.RING_HASH,
    "RequestHash": LBPolicy.RING_HASH,
}
# service protocol -> (upstream protocol, over TLS)
_PROTOCOLS = {
    "h2c": (UpstreamProtocol.H2C, False),
    "h2": (UpstreamProtocol.H2, True),
    "tls": (UpstreamProtocol.HTTP1, True),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Backends:
    forward: Forward
    mirrors: tuple[Mirror, ...] = ()


def cluster_settings(
    route: dict[str, Any], error: Callable[[str, str, str], None]
) -> tuple[LBPolicy, HealthCheck | None]:
    lb = LBPolicy.ROUND_ROBIN
    policy = mapping(route.get("loadBalancerPolicy"))
    strategy = text(policy.get("strategy"))
    if strategy:
        found = _LB_STRATEGIES.get(strategy)
        if found is None:
            error(
                s.ROUTE_ERROR,
                "LoadBalancerPolicyNotValid",
                f"loadBalancerPolicy strategy {strategy!r} is not supported",
            )
        else:
            lb = found
    hc = None
    spec = route.get("healthCheckPolicy")
    if spec is not None:
        spec = mapping(spec)
        path = text(spec.get("path"))
        if not path.startswith("/"):
            error(
                s.ROUTE_ERROR,
                "HealthCheckPolicyNotValid",
                "healthCheckPolicy.path must be an absolute path",
            )
        else:
            defaults = HealthCheck(path=path)
            hc = HealthCheck(
                path=path,
                host=text(spec.get("host")) or defaults.host,
                interval=_positive(spec.get("intervalSeconds"), defaults.interval),
                timeout=_positive(spec.get("timeoutSeconds"), defaults.timeout),
                unhealthy_threshold=int(
                    _positive(spec.get("unhealthyThresholdCount"), defaults.unhealthy_threshold)
                ),
                healthy_threshold=int(
                    _positive(spec.get("healthyThresholdCount"), defaults.healthy_threshold)
                ),
            )
    return lb, hc


def _positive(value: Any, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


def with_settings(cluster: Cluster, lb: LBPolicy, hc: HealthCheck | None) -> Cluster:
    if lb is LBPolicy.ROUND_ROBIN and hc is None:
        return cluster
    digest = hashlib.sha256(f"{cluster.name};lb={lb.value};hc={hc!r}".encode()).hexdigest()[:8]
    base = cluster.name.rsplit("/", 1)[0]
    return dataclasses.replace(cluster, name=f"{base}/{digest}", lb_policy=lb, health_check=hc)


def route_backends(
    route: dict[str, Any],
    namespace: str,
    upstreams: Upstreams,
    error: ErrorSink,
    warn: ErrorSink,
) -> Backends | None:
    """The Forward (and mirrors) of a route's services; None (with errors) when one of them
    cannot be used: Contour refuses the proxy rather than serve part of a split."""
    lb, hc = cluster_settings(route, error)
    entries = dicts(route.get("services"))
    any_weight = any(
        isinstance(e.get("weight"), int) and e.get("weight") and e.get("mirror") is not True
        for e in entries
    )
    weighted: list[WeightedCluster] = []
    mirrors: list[Mirror] = []
    ok = True
    for entry in entries:
        cluster = _cluster(entry, namespace, upstreams, error, warn)
        if cluster is None:
            ok = False
            continue
        cluster = with_settings(cluster, lb, hc)
        upstreams.add_cluster(cluster)
        weight = entry.get("weight")
        weight = weight if isinstance(weight, int) and not isinstance(weight, bool) else 0
        if weight < 0:
            error(
                s.SERVICE_ERROR,
                "WeightNotValid",
                f"service {text(entry.get('name'))!r}: weight must not be negative",
            )
            ok = False
            continue
        if entry.get("mirror") is True:
            if mirrors:
                error(
                    s.SERVICE_ERROR,
                    "OnlyOneMirror",
                    "only one service per route may be nominated as mirror",
                )
                ok = False
            mirrors.append(Mirror(cluster.name, float(min(weight, 100)) if weight else 100.0))
            continue
        service = text(entry.get("name"))
        variables = service_variables(namespace, service, entry.get("port"))
        weighted.append(
            WeightedCluster(
                cluster=cluster.name,
                weight=weight if any_weight else 1,
                request_headers=header_modifier(
                    entry.get("requestHeadersPolicy"),
                    variables,
                    error,
                    f"service {service!r}: requestHeadersPolicy",
                ),
                response_headers=header_modifier(
                    entry.get("responseHeadersPolicy"),
                    variables,
                    error,
                    f"service {service!r}: responseHeadersPolicy",
                ),
            )
        )
    if not ok:
        return None
    if not weighted:
        error(s.ROUTE_ERROR, "NoServices", "a route with only a mirror service has no backend")
        return None
    return Backends(Forward(clusters=tuple(weighted), unavailable_status=503), tuple(mirrors))


def _cluster(
    entry: dict[str, Any],
    namespace: str,
    upstreams: Upstreams,
    error: ErrorSink,
    warn: ErrorSink,
) -> Cluster | None:
    services = upstreams.services
    name, port = text(entry.get("name")), entry.get("port")
    where = f"{namespace}/{name}"
    if not name or not isinstance(port, int) or isinstance(port, bool):
        error(
            s.SERVICE_ERROR,
            "ServiceUnresolvedReference",
            f"a service needs a name and a port number, got {name!r}:{port!r}",
        )
        return None
    service = services.service(namespace, name)
    if service is None:
        error(
            s.SERVICE_ERROR,
            "ServiceUnresolvedReference",
            f"Spec.Routes unresolved service reference: service {where!r} not found",
        )
        return None
    service_port = find_service_port(service, port)
    if service_port is None:
        error(
            s.SERVICE_ERROR,
            "ServiceUnresolvedReference",
            f"Spec.Routes unresolved service reference: port {port} on service {where!r} "
            "not matched",
        )
        return None
    settings = service_settings(service, service_port)
    for problem in settings.problems:
        warn(s.SERVICE_ERROR, "ServiceAnnotationNotValid", f"service {where!r}: {problem}")
    protocol_name = text(entry.get("protocol"))
    if protocol_name in _PROTOCOLS:
        protocol, over_tls = _PROTOCOLS[protocol_name]
        settings = ServiceSettings(protocol, over_tls, settings.circuit_breakers)
    elif protocol_name:
        error(
            s.SERVICE_ERROR,
            "UnsupportedProtocol",
            f"service {where!r}: upstream protocol {protocol_name!r} is not supported",
        )
        return None
    tls = None
    if entry.get("validation") is not None:
        validation = mapping(entry.get("validation"))
        subject = text(validation.get("subjectName"))
        if not settings.tls or not subject:
            error(
                s.SERVICE_ERROR,
                "UpstreamValidationNotValid",
                f"service {where!r}: validation needs protocol tls or h2 and a subjectName",
            )
            return None
        ca = upstreams.ca_secret(text(validation.get("caSecret")), namespace, error)
        if ca is None:
            return None
        names = [n for n in items(validation.get("subjectNames")) if isinstance(n, str)]
        if names and names[0] != subject:
            error(
                s.SERVICE_ERROR,
                "UpstreamValidationNotValid",
                f"service {where!r}: validation.subjectNames[0] must match subjectName",
            )
            return None
        tls = UpstreamTLS(
            sni=subject, ca_secret=ca.name, subject_alt_names=tuple(names or [subject])
        )
    cluster = services.cluster(namespace, name, service_port, tls=tls, protocol=settings.protocol)
    return apply_settings(cluster, settings)
