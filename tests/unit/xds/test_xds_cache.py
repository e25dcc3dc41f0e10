"""SnapshotCache: content versions, serialization reuse, sharing across fleets, watchers."""

from __future__ import annotations

import asyncio

import pytest
from envoy.service.discovery.v3 import discovery_pb2
from xds_testlib import cla, cluster, listener, route

from gateway_contour.xds import types, wire
from gateway_contour.xds.cache import SnapshotCache, content_hash


def test_same_content_same_version_and_record() -> None:
    cache = SnapshotCache()
    cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1")}})
    first = cache.snapshot("a")
    assert first is not None
    record = first.get(types.CLUSTER).resources["c1"]
    assert record.version == content_hash(cluster("c1").SerializeToString(deterministic=True))

    changed = cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1")}})  # equal, new object

    assert changed is False
    again = cache.snapshot("a")
    assert again is first  # no new generation, no wake-ups
    assert again.get(types.CLUSTER).resources["c1"] is record


def test_changed_content_changes_resource_and_type_version() -> None:
    cache = SnapshotCache()
    cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1"), "c2": cluster("c2")}})
    before = cache.snapshot("a")
    assert before is not None
    gen = before.generation

    assert cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1", 5), "c2": cluster("c2")}})

    after = cache.snapshot("a")
    assert after is not None and after.generation > gen
    old_c, new_c = before.get(types.CLUSTER), after.get(types.CLUSTER)
    assert new_c.version != old_c.version
    assert new_c.resources["c1"].version != old_c.resources["c1"].version
    assert new_c.resources["c2"] is old_c.resources["c2"]


def test_type_version_independent_of_insertion_order() -> None:
    cache = SnapshotCache()
    cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1"), "c2": cluster("c2")}})
    cache.set_fleet("b", {types.CLUSTER: {"c2": cluster("c2"), "c1": cluster("c1")}})
    a, b = cache.snapshot("a"), cache.snapshot("b")
    assert a is not None and b is not None
    assert a.version(types.CLUSTER) == b.version(types.CLUSTER)
    assert a.version(types.CLUSTER) != a.version(types.LISTENER)  # empty type differs


def test_shared_resource_is_one_record_across_fleets() -> None:
    cache = SnapshotCache()
    cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1")}})
    cache.set_fleet("b", {types.CLUSTER: {"c1": cluster("c1")}})
    a, b = cache.snapshot("a"), cache.snapshot("b")
    assert a is not None and b is not None
    rec_a = a.get(types.CLUSTER).resources["c1"]
    assert rec_a is b.get(types.CLUSTER).resources["c1"]
    # the wire encodings are built once and reused by every stream
    assert rec_a.sotw_field() is b.get(types.CLUSTER).resources["c1"].sotw_field()


def test_unchanged_types_keep_their_snapshot_object() -> None:
    cache = SnapshotCache()
    cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1")}, types.ROUTE: {"r1": route("r1")}})
    before = cache.snapshot("a")
    assert before is not None
    cache.set_fleet(
        "a", {types.CLUSTER: {"c1": cluster("c1")}, types.ROUTE: {"r1": route("r1", "/x")}}
    )
    after = cache.snapshot("a")
    assert after is not None
    assert after.get(types.CLUSTER) is before.get(types.CLUSTER)
    assert after.get(types.ROUTE) is not before.get(types.ROUTE)


def test_wrong_type_url_is_rejected() -> None:
    cache = SnapshotCache()
    with pytest.raises(ValueError, match="cannot be served"):
        cache.set_fleet("a", {types.LISTENER: {"c1": cluster("c1")}})


def test_set_endpoints_updates_only_fleets_serving_the_name() -> None:
    cache = SnapshotCache()
    cache.set_fleet(
        "a", {types.CLUSTER: {"c1": cluster("c1")}, types.ENDPOINT: {"c1": cla("c1", 1)}}
    )
    cache.set_fleet("b", {types.ENDPOINT: {"c2": cla("c2", 1)}})
    a0, b0 = cache.snapshot("a"), cache.snapshot("b")
    assert a0 is not None and b0 is not None
    serialized = cache.serializations

    changed = cache.set_endpoints({"c1": cla("c1", 2), "c9": cla("c9", 2)})

    assert changed == {"a"}
    assert cache.serializations == serialized + 2  # once per message, not per fleet
    a1 = cache.snapshot("a")
    assert a1 is not None
    assert a1.get(types.CLUSTER) is a0.get(types.CLUSTER)  # listeners/clusters untouched
    assert (
        a1.get(types.ENDPOINT).resources["c1"].version
        != a0.get(types.ENDPOINT).resources["c1"].version
    )
    assert "c9" not in a1.get(types.ENDPOINT).resources
    assert cache.snapshot("b") is b0
    assert cache.set_endpoints({"c1": cla("c1", 2)}) == set()  # same content: no change
    assert cache.set_endpoints({"c1": None}) == {"a"}  # None deletes
    a2 = cache.snapshot("a")
    assert a2 is not None and "c1" not in a2.get(types.ENDPOINT).resources


def test_set_resources_replaces_one_type() -> None:
    cache = SnapshotCache()
    cache.set_fleet(
        "a", {types.LISTENER: {"l1": listener("l1", 1)}, types.ROUTE: {"r1": route("r1")}}
    )
    before = cache.snapshot("a")
    assert before is not None
    assert cache.set_resources("a", types.ROUTE, {"r2": route("r2")})
    after = cache.snapshot("a")
    assert after is not None
    assert after.get(types.LISTENER) is before.get(types.LISTENER)
    assert list(after.get(types.ROUTE).resources) == ["r2"]
    assert not cache.set_resources("a", types.ROUTE, {"r2": route("r2")})


def test_wire_encoding_matches_protobuf() -> None:
    cache = SnapshotCache()
    cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1"), "c2": cluster("c2")}})
    snap = cache.snapshot("a")
    assert snap is not None
    records = [snap.get(types.CLUSTER).resources[n] for n in ("c1", "c2")]

    sotw = discovery_pb2.DiscoveryResponse.FromString(
        wire.sotw_response(
            version_info="v1",
            type_url=types.CLUSTER,
            nonce="n1",
            resource_fields=[r.sotw_field() for r in records],
        )
    )
    expected = discovery_pb2.DiscoveryResponse(
        version_info="v1", type_url=types.CLUSTER, nonce="n1", resources=[r.any for r in records]
    )
    assert sotw == expected

    delta = discovery_pb2.DeltaDiscoveryResponse.FromString(
        wire.delta_response(
            system_version_info="v2",
            type_url=types.CLUSTER,
            nonce="n2",
            resource_fields=[r.delta_field() for r in records],
            removed=["gone", "x" * 300],
        )
    )
    expected_delta = discovery_pb2.DeltaDiscoveryResponse(
        system_version_info="v2",
        type_url=types.CLUSTER,
        nonce="n2",
        removed_resources=["gone", "x" * 300],
        resources=[
            discovery_pb2.Resource(name=r.name, version=r.version, resource=r.any) for r in records
        ],
    )
    assert delta == expected_delta


async def test_wait_for_change_waits_for_ready_and_change() -> None:
    cache = SnapshotCache()
    cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1")}})
    waiter = asyncio.create_task(cache.wait_for_change("a", 0))
    await asyncio.sleep(0)
    assert not waiter.done()  # not ready yet
    cache.mark_ready()
    gen = await asyncio.wait_for(waiter, 1)
    assert gen == cache.generation("a")

    waiter = asyncio.create_task(cache.wait_for_change("a", gen))
    cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1")}})  # no change: no wake
    await asyncio.sleep(0)
    assert not waiter.done()
    cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1", 3)}})
    assert await asyncio.wait_for(waiter, 1) > gen


def test_remove_fleet_forgets_and_releases_records() -> None:
    cache = SnapshotCache()
    cache.set_fleet("a", {types.CLUSTER: {"c1": cluster("c1")}})
    gen = cache.generation("a")
    assert cache.stats()["records"] == 1
    assert cache.remove_fleet("a")
    assert cache.snapshot("a") is None
    assert cache.generation("a") > gen
    assert cache.stats()["records"] == 0  # interned records are released with their fleets
    assert not cache.remove_fleet("a")


def test_the_same_message_object_is_not_serialized_again() -> None:
    cache = SnapshotCache()
    shared = cluster("a")
    cache.set_fleet("f", {types.CLUSTER: {"a": shared, "b": cluster("b")}})
    before = cache.serializations
    # "a" is handed over as the very same object (the envoy layer's memo), "b" as a new one
    assert not cache.set_fleet("f", {types.CLUSTER: {"a": shared, "b": cluster("b")}})
    assert cache.serializations == before + 1
