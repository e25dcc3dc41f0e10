"""Test hosts of two networks on one machine stay apart (tests/support/hostnet.py).

A bench, another checkout's test run, or a namespace left behind by a killed one may hold
test hosts while this run makes its own; with one fixed subnet the kernel routed this run's
connections into the other namespace, and its echo answered for ours.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.support.hostnet import HostNetwork


def _backend(address: str, port: int) -> str:
    with urllib.request.urlopen(f"http://{address}:{port}/", timeout=5) as reply:
        return str(json.loads(reply.read())["backend"])


def test_two_networks_each_reach_their_own_hosts(tmp_path: Path) -> None:
    stranger = HostNetwork(workdir=tmp_path).up()
    ours = HostNetwork(workdir=tmp_path).up()
    try:
        theirs = stranger.start_echo("stranger")
        mine = ours.start_echo("ours")
        assert _backend(mine.address, mine.port) == "ours"
        assert _backend(theirs.address, theirs.port) == "stranger"
        assert stranger.subnet != ours.subnet
    finally:
        ours.down()
        stranger.down()
