"""Pod networking for the node agent: one network namespace per Pod on a private bridge.

The API server refuses loopback addresses in Pod IPs and EndpointSlices, and echo-basic
listens on the wildcard address (":3000"), so Pods cannot share one namespace. Each Pod gets
its own namespace (a "test host") with one address from a /16 of 10.x.0.0 that no route of
this machine covers yet; a veth pair joins it to a bridge whose address (.0.1) is the node's.
No namespace gets a default route: a Pod can reach the bridge's subnet and nothing else, and
Envoy (root namespace) reaches the Pods across the bridge. Needs root and iproute2.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import threading
from dataclasses import dataclass, field


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def routed_networks() -> list[ipaddress.IPv4Network]:
    out = subprocess.run(
        ["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True, check=True
    ).stdout
    networks = []
    for line in out.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("local", "broadcast", "unreachable", "blackhole", "prohibit"):
            word = line.split()[1]
        if word == "default":
            continue  # the default route overlaps everything by definition
        try:
            networks.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            continue
    return [n for n in networks if isinstance(n, ipaddress.IPv4Network)]


def free_subnet(first: int = 220, last: int = 250) -> ipaddress.IPv4Network:
    """The first 10.N.0.0/16 (N in [first, last]) that overlaps no route of this machine (other
    test runs' namespaces included)."""
    taken = routed_networks()
    for n in range(first, last + 1):
        candidate = ipaddress.IPv4Network(f"10.{n}.0.0/16")
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise RuntimeError("no free 10.N.0.0/16 for the Pod network")


@dataclass
class PodSandbox:
    """One Pod's network namespace."""

    netns: str
    address: str
    host_if: str


@dataclass
class PodNetwork:
    subnet: ipaddress.IPv4Network = field(default_factory=free_subnet)
    tag: str = field(default_factory=lambda: os.urandom(2).hex())
    sandboxes: dict[str, PodSandbox] = field(default_factory=dict)
    _next: int = 2
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _up: bool = False

    @property
    def bridge(self) -> str:
        return f"gcb{self.tag}"

    @property
    def node_address(self) -> str:
        """The bridge's own address: the node's InternalIP (the kubelet endpoint listens here)."""
        return str(self.subnet[1])

    def up(self) -> PodNetwork:
        _ip("link", "add", self.bridge, "type", "bridge")
        self._up = True
        _ip("addr", "add", f"{self.node_address}/{self.subnet.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        return self

    def create(self, key: str) -> PodSandbox:
        """A new namespace with its own address for the Pod `key` (e.g. its uid)."""
        with self._lock:
            index = self._next
            self._next += 1
            if index >= self.subnet.num_addresses - 1:
                raise RuntimeError("Pod network exhausted")
            address = str(self.subnet[index])
        netns = f"gcp{self.tag}-{index}"
        host_if, pod_if = f"gv{self.tag}{index}h", f"gv{self.tag}{index}p"
        _ip("netns", "add", netns)
        try:
            _ip("link", "add", host_if, "type", "veth", "peer", "name", pod_if)
            _ip("link", "set", pod_if, "netns", netns)
            _ip("link", "set", host_if, "master", self.bridge)
            _ip("link", "set", host_if, "up")
            inside = ("netns", "exec", netns, "ip")
            _ip(*inside, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", pod_if)
            _ip(*inside, "link", "set", pod_if, "up")
            _ip(*inside, "link", "set", "lo", "up")
        except BaseException:
            subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)
            subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)
            raise
        sandbox = PodSandbox(netns, address, host_if)
        with self._lock:
            self.sandboxes[key] = sandbox
        return sandbox

    def remove(self, key: str) -> None:
        with self._lock:
            sandbox = self.sandboxes.pop(key, None)
        if sandbox is not None:
            # Deleting the namespace deletes the veth end inside it, and so its peer.
            subprocess.run(["ip", "netns", "del", sandbox.netns], capture_output=True, check=False)
            subprocess.run(["ip", "link", "del", sandbox.host_if], capture_output=True, check=False)

    def down(self) -> None:
        for key in list(self.sandboxes):
            self.remove(key)
        if self._up:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)
            self._up = False
