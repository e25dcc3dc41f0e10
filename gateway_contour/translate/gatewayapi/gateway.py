"""Gateways of our classes: their listener states, the routes attached to them, the ir
`Gateway` they become, and their status.

Listeners sharing a port share one ir Listener named "<protocol>-<port>" (e.g. "http-80");
each distinct hostname served on it is one VirtualHost. Envoy sends a request to exactly one
virtual host (the most specific domain), so a virtual host carries every route that may
serve its hostname: those of the Gateway listener that owns the hostname (the most specific
listener hostname covering it), first the routes for the hostname itself, then those of
each covering wildcard, most specific first, then the listener's catch-all; each group
sorted by Gateway API match precedence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway_contour.ir.model import (
    Gateway,
    Listener,
    Protocol,
    Route,
    TLSServer,
    VirtualHost,
)
from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.certificates import CertificateResolver
from gateway_contour.translate.gatewayapi.hostnames import (
    ANY_HOST,
    covering_hostnames,
    vhost_order,
)
from gateway_contour.translate.gatewayapi.listeners import ListenerState, validate_listeners

SortKey = tuple[Any, ...]


@dataclass(slots=True)
class GatewayState:
    obj: KubeObject
    namespace: str
    name: str
    generation: int
    listeners: list[ListenerState]
    # port -> (listener name, hostname) -> route name -> (precedence key, route)
    routes: dict[int, dict[tuple[str, str], dict[str, tuple[SortKey, Route]]]] = field(
        default_factory=dict
    )

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"

    def add_routes(
        self, listener: ListenerState, hostname: str, routes: list[tuple[SortKey, Route]]
    ) -> None:
        entries = self.routes.setdefault(listener.port, {})
        by_name = entries.setdefault((listener.name, hostname), {})
        for key, route in routes:
            by_name[route.name] = (key, route)

    def to_ir(self, address: str) -> Gateway:
        listeners = []
        for port in sorted({s.port for s in self.listeners if s.ready}):
            on_port = [s for s in self.listeners if s.ready and s.port == port]
            # listeners on one port share a protocol family (else they are conflicted)
            protocol = Protocol(on_port[0].protocol)
            listeners.append(
                Listener(
                    name=f"{protocol.value.lower()}-{port}",
                    address=address,
                    port=port,
                    protocol=protocol,
                    virtual_hosts=self._virtual_hosts(port, on_port),
                )
            )
        return Gateway(name=self.full_name, listeners=tuple(listeners))

    def status(self, address: str | None) -> dict[str, Any]:
        gen = self.generation
        ready = [s for s in self.listeners if s.ready]
        invalid = [s.name for s in self.listeners if not s.ready]
        if not self.listeners:
            accepted = c.condition(
                c.ACCEPTED, False, c.REASON_LISTENERS_NOT_VALID, "Gateway has no listeners", gen
            )
        elif not invalid:
            accepted = c.condition(c.ACCEPTED, True, c.REASON_ACCEPTED, "Gateway is accepted", gen)
        else:
            message = f"invalid listeners: {', '.join(invalid)}"
            accepted = c.condition(
                c.ACCEPTED, bool(ready), c.REASON_LISTENERS_NOT_VALID, message, gen
            )
        if ready:
            programmed = c.condition(
                c.PROGRAMMED, True, c.REASON_PROGRAMMED, "Gateway is programmed", gen
            )
        else:
            programmed = c.condition(
                c.PROGRAMMED, False, c.REASON_INVALID, "Gateway has no valid listener", gen
            )
        status: dict[str, Any] = {}
        if address is not None:
            status["addresses"] = [{"type": "IPAddress", "value": address}]
        status["conditions"] = [accepted, programmed]
        status["listeners"] = [s.status(gen) for s in self.listeners]
        return status

    def _virtual_hosts(self, port: int, on_port: list[ListenerState]) -> tuple[VirtualHost, ...]:
        entries = self.routes.get(port, {})
        owners = {s.hostname or ANY_HOST: s for s in on_port}
        hostnames = {h for _, h in entries}
        # every listener hostname gets its host, routes or not: requests for it belong to
        # that listener (404 without routes), never to a less specific listener's routes;
        # and an HTTPS listener terminates TLS for it
        hostnames.update(h for h in owners if h != ANY_HOST)
        sorted_entries: dict[tuple[str, str], list[Route]] = {}
        vhosts = []
        for hostname in sorted(hostnames, key=vhost_order):
            covering = covering_hostnames(hostname)
            owner = next((owners[h] for h in covering if h in owners), None)
            if owner is None:
                continue
            routes: dict[str, Route] = {}
            for cover in covering:
                entry = (owner.name, cover)
                if entry not in entries:
                    continue
                if entry not in sorted_entries:
                    ordered = sorted(entries[entry].values(), key=_first)
                    sorted_entries[entry] = [r for _, r in ordered]
                for route in sorted_entries[entry]:
                    routes.setdefault(route.name, route)
            tls = None
            if owner.secrets:
                tls = TLSServer(secrets=tuple(secret.name for secret in owner.secrets))
            if routes or tls or hostname in owners:
                vhosts.append(
                    VirtualHost(
                        name=hostname, hostname=hostname, routes=tuple(routes.values()), tls=tls
                    )
                )
        return tuple(vhosts)


def _first(item: tuple[SortKey, Route]) -> SortKey:
    return item[0]


def gateway_state(gateway: KubeObject, certificates: CertificateResolver) -> GatewayState:
    """The state of one (defaulted) Gateway, with its listeners validated and the
    certificates of its HTTPS listeners resolved."""
    meta = gateway["metadata"]
    spec = gateway.get("spec") or {}
    listeners = validate_listeners(spec.get("listeners"))
    for listener in listeners:
        if listener.protocol == "HTTPS" and listener.not_accepted is None:
            found = certificates.resolve(meta["namespace"], listener.tls)
            listener.certificate_error = found.error
            listener.secrets = found.secrets
    return GatewayState(
        obj=gateway,
        namespace=meta["namespace"],
        name=meta["name"],
        generation=c.generation_of(gateway),
        listeners=listeners,
    )
