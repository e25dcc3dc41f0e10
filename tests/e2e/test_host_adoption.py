"""Which recorded Envoy a new HostFleet takes over (real Envoy processes, no controller).

A HostFleet on the work directory of an earlier one adopts its running Envoy (same pid, the
fleet's token taken over) and keeps it when it would launch it the same way; when the
launch changed (here State of the World instead of Delta ADS) it replaces it. A record
whose pid is some other process is never adopted.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway_contour.provisioner.host import HostFleet, HostFleetOptions, free_port
from gateway_contour.provisioner.host_launch import DetachedProcess, start_time
from gateway_contour.provisioner.host_state import StateDir
from gateway_contour.xds.fleet_tokens import FleetTokens

pytestmark = pytest.mark.e2e

FLEET = "default/web"


@pytest.fixture
def fleets() -> Iterator[list[HostFleet]]:
    """Every HostFleet a test makes; their Envoys are stopped at the end."""
    made: list[HostFleet] = []
    yield made
    for fleet in made:
        fleet.close()


def make(fleets: list[HostFleet], opts: HostFleetOptions) -> HostFleet:
    """A HostFleet (a controller's, with its own FleetTokens) on `opts`."""
    fleet = HostFleet(dataclasses.replace(opts, tokens=FleetTokens()))
    fleets.append(fleet)
    return fleet


def first_fleet(tmp_path: Path, fleets: list[HostFleet]) -> tuple[HostFleetOptions, HostFleet]:
    """The options on `tmp_path` and a HostFleet on them running FLEET's Envoy."""
    opts = HostFleetOptions(xds_port=free_port(), work_dir=tmp_path)
    first = make(fleets, opts)
    first.reconcile({FLEET})
    return opts, first


def test_a_running_envoy_is_kept_unless_its_launch_changed(
    tmp_path: Path, fleets: list[HostFleet]
) -> None:
    opts, first = first_fleet(tmp_path, fleets)
    original = first.envoys[FLEET].process
    assert first.opts.tokens is not None
    token = first.opts.tokens.issue(FLEET)
    first.envoys.clear()  # the controller is gone without stopping its Envoy

    second = make(fleets, opts)
    assert second.envoys[FLEET].process == original
    assert second.opts.tokens is not None and second.opts.tokens.issue(FLEET) == token
    second.reconcile({FLEET})
    assert second.envoys[FLEET].process == original and original.running()
    second.envoys.clear()

    third = make(fleets, dataclasses.replace(opts, delta=False))
    assert third.envoys[FLEET].process == original
    third.reconcile({FLEET})
    replacement = third.envoys[FLEET].process
    assert replacement != original and replacement.running()
    assert not original.running()
    (record,) = StateDir(tmp_path).load()
    assert record.pid == replacement.pid


def test_a_record_naming_another_process_is_not_adopted(
    tmp_path: Path, fleets: list[HostFleet]
) -> None:
    opts, first = first_fleet(tmp_path, fleets)
    envoy = first.envoys[FLEET].process
    (record,) = StateDir(tmp_path).load()
    # the pid is now this test's own process (a live pid that is not an Envoy)
    me = os.getpid()
    own_start = start_time(me)
    assert own_start is not None
    StateDir(tmp_path).save(dataclasses.replace(record, pid=me, started=own_start))

    second = make(fleets, opts)
    assert second.envoys == {}
    assert StateDir(tmp_path).load() == []
    assert DetachedProcess.find(me, own_start, record.bootstrap) is None
    assert envoy.running()  # still the first fleet's, stopped by its close()
