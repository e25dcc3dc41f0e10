"""Gateway listeners: validation, port/hostname conflicts, which routes may attach, and the
per-listener status.

HTTP, HTTPS (TLS terminated by Envoy), TLS (tls.mode Passthrough, or Terminate with TCP
inside), TCP and UDP are handled. A protocol slots in by adding its route kinds to
`ROUTE_KINDS` and its name to `HANDLED_PROTOCOLS`; certificates are resolved by
`certificates.py` and the ir Listener is built in `gateway.py` (TLS/TCP/UDP: `l4table.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway_contour.ir.model import Secret
from gateway_contour.translate.data import dicts, mapping
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.hostnames import hostname_error
from gateway_contour.translate.gatewayapi.selectors import (
    LabelSelector,
    SelectorError,
    parse_selector,
)

# route kinds a listener of each protocol accepts (group gateway.networking.k8s.io)
ROUTE_KINDS: Mapping[str, tuple[str, ...]] = {
    "HTTP": ("HTTPRoute", "GRPCRoute"),
    "HTTPS": ("HTTPRoute", "GRPCRoute"),
    "TLS": ("TLSRoute",),
    "TCP": ("TCPRoute",),
    "UDP": ("UDPRoute",),
}
# protocols this translator can program today
HANDLED_PROTOCOLS = frozenset({"HTTP", "HTTPS", "TLS", "TCP", "UDP"})

# listeners may share a port only within one of these families (TCP and UDP may mix)
_FAMILY = {"HTTP": "HTTP", "HTTPS": "TLS", "TLS": "TLS", "TCP": "TCP", "UDP": "UDP"}


@dataclass(slots=True)
class ListenerState:
    name: str
    port: int
    protocol: str
    hostname: str | None
    namespaces_from: str = "Same"
    selector: LabelSelector | None = None
    supported_kinds: tuple[str, ...] = ()
    # (reason, message) when not accepted / refs not resolved / conflicted
    not_accepted: tuple[str, str] | None = None
    unresolved: tuple[str, str] | None = None
    conflict: tuple[str, str] | None = None
    # HTTPS: the raw spec.tls, then the resolved secret names or why they do not resolve
    tls: Any = None
    secrets: tuple[Secret, ...] = ()
    certificate_error: tuple[str, str] | None = None
    # HTTPS with frontend validation: the CA bundle clients are checked against, whether
    # they may go unchecked, and why a caCertificateRef does not resolve
    client_ca: Secret | None = None
    client_optional: bool = False
    ca_error: tuple[str, str] | None = None
    attached_routes: int = 0
    # a listener of a ListenerSet: "namespace/name" of the set (keeps route entries apart from
    # same-named Gateway listeners) and the namespace its allowedRoutes "Same" means
    listener_set: str = ""
    home_namespace: str | None = None
    _namespace_cache: dict[str, bool] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Unique among the listeners of a Gateway and its ListenerSets."""
        return f"{self.listener_set}/{self.name}" if self.listener_set else self.name

    @property
    def terminates_tls(self) -> bool:
        """Envoy terminates TLS on it (HTTPS, or TLS with tls.mode Terminate): it needs
        certificates."""
        if self.protocol == "HTTPS":
            return True
        return self.protocol == "TLS" and mapping(self.tls).get("mode") == "Terminate"

    @property
    def attachable(self) -> bool:
        """Accepted: routes may attach to it (and count in attachedRoutes) even when it
        cannot be programmed for want of a certificate."""
        return (
            self.not_accepted is None
            and self.conflict is None
            and self.protocol in HANDLED_PROTOCOLS
            and bool(self.supported_kinds)
        )

    @property
    def ready(self) -> bool:
        """Valid and programmable: routes may attach and it gets an Envoy listener."""
        return self.attachable and self.certificate_error is None

    def allows_namespace(
        self,
        route_namespace: str,
        gateway_namespace: str,
        namespace_labels: Callable[[str], Mapping[str, Any]],
    ) -> bool:
        cached = self._namespace_cache.get(route_namespace)
        if cached is None:
            if self.namespaces_from == "All":
                cached = True
            elif self.namespaces_from == "Selector" and self.selector is not None:
                cached = self.selector.matches(namespace_labels(route_namespace))
            else:
                cached = route_namespace == (self.home_namespace or gateway_namespace)
            self._namespace_cache[route_namespace] = cached
        return cached

    def status(self, generation: int, gateway_accepted: bool = True) -> dict[str, Any]:
        accepted = self.conflict or self.not_accepted
        programmed = self.ready and gateway_accepted
        unresolved = self.certificate_error or self.ca_error or self.unresolved
        conds = [
            c.condition(c.ACCEPTED, False, accepted[0], accepted[1], generation)
            if accepted
            else c.condition(c.ACCEPTED, True, c.REASON_ACCEPTED, "Listener is valid", generation),
            c.condition(
                c.PROGRAMMED, True, c.REASON_PROGRAMMED, "Listener is programmed", generation
            )
            if programmed
            else c.condition(
                c.PROGRAMMED,
                False,
                self.conflict[0] if self.conflict else c.REASON_INVALID,
                "Listener is not programmed",
                generation,
            ),
            c.condition(c.RESOLVED_REFS, False, *unresolved, generation)
            if unresolved
            else c.condition(
                c.RESOLVED_REFS, True, c.REASON_RESOLVED_REFS, "References resolved", generation
            ),
            c.condition(c.CONFLICTED, True, *self.conflict, generation)
            if self.conflict
            else c.condition(
                c.CONFLICTED, False, c.REASON_NO_CONFLICTS, "No conflicts", generation
            ),
        ]
        return {
            "name": self.name,
            "supportedKinds": [{"group": c.GROUP, "kind": k} for k in self.supported_kinds],
            "attachedRoutes": self.attached_routes,
            "conditions": conds,
        }


def validate_listeners(spec_listeners: Any, mark_conflicts: bool = True) -> list[ListenerState]:
    """Listener states for a Gateway's (defaulted) spec.listeners, in spec order. Without
    `mark_conflicts` the caller settles conflicts itself (ListenerSets: first come wins)."""
    states = [_one_listener(raw) for raw in dicts(spec_listeners)]
    if mark_conflicts:
        _mark_conflicts(states)
    return states


def _one_listener(raw: dict[str, Any]) -> ListenerState:
    port = raw.get("port")
    hostname = raw.get("hostname") or None
    state = ListenerState(
        name=str(raw.get("name", "")),
        port=port if isinstance(port, int) else 0,
        protocol=str(raw.get("protocol", "")),
        hostname=str(hostname) if hostname is not None else None,
    )
    if not isinstance(port, int) or not 1 <= port <= 65535:
        state.not_accepted = ("PortUnavailable", f"port {port!r} is not a valid port number")
    elif state.protocol not in HANDLED_PROTOCOLS:
        state.not_accepted = (
            c.REASON_UNSUPPORTED_PROTOCOL,
            f"protocol {state.protocol!r} is not supported",
        )
    elif state.hostname is not None and (error := hostname_error(state.hostname)):
        state.not_accepted = (c.REASON_INVALID_HOSTNAME, error)
    elif state.protocol == "HTTPS":
        state.tls = raw.get("tls")
        mode = state.tls.get("mode", "Terminate") if isinstance(state.tls, dict) else None
        if mode != "Terminate":
            state.not_accepted = (
                c.REASON_UNSUPPORTED_VALUE,
                "an HTTPS listener needs tls with mode Terminate",
            )
    elif state.protocol == "TLS":
        state.tls = raw.get("tls")
        mode = mapping(state.tls).get("mode")
        if mode not in ("Terminate", "Passthrough"):
            state.not_accepted = (
                c.REASON_UNSUPPORTED_VALUE,
                f"a TLS listener needs tls.mode Terminate or Passthrough, not {mode!r}",
            )

    # (ListenerSet listeners come without CRD defaults applied: read defensively)
    allowed = mapping(raw.get("allowedRoutes"))
    namespaces = mapping(allowed.get("namespaces"))
    state.namespaces_from = str(namespaces.get("from") or "Same")
    if state.namespaces_from == "Selector":
        try:
            state.selector = parse_selector(namespaces.get("selector"))
        except SelectorError as err:
            state.not_accepted = state.not_accepted or (
                c.REASON_UNSUPPORTED_VALUE,
                f"allowedRoutes.namespaces.selector: {err}",
            )
    elif state.namespaces_from not in ("Same", "All"):
        state.not_accepted = state.not_accepted or (
            c.REASON_UNSUPPORTED_VALUE,
            f"allowedRoutes.namespaces.from {state.namespaces_from!r} is not Same, All or Selector",
        )

    possible = ROUTE_KINDS.get(state.protocol, ()) if state.protocol in HANDLED_PROTOCOLS else ()
    requested = allowed.get("kinds")
    if requested and not isinstance(requested, list):
        requested = [requested]
    if not requested:
        state.supported_kinds = possible
    else:
        supported: list[str] = []
        invalid: list[str] = []
        for kind in requested:
            group = kind.get("group", c.GROUP) if isinstance(kind, dict) else None
            name = str(kind.get("kind", "")) if isinstance(kind, dict) else str(kind)
            if group == c.GROUP and name in possible:
                if name not in supported:
                    supported.append(name)
            else:
                invalid.append(f"{group}/{name}" if group else name)
        state.supported_kinds = tuple(supported)
        if invalid:
            state.unresolved = (
                c.REASON_INVALID_ROUTE_KINDS,
                f"route kinds not supported on a {state.protocol} listener: {', '.join(invalid)}",
            )
    return state


def _mark_conflicts(states: list[ListenerState]) -> None:
    by_port: dict[int, list[ListenerState]] = {}
    for state in states:
        if state.port:
            by_port.setdefault(state.port, []).append(state)
    for port, group in by_port.items():
        families = {_FAMILY.get(s.protocol, s.protocol) for s in group}
        if len(families) > 1 and families != {"TCP", "UDP"}:
            protocols = ", ".join(sorted({s.protocol for s in group}))
            for state in group:
                state.conflict = (
                    c.REASON_PROTOCOL_CONFLICT,
                    f"port {port} is shared by listeners of incompatible protocols: {protocols}",
                )
            continue
        # within a family, listeners on one port must differ in hostname (TCP/UDP: protocol)
        seen: dict[tuple[str, str], list[ListenerState]] = {}
        for state in group:
            family = _FAMILY.get(state.protocol, state.protocol)
            distinct_by = (state.hostname or "") if family in ("HTTP", "TLS") else state.protocol
            seen.setdefault((family, distinct_by), []).append(state)
        for (family, value), same in seen.items():
            if len(same) < 2:
                continue
            names = ", ".join(s.name for s in same)
            if family in ("HTTP", "TLS"):
                what = f"hostname {value!r}" if value else "no hostname"
                reason = c.REASON_HOSTNAME_CONFLICT
            else:
                what, reason = f"protocol {value}", c.REASON_PROTOCOL_CONFLICT
            for state in same:
                state.conflict = (reason, f"listeners {names} share port {port} and {what}")


def conflict_with(new: ListenerState, old: ListenerState) -> tuple[str, str] | None:
    """Why `new` cannot share a port with the already accepted `old` (a ListenerSet listener
    against the Gateway's or an older set's), or None."""
    if new.port != old.port:
        return None
    new_family = _FAMILY.get(new.protocol, new.protocol)
    old_family = _FAMILY.get(old.protocol, old.protocol)
    if new_family != old_family and {new_family, old_family} != {"TCP", "UDP"}:
        return (
            c.REASON_PROTOCOL_CONFLICT,
            f"port {new.port} is used by listener {old.key} with protocol {old.protocol}",
        )
    if new_family in ("HTTP", "TLS") and (new.hostname or "") == (old.hostname or ""):
        what = f"hostname {new.hostname!r}" if new.hostname else "no hostname"
        return (
            c.REASON_HOSTNAME_CONFLICT,
            f"listener {old.key} already serves port {new.port} with {what}",
        )
    if new_family in ("TCP", "UDP") and new.protocol == old.protocol:
        return (
            c.REASON_PROTOCOL_CONFLICT,
            f"listener {old.key} already serves port {new.port} with {new.protocol}",
        )
    return None
