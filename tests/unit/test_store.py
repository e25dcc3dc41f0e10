"""The store says whether a change can matter, and its snapshots never change."""

from __future__ import annotations

import copy

from gateway_contour.store.objects import ObjectKey, Snapshot
from gateway_contour.store.store import Store


def svc(name: str, port: int = 80, rv: str = "1", ns: str = "default") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": rv},
        "spec": {"ports": [{"port": port}]},
    }


def test_apply_reports_content_changes_only() -> None:
    store = Store()
    assert store.apply(svc("a"))
    # a resync with a new resourceVersion but the same content does not matter
    assert not store.apply(svc("a", rv="2"))
    assert store.apply(svc("a", port=81, rv="3"))
    assert store.delete(ObjectKey("Service", "default", "a"))
    assert not store.delete(ObjectKey("Service", "default", "a"))


def test_status_only_changes_do_not_matter() -> None:
    store = Store()
    obj = svc("a")
    store.apply(obj)
    with_status = copy.deepcopy(obj)
    with_status["status"] = {"loadBalancer": {}}
    assert not store.apply(with_status)


def test_snapshots_are_immutable_and_shared_until_a_change() -> None:
    store = Store()
    store.apply(svc("b"))
    store.apply(svc("a"))
    first = store.snapshot()
    assert store.snapshot() is first
    assert [o["metadata"]["name"] for o in first.objects("Service")] == ["a", "b"]
    store.apply(svc("c"))
    second = store.snapshot()
    assert second is not first
    assert first.count("Service") == 2 and second.count("Service") == 3
    assert second.version > first.version


def test_replace_kind_is_a_relist() -> None:
    store = Store()
    store.apply(svc("a"))
    store.apply(svc("b"))
    assert not store.replace_kind("Service", [svc("a", rv="9"), svc("b", rv="9")])
    assert store.replace_kind("Service", [svc("a")])
    assert [k.name for k in store.keys("Service")] == ["a"]


def test_snapshot_of_objects_and_lookups() -> None:
    snap = Snapshot.of([svc("a", ns="x"), svc("a", ns="y")])
    assert snap.get("Service", "y", "a") is not None
    assert snap.get("Service", "z", "a") is None
    assert [o["metadata"]["namespace"] for o in snap.in_namespace("Service", "x")] == ["x"]
    assert snap.kinds() == ["Service"]


def test_replace_kind_of_a_filtered_part_keeps_the_rest() -> None:
    store = Store()
    tls = {**svc("cert"), "kind": "Secret", "type": "kubernetes.io/tls"}
    opaque = {**svc("blob"), "kind": "Secret", "type": "Opaque"}
    store.apply(tls)
    store.apply(opaque)
    assert store.replace_kind("Secret", [], where=lambda o: o.get("type") == "Opaque")
    assert [k.name for k in store.keys("Secret")] == ["cert"]
