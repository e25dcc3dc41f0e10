"""Route attachment, the part every route kind shares: which parentRefs are ours, which
listeners a parentRef selects, whether the route may attach to them (Accepted and its
reason), counting it in their `attachedRoutes`, and the per-parent status.

A parentRef is checked in the order the reasons are given: its Gateway (or ListenerSet) must
exist and be accepted (else NoMatchingParent), a listener must match the sectionName/port
(else NoMatchingParent), allow the route's kind and namespace (else NotAllowedByListeners), be
accepted (else NoMatchingParent) and share a hostname with the route (else
NoMatchingListenerHostname). A route that passes them and that the translator can express is
counted in `attachedRoutes` of every such listener, programmed or not (a listener waiting for
its certificate still has its routes); it is programmed only into listeners that are ready.

What programming means is the kind's: a `RouteAttacher` subclass says which hostnames it
serves on a listener, may refuse a match (`admit`), and programs a ready listener
(`program`). Every effect on the translation goes through `RouteContext.effects`, so the
attachments of HTTPRoutes and GRPCRoutes can be recorded and replayed (`replay.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from gateway_contour.ir.model import Cluster
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.gateway import GatewayState
from gateway_contour.translate.gatewayapi.hostnames import intersect
from gateway_contour.translate.gatewayapi.kind_conflicts import KindConflicts
from gateway_contour.translate.gatewayapi.listeners import ListenerState
from gateway_contour.translate.gatewayapi.listenersets import KIND as LISTENER_SET
from gateway_contour.translate.gatewayapi.listenersets import ListenerSetState
from gateway_contour.translate.gatewayapi.replay import Recorder

Accepted = tuple[bool, str, str]  # status, reason and message of the Accepted condition
Matched = list[tuple[ListenerState, tuple[str, ...]]]  # listener, hostnames served on it
ParentRef = tuple[Mapping[str, Any], tuple[str, str]]  # parentRef, (namespace, name)


class CompiledForAttachment(Protocol):
    """What attachment reads of a compiled route, of any kind."""

    @property
    def kind(self) -> str: ...
    @property
    def hostnames(self) -> tuple[str, ...]: ...
    @property
    def error(self) -> str | None: ...  # why it cannot be programmed (UnsupportedValue)
    @property
    def unresolved(self) -> Sequence[tuple[str, str]]: ...  # (reason, message) of bad refs


R = TypeVar("R", bound=CompiledForAttachment)


@dataclass(slots=True)
class RouteContext:
    """What route attachment needs from the rest of the translation."""

    gateways: Mapping[tuple[str, str], GatewayState]
    # Gateways of other classes: parentRefs to them are another controller's business
    foreign_gateways: set[tuple[str, str]]
    namespace_labels: Callable[[str], Mapping[str, Any]]
    # what attaching a route does to the translation (counts, routes, clusters, Services
    # used), recorded for replay (`replay.py`)
    effects: Recorder
    controller_name: str
    # ListenerSets of our Gateways by (namespace, name)
    listener_sets: Mapping[tuple[str, str], ListenerSetState] = field(default_factory=dict)
    # set when both HTTPRoutes and GRPCRoutes exist: they may not share a listener hostname
    kind_conflicts: KindConflicts | None = None

    def add_cluster(self, cluster: Cluster) -> None:
        """A cluster some attached route needs (recorded for replay)."""
        self.effects.add_cluster(cluster)


@dataclass(frozen=True, slots=True)
class Wording:
    """How a family of routes words some of its rejections (each keeps its phrasing)."""

    selector_joiner: str  # between "sectionName 'x'" and "port N"
    no_selector: str  # said when the parentRef names neither
    listener: str  # "no <listener> of Gateway ... allows ..."
    set_not_accepted: str  # "ListenerSet ns/name <set_not_accepted>"


def our_parent_refs(
    refs: Iterable[Mapping[str, Any]], namespace: str, ctx: RouteContext
) -> list[ParentRef]:
    """The (defaulted) parentRefs that are ours, with their (namespace, name): those to a
    Gateway not of another class, and those to one of our ListenerSets (a ListenerSet not
    among ours is another controller's, or none)."""
    ours = []
    for ref in refs:
        if ref.get("group") != c.GROUP:
            continue
        target = (str(ref.get("namespace") or namespace), str(ref.get("name", "")))
        if ref.get("kind") == "Gateway":
            if target in ctx.foreign_gateways:
                continue
        elif ref.get("kind") != LISTENER_SET or target not in ctx.listener_sets:
            continue
        ours.append((ref, target))
    return ours


def selected_listeners(
    listeners: list[ListenerState], ref: Mapping[str, Any]
) -> list[ListenerState]:
    """The listeners matching the parentRef's sectionName and port (each when given)."""
    section, port = ref.get("sectionName"), ref.get("port")
    return [
        s
        for s in listeners
        if (section is None or s.name == section) and (port is None or s.port == port)
    ]


class RouteAttacher(ABC, Generic[R]):
    """Attaches one compiled route to each of its parentRefs; one per route and translation
    (it remembers which listeners already count the route)."""

    wording: ClassVar[Wording]

    def __init__(self, ctx: RouteContext, compiled: R, namespace: str, generation: int) -> None:
        self.ctx = ctx
        self.compiled = compiled
        self.kind = compiled.kind
        self.namespace = namespace  # the route's
        self.generation = generation
        self._counted: set[int] = set()

    def hostnames_on(self, listener: ListenerState) -> tuple[str, ...]:
        """The hostnames the route serves on `listener` (none: it does not match it)."""
        return intersect(listener.hostname, self.compiled.hostnames)

    def admit(self, matched: Matched) -> Accepted | None:
        """A refusal of an otherwise accepted route, or None."""
        return None

    @abstractmethod
    def program(
        self, gateway: GatewayState, listener: ListenerState, hostnames: tuple[str, ...]
    ) -> None:
        """Serve the route on a ready listener, through `ctx.effects`."""

    @abstractmethod
    def clusters(self) -> Iterable[Cluster]:
        """The clusters the route needs once programmed somewhere."""

    def services(self) -> set[tuple[str, str]] | None:
        """The Services the route's backendRefs name, when recorded (BackendTLSPolicy)."""
        return None

    def status(self, ours: list[ParentRef]) -> dict[str, Any]:
        """Attach to each of `ours`; the route's status."""
        parents = []
        for ref, target in ours:
            parents.append(self._parent_status(ref, target, self._accept(ref, target)))
        return {"parents": parents}

    def _accept(self, ref: Mapping[str, Any], target: tuple[str, str]) -> Accepted:
        if ref.get("kind") == LISTENER_SET:
            listener_set = self.ctx.listener_sets[target]
            if listener_set.not_allowed is not None or listener_set.gateway.not_accepted:
                where = f"{target[0]}/{target[1]}"
                message = f"ListenerSet {where} {self.wording.set_not_accepted}"
                return (False, c.REASON_NO_MATCHING_PARENT, message)
            return self._attach(ref, listener_set.gateway, listener_set.listeners)
        gateway = self.ctx.gateways.get(target)
        if gateway is None:
            where = f"{target[0]}/{target[1]}"
            return (False, c.REASON_NO_MATCHING_PARENT, f"Gateway {where} not found")
        return self._attach(ref, gateway, gateway.listeners)

    def _attach(
        self, ref: Mapping[str, Any], gateway: GatewayState, listeners: list[ListenerState]
    ) -> Accepted:
        """Attach to those of `listeners` that `ref` selects; the Accepted condition."""
        if gateway.not_accepted is not None:
            message = f"Gateway {gateway.full_name} is not accepted"
            return (False, c.REASON_NO_MATCHING_PARENT, message)
        candidates = selected_listeners(listeners, ref)
        if not candidates:
            return (False, c.REASON_NO_MATCHING_PARENT, self._no_listener(ref))
        kind, namespace = self.kind, self.namespace
        # one pass over the candidates; `stage` is how far the best of them got
        stage = 0  # 1: allows the kind, 2: and the namespace, 3: and is accepted
        matched: Matched = []
        for listener in candidates:
            if kind not in listener.supported_kinds:
                continue
            stage = max(stage, 1)
            if not listener.allows_namespace(
                namespace, gateway.namespace, self.ctx.namespace_labels
            ):
                continue
            stage = max(stage, 2)
            if not listener.attachable:
                continue
            stage = 3
            hostnames = self.hostnames_on(listener)
            if hostnames:
                matched.append((listener, hostnames))
        no_listener = f"no {self.wording.listener} of Gateway {gateway.full_name} allows"
        if stage == 0:
            message = f"{no_listener} the {kind} kind"
            return (False, c.REASON_NOT_ALLOWED_BY_LISTENERS, message)
        if stage == 1:
            message = f"{no_listener} {kind}s from namespace {namespace}"
            return (False, c.REASON_NOT_ALLOWED_BY_LISTENERS, message)
        if stage == 2:
            names = ", ".join(s.name for s in candidates if kind in s.supported_kinds)
            return (False, c.REASON_NO_MATCHING_PARENT, f"listeners not accepted: {names}")
        if not matched:
            message = "no hostname of the route matches a listener hostname"
            return (False, c.REASON_NO_MATCHING_LISTENER_HOSTNAME, message)
        if self.compiled.error is not None:
            return (False, c.REASON_UNSUPPORTED_VALUE, self.compiled.error)
        refused = self.admit(matched)
        if refused is not None:
            return refused
        effects = self.ctx.effects
        programmed = False
        for listener, hostnames in matched:
            if id(listener) not in self._counted:
                self._counted.add(id(listener))
                effects.count(gateway, listener)
            if listener.ready:
                programmed = True
                self.program(gateway, listener, hostnames)
        if programmed:
            for cluster in self.clusters():
                effects.add_cluster(cluster)
        services = self.services()
        if services:
            effects.use_services(gateway, services)
        return (True, c.REASON_ACCEPTED, "Route is accepted")

    def _no_listener(self, ref: Mapping[str, Any]) -> str:
        section, port = ref.get("sectionName"), ref.get("port")
        parts = (
            f"sectionName {section!r}" if section is not None else "",
            f"port {port}" if port is not None else "",
        )
        what = self.wording.selector_joiner.join(p for p in parts if p) or self.wording.no_selector
        return f"{ref.get('kind')} {ref.get('name')} has no listener with {what}"

    def _parent_status(
        self, ref: Mapping[str, Any], target: tuple[str, str], accepted: Accepted
    ) -> dict[str, Any]:
        parent_ref: dict[str, Any] = {
            "group": ref.get("group"),
            "kind": ref.get("kind"),
            "namespace": target[0],
            "name": target[1],
        }
        for key in ("sectionName", "port"):
            if ref.get(key) is not None:
                parent_ref[key] = ref[key]
        generation, unresolved = self.generation, self.compiled.unresolved
        if unresolved:
            reason = unresolved[0][0]
            message = "; ".join(dict.fromkeys(m for _, m in unresolved))
            resolved = c.condition(c.RESOLVED_REFS, False, reason, message, generation)
        else:
            resolved = c.condition(
                c.RESOLVED_REFS, True, c.REASON_RESOLVED_REFS, "References resolved", generation
            )
        return {
            "parentRef": parent_ref,
            "controllerName": self.ctx.controller_name,
            "conditions": [c.condition(c.ACCEPTED, *accepted, generation), resolved],
        }
