"""The implicit Envoy fleet that serves the legacy APIs (Ingress and HTTPProxy).

Ingress and HTTPProxy objects name no Gateway: like Contour, all of them are served by one
fleet, `TranslateOptions.legacy_fleet`, with two listeners: plain HTTP on
`legacy_http_port` (listener "ingress_http") and HTTPS on `legacy_https_port`
("ingress_https"), bound to `options.address_of(legacy_fleet)`. Each translator adds its
virtual hosts here; `add_to(builder)` puts the fleet into the IR only when something was
added, so a cluster without Ingress or HTTPProxy objects gets no extra fleet.

Hostnames are claimed first come, first served (`claim`): the translators run in a fixed
order and sort their objects, so the owner of a contested hostname is deterministic, and the
loser can say who owns it in its status. Virtual hosts added twice under one hostname (several
Ingresses for one host) are merged: routes are appended in the order added, and the first
TLS/passthrough/policy setting wins.
"""

from __future__ import annotations

import dataclasses

from gateway_contour.ir.model import Gateway, Listener, Protocol, VirtualHost
from gateway_contour.translate.builder import IRBuilder
from gateway_contour.translate.options import TranslateOptions

HTTP_LISTENER = "ingress_http"
HTTPS_LISTENER = "ingress_https"


class LegacyFleet:
    __slots__ = ("_claims", "_http", "_https", "_options")

    def __init__(self, options: TranslateOptions) -> None:
        self._options = options
        self._claims: dict[str, str] = {}
        self._http: dict[str, VirtualHost] = {}
        self._https: dict[str, VirtualHost] = {}

    @property
    def name(self) -> str:
        return self._options.legacy_fleet

    def claim(self, hostname: str, owner: str) -> str | None:
        """Take `hostname` for `owner` ("Kind namespace/name"); None when it is now (or
        already was) the owner's, else the owner that holds it."""
        held = self._claims.setdefault(hostname, owner)
        return None if held == owner else held

    def owner(self, hostname: str) -> str | None:
        return self._claims.get(hostname)

    def add_http(self, vh: VirtualHost) -> None:
        """A virtual host on the plain HTTP listener."""
        _merge(self._http, vh)

    def add_https(self, vh: VirtualHost) -> None:
        """A virtual host on the HTTPS listener: it must carry `tls` or `passthrough`. A
        wildcard host that terminates TLS answers 421 to a Host that is not its SNI."""
        if vh.tls is not None and vh.hostname.startswith("*."):
            vh = dataclasses.replace(vh, tls=dataclasses.replace(vh.tls, host_must_match_sni=True))
        _merge(self._https, vh)

    def add_to(self, builder: IRBuilder) -> None:
        if not self._http and not self._https:
            return
        address = self._options.address_of(self.name)
        options = self._options
        listeners = tuple(
            Listener(
                name=name,
                address=address,
                port=port,
                protocol=protocol,
                virtual_hosts=_sorted_hosts(hosts),
            )
            for name, port, protocol, hosts in (
                (HTTP_LISTENER, options.legacy_http_port, Protocol.HTTP, self._http),
                (HTTPS_LISTENER, options.legacy_https_port, Protocol.HTTPS, self._https),
            )
            if hosts
        )
        builder.add_gateway(Gateway(name=self.name, listeners=listeners))


def _merge(hosts: dict[str, VirtualHost], vh: VirtualHost) -> None:
    found = hosts.get(vh.hostname)
    if found is None:
        hosts[vh.hostname] = vh
        return
    hosts[vh.hostname] = dataclasses.replace(
        found,
        routes=found.routes + vh.routes,
        tls=found.tls or vh.tls,
        passthrough=found.passthrough or vh.passthrough,
        cors=found.cors or vh.cors,
        ip_filter=found.ip_filter or vh.ip_filter,
        rate_limit=found.rate_limit or vh.rate_limit,
        fallback_tls=found.fallback_tls or vh.fallback_tls,
    )


def _sorted_hosts(hosts: dict[str, VirtualHost]) -> tuple[VirtualHost, ...]:
    """Exact hostnames before wildcards before "*", each group by name: Envoy picks the most
    specific domain anyway, this keeps the output stable and readable."""

    def rank(name: str) -> tuple[int, str]:
        return (2 if name == "*" else 1 if name.startswith("*.") else 0, name)

    return tuple(hosts[name] for name in sorted(hosts, key=rank))


_UNSPECIFIED = frozenset({"0.0.0.0", "::", ""})


def status_address(options: TranslateOptions) -> str | None:
    """The address clients reach the fleet on, for the objects' status (Ingress
    status.loadBalancer): the one the provisioner assigned, else the configured status
    address, else the bind address unless it is a wildcard; None when unknown."""
    assigned = options.gateway_addresses.get(options.legacy_fleet)
    if assigned:
        return assigned
    if options.ingress_status_address:
        return options.ingress_status_address
    return None if options.default_address in _UNSPECIFIED else options.default_address
