"""Gateways of our classes: their listener states, the routes attached to them, the ir
`Gateway` they become, and their status.

Listeners sharing a port share one ir Listener named "<protocol>-<port>" (e.g. "http-80");
each distinct hostname served on it is one VirtualHost. Envoy sends a request to exactly one
virtual host (the most specific domain), so a virtual host carries every route that may
serve its hostname: those of the Gateway listener that owns the hostname (the most specific
listener hostname covering it), first the routes for the hostname itself, then those of
each covering wildcard, most specific first, then the listener's catch-all; each group
sorted by Gateway API match precedence. On HTTPS, a host's `sni` is its owner listener's
hostname, so the SNI picks the listener and a Host owned by another listener gets 421.

Gateway-level settings: spec.addresses (IPAddress or Hostname; an empty value asks for any)
and spec.infrastructure labels/annotations go to the ir Gateway for the provisioner; an
infrastructure.parametersRef that cannot be used (not a gateway-contour.dev ContourDeployment
in the Gateway's namespace, not found, a value out of range: api/contour_deployment.py) is
InvalidParameters, and a usable one is only the provisioner's concern (it shapes the
Gateway's fleet; host provisioning ignores it as it does the class's); an unknown address
type UnsupportedAddress; spec.tls.backend.clientCertificateRef becomes the fleet's
backend client certificate, spec.tls.frontend the listeners' client validation
(`frontend_tls`). ResolvedRefs sums up the Gateway's own references and its listeners'.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway_contour.api.contour_deployment import parameters_of_gateway
from gateway_contour.ir.model import (
    ClientValidation,
    Gateway,
    GatewayAddress,
    Listener,
    Protocol,
    Route,
    Secret,
    TLSServer,
    VirtualHost,
)
from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.data import dicts, mapping, text
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.certificates import CertificateResolver
from gateway_contour.translate.gatewayapi.frontend_tls import ClientCA, FrontendValidation
from gateway_contour.translate.gatewayapi.hostnames import (
    ANY_HOST,
    covering_hostnames,
    hostname_error,
    vhost_order,
)
from gateway_contour.translate.gatewayapi.l4table import L4Table
from gateway_contour.translate.gatewayapi.listeners import ListenerState, validate_listeners

SortKey = tuple[Any, ...]
SUPPORTED_ADDRESS_TYPES = frozenset({"IPAddress", "Hostname"})


@dataclass(slots=True)
class GatewayState:
    obj: KubeObject
    namespace: str
    name: str
    generation: int
    listeners: list[ListenerState]
    # (reason, message) when the Gateway itself is not accepted (its listeners still get
    # their status, but nothing is programmed)
    not_accepted: tuple[str, str] | None = None
    addresses: tuple[GatewayAddress, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    # spec.tls.backend.clientCertificateRef: the Secret, or why it does not resolve
    backend_client: Secret | None = None
    backend_client_error: tuple[str, str] | None = None
    # listeners of accepted ListenerSets (programmed with the Gateway's own; status elsewhere)
    set_listeners: list[ListenerState] = field(default_factory=list)
    attached_listener_sets: int = 0
    # port -> (listener name, hostname) -> route name -> (precedence key, route)
    routes: dict[int, dict[tuple[str, str], dict[str, tuple[SortKey, Route]]]] = field(
        default_factory=dict
    )
    # what TLSRoutes, TCPRoutes and UDPRoutes ask of its TLS/TCP/UDP listeners
    l4: L4Table = field(default_factory=L4Table)

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"

    def add_routes(
        self, listener: ListenerState, hostname: str, routes: list[tuple[SortKey, Route]]
    ) -> None:
        entries = self.routes.setdefault(listener.port, {})
        by_name = entries.setdefault((listener.key, hostname), {})
        for key, route in routes:
            by_name[route.name] = (key, route)

    def to_ir(self, address: str) -> Gateway:
        listeners = []
        every = self.listeners + self.set_listeners
        ready_ports = {s.port for s in every if s.ready and self.not_accepted is None}
        for port in sorted(ready_ports):
            on_port = [s for s in every if s.ready and s.port == port]
            # listeners on one port share a protocol family (else they are conflicted)
            protocol = Protocol(on_port[0].protocol)
            if protocol in (Protocol.TCP, Protocol.UDP):
                listeners.extend(self.l4.proxy_listeners(port, on_port, address))
                continue
            virtual_hosts = self._virtual_hosts(port, on_port)
            if protocol in (Protocol.HTTPS, Protocol.TLS):
                virtual_hosts += self.l4.tls_virtual_hosts(on_port)
            listeners.append(
                Listener(
                    name=f"{protocol.value.lower()}-{port}",
                    address=address,
                    port=port,
                    protocol=protocol,
                    virtual_hosts=virtual_hosts,
                )
            )
        return Gateway(
            name=self.full_name,
            listeners=tuple(listeners),
            addresses=self.addresses,
            labels=self.labels,
            annotations=self.annotations,
            backend_client_secret=self.backend_client.name if self.backend_client else None,
        )

    def status(
        self, address: str | None, address_usable: Callable[[str, str], bool] | None = None
    ) -> dict[str, Any]:
        """The Gateway's status. `address` is the one the provisioner assigned (None when
        it did not say); `address_usable` tells which static addresses it can serve."""
        gen = self.generation
        ready = [s for s in self.listeners if s.ready]
        # a listener waiting for a certificate is accepted (only not programmed)
        invalid = [s.name for s in self.listeners if s.not_accepted or s.conflict]
        unusable = [
            a.value
            for a in self.addresses
            if a.value and address_usable is not None and not address_usable(a.type, a.value)
        ]
        if self.not_accepted is not None:
            accepted = c.condition(c.ACCEPTED, False, *self.not_accepted, gen)
        elif not self.listeners:
            accepted = c.condition(
                c.ACCEPTED, False, c.REASON_LISTENERS_NOT_VALID, "Gateway has no listeners", gen
            )
        elif not invalid:
            accepted = c.condition(c.ACCEPTED, True, c.REASON_ACCEPTED, "Gateway is accepted", gen)
        else:
            message = f"invalid listeners: {', '.join(invalid)}"
            some_valid = len(invalid) < len(self.listeners)
            accepted = c.condition(
                c.ACCEPTED, some_valid, c.REASON_LISTENERS_NOT_VALID, message, gen
            )
        if self.not_accepted is not None:
            programmed = c.condition(
                c.PROGRAMMED, False, c.REASON_INVALID, "Gateway is not accepted", gen
            )
        elif unusable:
            programmed = c.condition(
                c.PROGRAMMED,
                False,
                c.REASON_ADDRESS_NOT_USABLE,
                f"addresses cannot be used: {', '.join(unusable)}",
                gen,
            )
        elif ready:
            programmed = c.condition(
                c.PROGRAMMED, True, c.REASON_PROGRAMMED, "Gateway is programmed", gen
            )
        else:
            programmed = c.condition(
                c.PROGRAMMED, False, c.REASON_INVALID, "Gateway has no valid listener", gen
            )
        status: dict[str, Any] = {}
        static = [a for a in self.addresses if a.value and a.value not in unusable]
        if static and self.not_accepted is None:
            status["addresses"] = [{"type": a.type, "value": a.value} for a in static]
        elif address is not None:
            status["addresses"] = [{"type": "IPAddress", "value": address}]
        status["conditions"] = [accepted, programmed, self._resolved_refs()]
        if any(s.client_optional and s.client_ca is not None for s in self.listeners):
            status["conditions"].append(
                c.condition(
                    c.INSECURE_FRONTEND_VALIDATION_MODE,
                    True,
                    c.REASON_CONFIGURATION_CHANGED,
                    "clients without a valid certificate are let through (AllowInsecureFallback)",
                    gen,
                )
            )
        gateway_accepted = self.not_accepted is None
        status["listeners"] = [s.status(gen, gateway_accepted) for s in self.listeners]
        if self.attached_listener_sets:
            status["attachedListenerSets"] = self.attached_listener_sets
        return status

    def _resolved_refs(self) -> dict[str, Any]:
        """The Gateway's ResolvedRefs: its own references (the backend client certificate),
        then a summary of its listeners'."""
        gen = self.generation
        if self.backend_client_error is not None:
            return c.condition(c.RESOLVED_REFS, False, *self.backend_client_error, gen)
        unresolved = [
            s.name for s in self.listeners if s.certificate_error or s.ca_error or s.unresolved
        ]
        if unresolved:
            message = f"listeners with unresolved references: {', '.join(unresolved)}"
            return c.condition(
                c.RESOLVED_REFS, False, c.REASON_LISTENERS_NOT_RESOLVED, message, gen
            )
        return c.condition(
            c.RESOLVED_REFS, True, c.REASON_RESOLVED_REFS, "References resolved", gen
        )

    def _virtual_hosts(self, port: int, on_port: list[ListenerState]) -> tuple[VirtualHost, ...]:
        entries = self.routes.get(port, {})
        # (TLS listeners' hosts come from the l4 table)
        owners = {s.hostname or ANY_HOST: s for s in on_port if s.protocol != "TLS"}
        hostnames = {h for _, h in entries}
        # every listener hostname gets its host, routes or not: requests for it belong to
        # that listener (404 without routes), never to a less specific listener's routes;
        # and an HTTPS listener terminates TLS for it
        # (the catch-all of an HTTPS listener too: it is the default TLS chain)
        hostnames.update(h for h, s in owners.items() if h != ANY_HOST or s.secrets)
        sorted_entries: dict[tuple[str, str], list[Route]] = {}
        vhosts = []
        for hostname in sorted(hostnames, key=vhost_order):
            covering = covering_hostnames(hostname)
            owner = next((owners[h] for h in covering if h in owners), None)
            if owner is None:
                continue
            routes: dict[str, Route] = {}
            for cover in covering:
                entry = (owner.key, cover)
                if entry not in entries:
                    continue
                if entry not in sorted_entries:
                    ordered = sorted(entries[entry].values(), key=_first)
                    sorted_entries[entry] = [r for _, r in ordered]
                for route in sorted_entries[entry]:
                    routes.setdefault(route.name, route)
            tls = sni = None
            if owner.secrets:
                validation = None
                if owner.client_ca is not None:
                    validation = ClientValidation(
                        ca_secret=owner.client_ca.name, optional=owner.client_optional
                    )
                tls = TLSServer(
                    secrets=tuple(secret.name for secret in owner.secrets),
                    client_validation=validation,
                )
                sni = owner.hostname or ANY_HOST
            if routes or tls or hostname in owners:
                vhosts.append(
                    VirtualHost(
                        name=hostname,
                        hostname=hostname,
                        routes=tuple(routes.values()),
                        tls=tls,
                        sni=sni,
                    )
                )
        return tuple(vhosts)


def _first(item: tuple[SortKey, Route]) -> SortKey:
    return item[0]


def gateway_state(
    gateway: KubeObject,
    certificates: CertificateResolver,
    frontend: FrontendValidation,
    snapshot: Snapshot,
) -> GatewayState:
    """The state of one (defaulted) Gateway, with its listeners validated, the
    certificates and client validation of its HTTPS listeners resolved, and its own
    parametersRef looked up in `snapshot`."""
    meta = gateway["metadata"]
    spec = gateway.get("spec") or {}
    listeners = validate_listeners(spec.get("listeners"))
    frontend_tls = mapping(spec.get("tls")).get("frontend")
    for listener in listeners:
        if listener.terminates_tls and listener.not_accepted is None:
            found = certificates.resolve(meta["namespace"], listener.tls)
            listener.certificate_error = found.error
            listener.secrets = found.secrets
            if frontend_tls is not None and listener.protocol == "HTTPS":
                _client_validation(
                    listener, frontend.for_port(meta["namespace"], frontend_tls, listener.port)
                )
    backend_client: Secret | None = None
    backend_client_error: tuple[str, str] | None = None
    client_ref = mapping(mapping(spec.get("tls")).get("backend")).get("clientCertificateRef")
    if client_ref is not None:
        client = certificates.resolve_one(meta["namespace"], client_ref)
        if isinstance(client, Secret):
            backend_client = client
        elif client[0] == c.REASON_REF_NOT_PERMITTED:
            backend_client_error = client
        else:
            backend_client_error = (c.REASON_INVALID_CLIENT_CERTIFICATE_REF, client[1])
    infrastructure = mapping(spec.get("infrastructure"))
    addresses, address_error = _addresses(spec.get("addresses"))
    not_accepted = address_error
    _, parameters_problem = parameters_of_gateway(gateway, snapshot)
    if parameters_problem is not None:
        not_accepted = (c.REASON_INVALID_PARAMETERS, parameters_problem)
    return GatewayState(
        obj=gateway,
        namespace=meta["namespace"],
        name=meta["name"],
        generation=c.generation_of(gateway),
        listeners=listeners,
        not_accepted=not_accepted,
        addresses=addresses,
        labels=_string_pairs(infrastructure.get("labels")),
        annotations=_string_pairs(infrastructure.get("annotations")),
        backend_client=backend_client,
        backend_client_error=backend_client_error,
    )


def _client_validation(listener: ListenerState, found: ClientCA | None) -> None:
    if found is None:
        return
    listener.ca_error = found.error
    listener.client_ca = found.secret
    listener.client_optional = found.optional
    if found.secret is None:
        reason = found.error[1] if found.error else "no usable caCertificateRefs"
        listener.not_accepted = (c.REASON_NO_VALID_CA_CERTIFICATE, reason)


def _addresses(raw: Any) -> tuple[tuple[GatewayAddress, ...], tuple[str, str] | None]:
    """spec.addresses as ir addresses, and why the Gateway is not accepted (an address
    type other than IPAddress and Hostname, or a value that is not one). An address without
    a value asks for any address of its type."""
    out = []
    for entry in dicts(raw):
        type_ = text(entry.get("type")) or "IPAddress"
        value = text(entry.get("value"))
        if type_ not in SUPPORTED_ADDRESS_TYPES:
            return (), (c.REASON_UNSUPPORTED_ADDRESS, f"address type {type_!r} is not supported")
        if not value:
            pass  # "any address of this type": the provisioner picks one
        elif type_ == "IPAddress" and not _is_ip(value):
            return (), (c.REASON_UNSUPPORTED_ADDRESS, f"{value!r} is not an IP address")
        if type_ == "Hostname" and hostname_error(value):
            return (), (c.REASON_UNSUPPORTED_ADDRESS, f"{value!r} is not a hostname")
        out.append(GatewayAddress(type_, value))
    return tuple(dict.fromkeys(out)), None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _string_pairs(raw: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in mapping(raw).items()))
