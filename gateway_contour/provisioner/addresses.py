"""Addresses for host-mode Gateways: each Gateway gets its own 127.x.y.z, or the static
address it asks for in spec.addresses when this host can bind it.

Several Gateways may listen on the same port (the conformance suite's base Gateways all use
80), so in host mode each one binds its own loopback address. Assignments are sticky for a
Gateway's lifetime and released when it goes away; Linux routes all of 127.0.0.0/8 to lo.
A new assignment skips addresses some process already listens on (see `listening`): two
controllers on one host, or a test run beside the quickstart, never share a listener.

A static IPAddress is usable when this host can bind it: any loopback address, or one a
local interface holds (checked by binding a socket to it). A Hostname is never usable here
(host mode binds addresses, it does not own DNS names). Translation asks `HostAddresses`
(TranslateOptions.address_usable) and reports the others as AddressNotUsable.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gateway_contour.provisioner.listening import listening_addresses
from gateway_contour.store.objects import Snapshot

IP_ADDRESS = "IPAddress"


class LoopbackAllocator:
    def __init__(
        self,
        first: str = "127.0.1.1",
        last: str = "127.0.255.254",
        in_use: Callable[[], set[str]] = listening_addresses,
    ) -> None:
        self._first = int(ipaddress.IPv4Address(first))
        self._last = int(ipaddress.IPv4Address(last))
        self._in_use = in_use
        self.assigned: dict[str, str] = {}

    def assign(
        self, gateways: Iterable[str], static: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Addresses for exactly `gateways` (sorted, so a fresh start assigns the same);
        a Gateway in `static` gets that address instead of an allocated one."""
        static = static or {}
        wanted = sorted(set(gateways))
        for gone in set(self.assigned) - set(wanted):
            del self.assigned[gone]
        used = {int(ipaddress.IPv4Address(a)) for a in self.assigned.values()}
        for value in static.values():
            if isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address):
                used.add(int(ipaddress.IPv4Address(value)))
        candidate = self._first
        out: dict[str, str] = {}
        others: set[str] | None = None  # read once, and only when an address is handed out
        for gateway in wanted:
            if gateway in static:
                out[gateway] = static[gateway]
                continue
            if gateway not in self.assigned:
                if others is None:
                    others = self._in_use()
                    used |= {int(ipaddress.IPv4Address(a)) for a in others if _ipv4(a)}
                while candidate in used or candidate % 256 in (0, 255):
                    candidate += 1
                if candidate > self._last:
                    raise RuntimeError("out of loopback addresses for Gateways")
                self.assigned[gateway] = str(ipaddress.IPv4Address(candidate))
                used.add(candidate)
            out[gateway] = self.assigned[gateway]
        return out


class HostAddresses:
    """Which static addresses this host can give a Gateway (answers are remembered)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], bool] = {}

    def usable(self, type_: str, value: str) -> bool:
        key = (type_, value)
        if key not in self._known:
            self._known[key] = type_ == IP_ADDRESS and _bindable(value)
        return self._known[key]

    def static_addresses(self, snapshot: Snapshot, controller_name: str) -> dict[str, str]:
        """ "namespace/name" -> the first usable static IPAddress of each Gateway of ours."""
        out: dict[str, str] = {}
        for gateway in _our_gateway_objects(snapshot, controller_name):
            found = first_usable_address(gateway, self.usable)
            if found is not None:
                out[_full_name(gateway)] = found
        return out


def first_usable_address(gateway: dict[str, Any], usable: Callable[[str, str], bool]) -> str | None:
    """The first of the Gateway's spec.addresses that `usable(type, value)` accepts (the type
    defaults to IPAddress), normalized; None when there is none."""
    for address in (gateway.get("spec") or {}).get("addresses") or []:
        if not isinstance(address, dict):
            continue
        type_ = address.get("type") or IP_ADDRESS
        value = address.get("value")
        if isinstance(value, str) and value and usable(type_, value):
            return str(ipaddress.ip_address(value))
    return None


def _ipv4(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
    except ValueError:
        return False


def _bindable(value: str) -> bool:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    if ip.is_loopback:
        return True
    if ip.is_unspecified or ip.is_multicast:
        return False
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(ip), 0))
        except OSError as err:
            # EADDRINUSE: the address is this host's, only that port was taken
            return err.errno == errno.EADDRINUSE
    return True


def _full_name(gateway: dict[str, Any]) -> str:
    meta = gateway["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def _our_gateway_objects(snapshot: Snapshot, controller_name: str) -> list[dict[str, Any]]:
    classes = {
        gc["metadata"]["name"]
        for gc in snapshot.objects("GatewayClass")
        if (gc.get("spec") or {}).get("controllerName") == controller_name
    }
    return [
        gw
        for gw in snapshot.objects("Gateway")
        if (gw.get("spec") or {}).get("gatewayClassName") in classes
    ]


def our_gateways(snapshot: Snapshot, controller_name: str) -> list[str]:
    """ "namespace/name" of every Gateway whose GatewayClass names our controller."""
    return [_full_name(gw) for gw in _our_gateway_objects(snapshot, controller_name)]
