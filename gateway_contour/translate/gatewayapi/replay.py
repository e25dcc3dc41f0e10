"""Recorded route attachments, replayed while nothing they depend on has changed.

Attaching a route (matching its parentRefs against listeners, intersecting hostnames,
counting it in attachedRoutes, adding its routes to virtual hosts) costs tens of
microseconds; done for ten thousand unchanged routes on every rebuild it would be most of
the rebuild. What attachment does to the translation is a short list of effects, so the
first attachment of a route records them (`Recorder`) and later translations replay them
(`replay`) while the route is the same object and nothing it attaches to has changed (the
`TranslationCache.attachment_epoch`: Gateways, GatewayClasses, ListenerSets, Namespaces,
Secrets, ConfigMaps).

Effects name listeners by their place in their Gateway (its own listeners, then those of its
ListenerSets, by index), never by object: every translation makes new listener states, and
the places are the same while the Gateways are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway_contour.ir.model import Cluster, Route
from gateway_contour.translate.gatewayapi.gateway import GatewayState
from gateway_contour.translate.gatewayapi.listeners import ListenerState

SortKey = tuple[Any, ...]
GatewayKey = tuple[str, str]
ListenerPlace = tuple[GatewayKey, int]  # the Gateway, index in listeners + set_listeners


@dataclass(frozen=True, slots=True)
class Count:
    listener: ListenerPlace


@dataclass(frozen=True, slots=True)
class AddRoutes:
    listener: ListenerPlace
    hostname: str
    routes: list[tuple[SortKey, Route]]


@dataclass(frozen=True, slots=True)
class AddCluster:
    cluster: Cluster


@dataclass(frozen=True, slots=True)
class UseServices:
    gateway: GatewayKey
    services: set[tuple[str, str]]


Effect = Count | AddRoutes | AddCluster | UseServices


@dataclass(frozen=True, slots=True)
class Attachment:
    """What attaching one route did, in one attachment epoch: its effects and status."""

    epoch: int
    effects: tuple[Effect, ...]
    status: dict[str, Any] | None


class ListenerPlaces:
    """Listener state <-> place, for the listeners of one translation's Gateways."""

    __slots__ = ("_by_id", "_gateways")

    def __init__(self, gateways: Mapping[GatewayKey, GatewayState]) -> None:
        self._gateways = gateways
        self._by_id: dict[int, ListenerPlace] | None = None

    def place(self, gateway: GatewayState, listener: ListenerState) -> ListenerPlace:
        if self._by_id is None:
            self._by_id = {}
            for key, state in self._gateways.items():
                for index, each in enumerate(state.listeners + state.set_listeners):
                    self._by_id[id(each)] = (key, index)
        return self._by_id[id(listener)]

    def gateway(self, key: GatewayKey) -> GatewayState:
        return self._gateways[key]

    def listener(self, place: ListenerPlace) -> tuple[GatewayState, ListenerState]:
        gateway = self._gateways[place[0]]
        index = place[1]
        own = gateway.listeners
        found = own[index] if index < len(own) else gateway.set_listeners[index - len(own)]
        return gateway, found


class Recorder:
    """Applies attachment effects to this translation and, while `effects` is a list,
    records them for the route being attached."""

    __slots__ = ("_add_cluster", "_note_services", "effects", "places")

    def __init__(
        self,
        places: ListenerPlaces,
        add_cluster: Callable[[Cluster], None],
        note_services: Callable[[GatewayState, set[tuple[str, str]]], None] | None,
    ) -> None:
        self.places = places
        self._add_cluster = add_cluster
        self._note_services = note_services
        self.effects: list[Effect] | None = None

    def count(self, gateway: GatewayState, listener: ListenerState) -> None:
        listener.attached_routes += 1
        if self.effects is not None:
            self.effects.append(Count(self.places.place(gateway, listener)))

    def add_routes(
        self,
        gateway: GatewayState,
        listener: ListenerState,
        hostname: str,
        routes: list[tuple[SortKey, Route]],
    ) -> None:
        gateway.add_routes(listener, hostname, routes)
        if self.effects is not None:
            place = self.places.place(gateway, listener)
            self.effects.append(AddRoutes(place, hostname, routes))

    def add_cluster(self, cluster: Cluster) -> None:
        self._add_cluster(cluster)
        if self.effects is not None:
            self.effects.append(AddCluster(cluster))

    def use_services(self, gateway: GatewayState, services: set[tuple[str, str]]) -> None:
        if self._note_services is not None:
            self._note_services(gateway, services)
        if self.effects is not None:
            self.effects.append(UseServices((gateway.namespace, gateway.name), services))

    def replay(self, attachment: Attachment) -> None:
        """Do again what a recorded attachment did, on this translation's states."""
        places = self.places
        for effect in attachment.effects:
            if isinstance(effect, AddRoutes):
                gateway, listener = places.listener(effect.listener)
                gateway.add_routes(listener, effect.hostname, effect.routes)
            elif isinstance(effect, Count):
                places.listener(effect.listener)[1].attached_routes += 1
            elif isinstance(effect, AddCluster):
                self._add_cluster(effect.cluster)
            elif self._note_services is not None:
                self._note_services(places.gateway(effect.gateway), effect.services)
