"""Objects withheld after Envoy refused what they produce: their output left out, their
status saying why.

A `Withheld` names a source object (as `Route.source` does), the version of it that was
withheld, and Envoy's message. `withhold_ir` drops the routes of withheld objects from an
IR, and a virtual host all of whose routes came from them (an HTTPProxy root's own host);
everything else, the IR objects' identity included, is left as it was, so the envoy layer
reuses their messages. An object stays withheld until it changes (`released`: another
generation or content, or it is gone).

Each withheld object's status says why, the way the per-object checks of
translate/envoy_checks/ say it: a Gateway API route is Accepted False / UnsupportedValue on
every parent that had accepted it; an HTTPProxy is invalid with one SpecError; an Ingress,
which has no conditions, gets a problem (logged, and in the status file of standalone mode).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway_contour.ir.model import IR, Gateway, Listener, Route, VirtualHost
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import KubeObject, ObjectKey, Snapshot
from gateway_contour.translate.cache import same_object
from gateway_contour.translate.gatewayapi import conditions as gwc
from gateway_contour.translate.httpproxy import status as proxy_status

GATEWAY_ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"})
PROXY_REASON = "EnvoyRejected"  # the SpecError reason of a withheld HTTPProxy
MAX_ENVOY_MESSAGE = 2048  # characters of Envoy's message kept in a status (it may quote a lot)


@dataclass(frozen=True, slots=True)
class Withheld:
    key: ObjectKey
    obj: KubeObject  # the version withheld: a changed object is served again
    message: str  # Envoy's NACK message (shortened)
    fleet: str  # the fleet whose Envoys refused it

    def reason(self) -> str:
        return (
            f"Envoy refused the configuration made from this {self.key.kind} (fleet "
            f"{self.fleet}), so it is not served until it changes: {self.message}"
        )


def shorten(message: str, limit: int = MAX_ENVOY_MESSAGE) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."


def source_key(source: str) -> ObjectKey | None:
    """The object a `Route.source` names: "Kind/namespace/name" or "Ingress namespace/name"."""
    kind, sep, rest = source.partition(" ")
    if sep:
        namespace, _, name = rest.partition("/")
    else:
        kind, _, rest = source.partition("/")
        namespace, _, name = rest.partition("/")
    if not kind or not name:
        return None
    return ObjectKey(kind, namespace, name)


Output = tuple[tuple[str, str, Route], ...]  # (listener, virtual host, route), in IR order


def outputs_by_source(gateway: Gateway) -> dict[ObjectKey, Output]:
    """What each source object puts into one fleet: its routes, where they are."""
    found: dict[ObjectKey, list[tuple[str, str, Route]]] = {}
    for listener in gateway.listeners:
        for vhost in listener.virtual_hosts:
            for route in vhost.routes:
                key = source_key(route.source)
                if key is not None:
                    found.setdefault(key, []).append((listener.name, vhost.name, route))
    return {key: tuple(routes) for key, routes in found.items()}


def changed_sources(current: Gateway, accepted: Gateway | None) -> list[ObjectKey]:
    """The objects whose output in the fleet differs from what it was in `accepted` (every
    object of the fleet when None, or when nothing differs), sorted."""
    now = outputs_by_source(current)
    if accepted is not None:
        before = outputs_by_source(accepted)
        changed = sorted(key for key, output in now.items() if before.get(key) != output)
        if changed:
            return changed
    return sorted(now)


def withhold_ir(ir: IR, keys: Iterable[ObjectKey]) -> IR:
    """`ir` without the routes of the objects `keys` (see the module docstring)."""
    names = {form for key in keys for form in _source_forms(key)}
    if not names:
        return ir
    gateways = tuple(_gateway(gw, names) for gw in ir.gateways)
    if all(new is old for new, old in zip(gateways, ir.gateways, strict=True)):
        return ir
    return dataclasses.replace(ir, gateways=gateways)


def _source_forms(key: ObjectKey) -> tuple[str, str]:
    return f"{key.kind}/{key.namespace}/{key.name}", f"{key.kind} {key.namespace}/{key.name}"


def _gateway(gateway: Gateway, names: set[str]) -> Gateway:
    listeners = tuple(_listener(listener, names) for listener in gateway.listeners)
    if all(new is old for new, old in zip(listeners, gateway.listeners, strict=True)):
        return gateway
    return dataclasses.replace(gateway, listeners=listeners)


def _listener(listener: Listener, names: set[str]) -> Listener:
    hosts: list[VirtualHost] = []
    changed = False
    for vhost in listener.virtual_hosts:
        routes = tuple(r for r in vhost.routes if r.source not in names)
        if len(routes) == len(vhost.routes):
            hosts.append(vhost)
            continue
        changed = True
        if routes:
            hosts.append(dataclasses.replace(vhost, routes=routes))
    if not changed:
        return listener
    return dataclasses.replace(listener, virtual_hosts=tuple(hosts))


def released(withheld: Mapping[ObjectKey, Withheld], snapshot: Snapshot) -> set[ObjectKey]:
    """The withheld objects that changed or are gone: they are no longer withheld. An object
    read again with the same content (a file rewritten, objects from files carry no
    resourceVersion) has not changed."""
    out = set()
    for key, entry in withheld.items():
        now = snapshot.get(key.kind, key.namespace, key.name)
        if now is None or not _unchanged(entry.obj, now):
            out.add(key)
    return out


def _unchanged(old: KubeObject, new: KubeObject) -> bool:
    return same_object(old, new) or _content(old) == _content(new)


_NOT_CONTENT = frozenset({"resourceVersion", "managedFields"})


def _content(obj: KubeObject) -> tuple[Any, Any]:
    """What of an object is its content: all but its status and bookkeeping metadata."""
    metadata = obj.get("metadata")
    kept = {k: v for k, v in metadata.items() if k not in _NOT_CONTENT} if metadata else {}
    return kept, {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def report_withheld(report: StatusReport, withheld: Iterable[Withheld]) -> None:
    """Give each withheld object the status that says why (see the module docstring)."""
    for entry in withheld:
        key = entry.key
        if key.kind in GATEWAY_ROUTE_KINDS:
            current = report.statuses.get(key)
            if current is not None:
                report.set(key, _route_status(current, entry.reason()))
        elif key.kind == "HTTPProxy":
            report.set(key, _proxy_status(entry))
        else:
            report.problem(f"{key.kind} {key.namespace}/{key.name}", entry.reason())


def _route_status(current: dict[str, Any], reason: str) -> dict[str, Any]:
    status = copy.deepcopy(current)
    for parent in status.get("parents", ()):
        for condition in parent.get("conditions", ()):
            if condition.get("type") == gwc.ACCEPTED and condition.get("status") == "True":
                condition["status"] = "False"
                condition["reason"] = gwc.REASON_UNSUPPORTED_VALUE
                condition["message"] = reason
    return status


def _proxy_status(entry: Withheld) -> dict[str, Any]:
    generation = entry.obj.get("metadata", {}).get("generation")
    status = proxy_status.ProxyStatus(generation if isinstance(generation, int) else 0)
    status.reached = True
    status.error(proxy_status.SPEC_ERROR, PROXY_REASON, entry.reason())
    return status.to_api()
