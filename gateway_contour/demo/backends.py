"""Start an echo backend for every loopback endpoint the configuration names.

The quickstart's EndpointSlices point at 127.0.0.1 ports; this starts a real echo server on
each, named after its Service, so the demo needs nothing else running.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from gateway_contour.demo.echo import EchoBackend, start_echo
from gateway_contour.listen import ListenError


def loopback_endpoints(objects: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(service name, address, port) for each loopback endpoint of each EndpointSlice."""
    found: set[tuple[str, str, int]] = set()
    for obj in objects:
        if obj.get("kind") != "EndpointSlice":
            continue
        labels = obj.get("metadata", {}).get("labels") or {}
        service = labels.get("kubernetes.io/service-name", obj["metadata"]["name"])
        ports = [p.get("port") for p in obj.get("ports") or [] if isinstance(p.get("port"), int)]
        for endpoint in obj.get("endpoints") or []:
            for address in endpoint.get("addresses") or []:
                try:
                    if not ipaddress.ip_address(address).is_loopback:
                        continue
                except ValueError:
                    continue
                for port in ports:
                    found.add((service, address, port))
    return sorted(found)


def start_demo_backends(objects: list[dict[str, Any]]) -> list[EchoBackend]:
    """The echo backends, started; ListenError when one cannot listen (the others stopped)."""
    started: list[EchoBackend] = []
    for name, host, port in loopback_endpoints(objects):
        try:
            started.append(start_echo(name, host, port))
        except OSError as err:
            for backend in started:
                backend.stop()
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise ListenError(f"the demo backend {name}", where, err.strerror or str(err)) from None
    return started
