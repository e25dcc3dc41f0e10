"""Loopback addresses for host-mode Gateways: each Gateway gets its own 127.x.y.z.

Several Gateways may listen on the same port (the conformance suite's base Gateways all use
80), so in host mode each one binds its own loopback address. Assignments are sticky for a
Gateway's lifetime and released when it goes away; Linux routes all of 127.0.0.0/8 to lo.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from gateway_contour.store.objects import Snapshot


class LoopbackAllocator:
    def __init__(self, first: str = "127.0.1.1", last: str = "127.0.255.254") -> None:
        self._first = int(ipaddress.IPv4Address(first))
        self._last = int(ipaddress.IPv4Address(last))
        self.assigned: dict[str, str] = {}

    def assign(self, gateways: Iterable[str]) -> dict[str, str]:
        """Addresses for exactly `gateways` (sorted, so a fresh start assigns the same)."""
        wanted = sorted(set(gateways))
        for gone in set(self.assigned) - set(wanted):
            del self.assigned[gone]
        used = {int(ipaddress.IPv4Address(a)) for a in self.assigned.values()}
        candidate = self._first
        for gateway in wanted:
            if gateway in self.assigned:
                continue
            while candidate in used or candidate % 256 in (0, 255):
                candidate += 1
            if candidate > self._last:
                raise RuntimeError("out of loopback addresses for Gateways")
            self.assigned[gateway] = str(ipaddress.IPv4Address(candidate))
            used.add(candidate)
        return dict(self.assigned)


def our_gateways(snapshot: Snapshot, controller_name: str) -> list[str]:
    """ "namespace/name" of every Gateway whose GatewayClass names our controller."""
    classes = {
        gc["metadata"]["name"]
        for gc in snapshot.objects("GatewayClass")
        if (gc.get("spec") or {}).get("controllerName") == controller_name
    }
    return [
        f"{gw['metadata'].get('namespace', '')}/{gw['metadata']['name']}"
        for gw in snapshot.objects("Gateway")
        if (gw.get("spec") or {}).get("gatewayClassName") in classes
    ]
