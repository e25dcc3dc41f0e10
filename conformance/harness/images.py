"""Container image -> local program: the one table of what the node agent can run.

Every image the suite's manifests name is here. echo-basic is the suite's own backend, built
from the pinned module's source (conformance/build.sh); coredns is stood in for by a local
whoami-only DNS server (the other entries say why).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("CONFORMANCE_CACHE", REPO / ".cache" / "conformance")) / "current"


@dataclass(frozen=True)
class Program:
    argv: Callable[[list[str]], list[str]]  # container args -> the command line to run
    # env -> the TCP port that accepts connections once the program is ready (None: ready
    # as soon as it runs)
    ready_port: Callable[[dict[str, str]], int | None]
    note: str


def _echo_basic_port(env: dict[str, str]) -> int | None:
    if env.get("UDP_ECHO_SERVER"):
        return None
    if env.get("TCP_ECHO_SERVER"):
        return int(env.get("TCP_PORT") or 3000)
    return int(env.get("HTTP_PORT") or 3000)  # the gRPC mode reads HTTP_PORT too


IMAGES: dict[str, Program] = {
    # Every tag maps to the binary built from the pinned module (v1.6.1), whatever tag the
    # manifests name (v1.5.1, v1.6.0-dev.3, ...): the suite of a release is tested against
    # that release's echo-basic.
    "registry.k8s.io/gateway-api/echo-basic": Program(
        argv=lambda args: [str(BUILD_DIR / "echo-basic"), *args],
        ready_port=_echo_basic_port,
        note="built from sigs.k8s.io/gateway-api/conformance/echo-basic",
    ),
    # GATEWAY-UDP queries it (foo.bar.com, a `whoami` zone of its Corefile); the Corefile
    # forwards every other name to public resolvers, which we must never contact: a local
    # whoami-only DNS server reads the same Corefile and refuses the rest.
    "registry.k8s.io/coredns/coredns": Program(
        argv=lambda args: [sys.executable, str(Path(__file__).with_name("dns_whoami.py")), *args],
        ready_port=lambda _env: None,
        note="conformance/harness/dns_whoami.py: whoami zones answered, nothing forwarded",
    ),
    # echo-advanced is used by the mesh manifests only (not a Gateway profile).
}


def program_for(image: str) -> Program | None:
    """The program for `image` (any tag or digest), or None when it is not mapped."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: name.rindex(":")]
    return IMAGES.get(name)
