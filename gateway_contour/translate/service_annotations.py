"""Contour's Service annotations, as cluster settings for the APIs that honour them (Ingress,
HTTPProxy).

- `projectcontour.io/upstream-protocol.{h2,h2c,tls}`: a comma-separated list of the Service's
  port names and/or numbers spoken with that protocol: `h2c` cleartext HTTP/2, `h2` HTTP/2
  over TLS, `tls` HTTP/1.1 over TLS. Upstream TLS from these annotations does not verify the
  backend's certificate (Contour verifies only when HTTPProxy asks with `validation`).
- `projectcontour.io/max-connections`, `max-pending-requests`, `max-requests`, `max-retries`:
  the circuit-breaker thresholds of every cluster made for the Service (unsigned integers).

A value that does not parse is reported and ignored; the Service keeps serving with the
defaults. `ServiceSettings.problems` carries the messages, the caller decides where they go.
A cluster with circuit breakers gets a name of its own (the settings hash covers them), so it
never clashes with the cluster another API makes for the same port without them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway_contour.ir.model import CircuitBreakers, Cluster, UpstreamProtocol, UpstreamTLS
from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.data import mapping, text

PREFIX = "projectcontour.io/"
UPSTREAM_PROTOCOL = PREFIX + "upstream-protocol."
# annotation suffix -> (protocol, over TLS)
_PROTOCOLS = {
    "h2": (UpstreamProtocol.H2, True),
    "h2c": (UpstreamProtocol.H2C, False),
    "tls": (UpstreamProtocol.HTTP1, True),
}
_BREAKERS = {
    "max-connections": "max_connections",
    "max-pending-requests": "max_pending_requests",
    "max-requests": "max_requests",
    "max-retries": "max_retries",
}
_UINT32_MAX = 2**32 - 1


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    protocol: UpstreamProtocol | None = None  # None: what the port's appProtocol says
    tls: bool = False
    circuit_breakers: CircuitBreakers | None = None
    problems: tuple[str, ...] = ()


def service_settings(service: KubeObject, service_port: Mapping[str, Any]) -> ServiceSettings:
    """The settings the Service's annotations give to one of its ports."""
    annotations = mapping(mapping(service.get("metadata")).get("annotations"))
    port_keys = {str(service_port.get("port")), text(service_port.get("name"))} - {""}
    problems: list[str] = []
    protocol: UpstreamProtocol | None = None
    tls = False
    for suffix, (proto, over_tls) in _PROTOCOLS.items():
        value = annotations.get(UPSTREAM_PROTOCOL + suffix)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(f"annotation {UPSTREAM_PROTOCOL + suffix} must be a string")
            continue
        listed = {p.strip() for p in value.split(",") if p.strip()}
        if listed & port_keys:
            if protocol is not None:
                problems.append(
                    f"port {sorted(port_keys)[0]} is named by several "
                    f"{UPSTREAM_PROTOCOL}* annotations; the first ({protocol.value}) is used"
                )
                continue
            protocol, tls = proto, over_tls
    limits: dict[str, int] = {}
    for suffix, field in _BREAKERS.items():
        value = annotations.get(PREFIX + suffix)
        if value is None:
            continue
        number = _uint32(value)
        if number is None:
            problems.append(
                f"annotation {PREFIX + suffix}: {value!r} is not an unsigned 32-bit integer; "
                "ignored"
            )
            continue
        limits[field] = number
    breakers = CircuitBreakers(**limits) if limits else None
    return ServiceSettings(protocol, tls, breakers, tuple(problems))


def apply_settings(cluster: Cluster, settings: ServiceSettings) -> Cluster:
    """`cluster` (made with the settings' protocol) with their TLS and circuit breakers; its
    name changes when they add anything, deterministically."""
    extra = ""
    tls = cluster.tls
    if settings.tls and tls is None:
        tls = UpstreamTLS(sni="", verify=False)
        extra += f";tls={tls!r}"
    if settings.circuit_breakers is not None:
        extra += f";breakers={settings.circuit_breakers!r}"
    if not extra:
        return cluster
    base, _, digest = cluster.name.rpartition("/")
    new_digest = hashlib.sha256((digest + extra).encode()).hexdigest()[:8]
    return dataclasses.replace(
        cluster,
        name=f"{base}/{new_digest}",
        tls=tls,
        circuit_breakers=settings.circuit_breakers,
    )


def _uint32(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 0 <= number <= _UINT32_MAX else None
