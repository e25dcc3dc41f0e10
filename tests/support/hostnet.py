"""Test hosts in a network namespace: backends on real, non-loopback addresses.

The API server refuses loopback addresses in EndpointSlices and Pod-derived endpoints, so
backends that Kubernetes objects point at cannot live on 127.0.0.0/8. Instead we make our own
test hosts: a network namespace joined to this one by a veth pair, with as many addresses as
there are backends on its side. Processes run inside it with `ip netns exec`; Envoy, in the
root namespace, reaches them across the veth. Needs root and iproute2 (CI has both).

Each network takes a /24 that no route of this machine covers yet, picked at random from
10.192.0.0-10.211.255.0: with one fixed subnet, a second network (a bench or another test
run on the machine, or a namespace left behind by a killed one) made the kernel route the
test's connections into the other one's namespace, and a stranger's echo answered, or
nobody did.
"""

from __future__ import annotations

import ipaddress
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from conformance.harness.podnet import routed_networks


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def free_subnet() -> str:
    """A random 10.192-211.x.0/24 that overlaps no route of this machine. (The node tier's
    fixed subnets, 10.215-216, and the node agent's Pod networks, 10.220 and up, lie
    outside this range.)"""
    taken = routed_networks()
    candidates = [(a, b) for a in range(192, 212) for b in range(256)]
    random.shuffle(candidates)
    for a, b in candidates:
        net = ipaddress.IPv4Network(f"10.{a}.{b}.0/24")
        if not any(net.overlaps(t) for t in taken):
            return str(net)
    raise RuntimeError("no free /24 in 10.192.0.0/12 for test hosts")


@dataclass
class HostProcess:
    name: str
    address: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class HostNetwork:
    """A namespace with a /24 of test host addresses; `.1` is the root namespace's side."""

    subnet: str = field(default_factory=free_subnet)
    workdir: Path = field(default_factory=lambda: Path("/tmp"))
    name: str = field(default_factory=lambda: f"gc{uuid.uuid4().hex[:8]}")
    processes: list[HostProcess] = field(default_factory=list)
    _next_host: int = 2
    _up: bool = False

    @property
    def _host_if(self) -> str:
        return f"{self.name}h"  # interface names are at most 15 characters

    @property
    def _ns_if(self) -> str:
        return f"{self.name}n"

    def _address(self, index: int) -> str:
        return str(ipaddress.ip_network(self.subnet)[index])

    @property
    def prefix(self) -> int:
        return ipaddress.ip_network(self.subnet).prefixlen

    def up(self) -> HostNetwork:
        _ip("netns", "add", self.name)
        self._up = True
        _ip("link", "add", self._host_if, "type", "veth", "peer", "name", self._ns_if)
        _ip("link", "set", self._ns_if, "netns", self.name)
        _ip("addr", "add", f"{self._address(1)}/{self.prefix}", "dev", self._host_if)
        _ip("link", "set", self._host_if, "up")
        _ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")
        _ip("netns", "exec", self.name, "ip", "link", "set", self._ns_if, "up")
        return self

    def new_address(self) -> str:
        """Add one more test host address inside the namespace."""
        address = self._address(self._next_host)
        self._next_host += 1
        _ip(
            "netns",
            "exec",
            self.name,
            "ip",
            "addr",
            "add",
            f"{address}/{self.prefix}",
            "dev",
            self._ns_if,
        )
        return address

    def run(self, name: str, argv: list[str], address: str, port: int) -> HostProcess:
        log_path = self.workdir / f"{self.name}-{name}.log"
        with log_path.open("ab") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.name, *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = HostProcess(name, address, port, process, log_path)
        self.processes.append(proc)
        return proc

    def start_echo(self, name: str, port: int = 8080, timeout: float = 10.0) -> HostProcess:
        """An echo backend (gateway_contour.demo.echo) on a new address of its own; returns
        once it accepts connections."""
        address = self.new_address()
        argv = [
            sys.executable,
            "-m",
            "gateway_contour.demo.echo",
            "--name",
            name,
            "--host",
            address,
            "--port",
            str(port),
        ]
        proc = self.run(name, argv, address, port)
        deadline = time.monotonic() + timeout
        while b"echo " not in proc.log_path.read_bytes():
            if proc.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"echo {name} did not start: {proc.log_path.read_text()}")
            time.sleep(0.02)
        return proc

    def down(self) -> None:
        for proc in self.processes:
            proc.stop()
        self.processes.clear()
        if self._up:
            subprocess.run(["ip", "link", "del", self._host_if], capture_output=True)
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
            self._up = False
