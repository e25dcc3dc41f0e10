"""ListenerSets: extra listeners attached to a Gateway from (possibly) other namespaces.

A ListenerSet names its parent Gateway; the Gateway admits it through
spec.allowedListeners.namespaces (from None by default, Same, All or Selector), else the set
is Accepted False / NotAllowed. An admitted set's listeners are validated like a Gateway's,
then against the listeners already on the Gateway: the Gateway's own first, then older sets
(creationTimestamp, then namespace/name); a listener clashing on port and hostname or
protocol is Conflicted and not programmed, the earlier one keeps the port. Valid listeners
are programmed with the Gateway's (one Envoy fleet); their allowedRoutes "Same" means the
set's namespace, their certificates may need a ReferenceGrant from ListenerSets.

Routes attach to a set's listeners only through a parentRef of kind ListenerSet
(`httproute`). The set's status has Accepted and Programmed (NotAllowed, ParentNotAccepted
or ListenersNotValid when false) and one entry per listener; the Gateway counts the sets it
accepted in attachedListenerSets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.data import mapping, text
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.age import Age, age
from gateway_contour.translate.gatewayapi.certificates import CertificateResolver
from gateway_contour.translate.gatewayapi.gateway import GatewayState
from gateway_contour.translate.gatewayapi.listeners import (
    ListenerState,
    conflict_with,
    validate_listeners,
)
from gateway_contour.translate.gatewayapi.selectors import SelectorError, parse_selector

KIND = "ListenerSet"
REASON_NOT_ALLOWED = "NotAllowed"
REASON_PARENT_NOT_ACCEPTED = "ParentNotAccepted"


@dataclass(slots=True)
class ListenerSetState:
    obj: KubeObject
    namespace: str
    name: str
    generation: int
    gateway: GatewayState
    listeners: list[ListenerState] = field(default_factory=list)
    not_allowed: str | None = None  # why the Gateway does not admit the set

    @property
    def accepted(self) -> bool:
        return (
            self.not_allowed is None
            and self.gateway.not_accepted is None
            # a set is valid when a listener of it can be programmed (a listener waiting for
            # a certificate does not count, unlike on a Gateway)
            and any(s.ready for s in self.listeners)
        )

    def status(self) -> dict[str, Any]:
        gen = self.generation
        if self.not_allowed is not None:
            reason, message = REASON_NOT_ALLOWED, self.not_allowed
        elif self.gateway.not_accepted is not None:
            reason, message = REASON_PARENT_NOT_ACCEPTED, "the parent Gateway is not accepted"
        elif not self.accepted:
            reason, message = c.REASON_LISTENERS_NOT_VALID, "no listener of the set is valid"
        else:
            reason = message = ""
        if reason:
            conditions = [
                c.condition(c.ACCEPTED, False, reason, message, gen),
                c.condition(c.PROGRAMMED, False, reason, message, gen),
            ]
        else:
            conditions = [
                c.condition(c.ACCEPTED, True, c.REASON_ACCEPTED, "ListenerSet is accepted", gen),
                c.condition(
                    c.PROGRAMMED, True, c.REASON_PROGRAMMED, "ListenerSet is programmed", gen
                ),
            ]
        out: dict[str, Any] = {"conditions": conditions}
        if self.not_allowed is None:
            gateway_accepted = self.gateway.not_accepted is None
            out["listeners"] = [s.status(gen, gateway_accepted) for s in self.listeners]
        return out


def attach_listener_sets(
    snapshot: Snapshot,
    gateways: Mapping[tuple[str, str], GatewayState],
    certificates: CertificateResolver,
    namespace_labels: Callable[[str], Mapping[str, Any]],
) -> list[ListenerSetState]:
    """The states of the ListenerSets whose parent is one of `gateways`, oldest first; the
    valid listeners join their Gateway's `set_listeners`."""
    out = []
    for obj in sorted(snapshot.objects(KIND), key=_age):
        meta = obj["metadata"]
        spec = mapping(obj.get("spec"))
        parent = mapping(spec.get("parentRef"))
        if (text(parent.get("group"), c.GROUP), text(parent.get("kind"), "Gateway")) != (
            c.GROUP,
            "Gateway",
        ):
            continue
        target = (text(parent.get("namespace")) or meta["namespace"], text(parent.get("name")))
        gateway = gateways.get(target)
        if gateway is None:
            continue  # another controller's Gateway, or none: not ours to report
        state = ListenerSetState(
            obj=obj,
            namespace=meta["namespace"],
            name=meta["name"],
            generation=c.generation_of(obj),
            gateway=gateway,
        )
        out.append(state)
        state.not_allowed = _not_allowed(gateway, state.namespace, namespace_labels)
        if state.not_allowed is not None:
            continue
        state.listeners = validate_listeners(spec.get("listeners"), mark_conflicts=False)
        for listener in state.listeners:
            listener.listener_set = f"{state.namespace}/{state.name}"
            listener.home_namespace = state.namespace
            if listener.terminates_tls and listener.not_accepted is None:
                found = certificates.resolve(state.namespace, listener.tls, from_kind=KIND)
                listener.certificate_error = found.error
                listener.secrets = found.secrets
        # first come keeps the port: the Gateway's listeners, older sets', earlier entries
        taken = [
            s
            for s in gateway.listeners + gateway.set_listeners
            if s.not_accepted is None and s.conflict is None
        ]
        for listener in state.listeners:
            for other in taken:
                conflict = conflict_with(listener, other)
                if conflict is not None:
                    listener.conflict = conflict
                    break
            if listener.not_accepted is None and listener.conflict is None:
                taken.append(listener)
        gateway.set_listeners.extend(state.listeners)
        if state.accepted:
            gateway.attached_listener_sets += 1
    return out


def _not_allowed(
    gateway: GatewayState, namespace: str, namespace_labels: Callable[[str], Mapping[str, Any]]
) -> str | None:
    spec = mapping(gateway.obj.get("spec"))
    namespaces = mapping(mapping(spec.get("allowedListeners")).get("namespaces"))
    from_ = text(namespaces.get("from")) or "None"
    if from_ == "All":
        return None
    if from_ == "Same":
        if namespace == gateway.namespace:
            return None
        return f"Gateway {gateway.full_name} admits ListenerSets of its own namespace only"
    if from_ == "Selector":
        try:
            selector = parse_selector(namespaces.get("selector"))
        except SelectorError as err:
            return f"Gateway {gateway.full_name} allowedListeners selector: {err}"
        if selector.matches(namespace_labels(namespace)):
            return None
        return f"namespace {namespace} is not selected by Gateway {gateway.full_name}"
    return f"Gateway {gateway.full_name} admits no ListenerSets (allowedListeners from {from_})"


def _age(obj: KubeObject) -> Age:
    return age(obj["metadata"])
