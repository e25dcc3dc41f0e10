"""CollectorPolicy: long-lived objects frozen after a rebuild; cycles among them still
collected by the full collection run when the controller is quiet."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from gateway_contour.gcpolicy import CollectorPolicy, GCWatch


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_objects_alive_at_a_rebuild_are_not_walked_by_collections() -> None:
    policy = CollectorPolicy()
    a, b = Node(), Node()
    a.other, b.other = b, a
    probe = weakref.ref(a)
    policy.after_rebuild()
    assert gc.get_freeze_count() > 0
    del a, b
    gc.collect()  # an ordinary collection does not see the frozen cycle
    assert probe() is not None
    assert policy.collect() >= 2  # the quiet-time full collection does
    assert probe() is None
    assert gc.get_freeze_count() > 0  # and freezes the survivors again


def test_full_collection_waits_for_quiet_and_is_bounded() -> None:
    policy = CollectorPolicy(quiet=1.0, min_interval=60.0, max_interval=600.0)
    policy.last_full = 1000.0
    policy.last_rebuild = 1059.5
    assert not policy.full_collection_due(1030.0)  # too soon after the last one
    assert not policy.full_collection_due(1060.0)  # a rebuild half a second ago
    assert policy.full_collection_due(1061.0)  # quiet for a second, a minute since
    policy.last_rebuild = 1599.9
    assert policy.full_collection_due(1600.0)  # never quiet: still at most 10 min apart


def test_gc_watch_records_pauses_over_its_threshold() -> None:
    watch = GCWatch(threshold_seconds=0.0).install()
    try:
        gc.collect()
    finally:
        watch.uninstall()
    assert watch.pauses and watch.pauses[-1][0] == 2
    assert watch not in gc.callbacks
