"""TranslationCache: reusing compiled routes never changes the result."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, TranslationCache, translate

BASE: list[dict[str, Any]] = [
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": "c"},
        "spec": {"controllerName": "gateway-contour.dev/gateway-controller"},
    },
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "default"},
        "spec": {
            "gatewayClassName": "c",
            "listeners": [
                {
                    "name": "http",
                    "port": 80,
                    "protocol": "HTTP",
                    "allowedRoutes": {"namespaces": {"from": "All"}},
                }
            ],
        },
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"name": "http", "port": 80}]},
    },
    {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "ports": [{"name": "http", "port": 8080}],
        "endpoints": [{"addresses": ["10.0.0.1"]}],
    },
    *(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": f"r{i}", "namespace": "apps" if i % 2 else "default"},
            "spec": {
                "parentRefs": [{"name": "gw", "namespace": "default"}],
                "rules": [
                    {
                        "matches": [{"path": {"value": f"/r{i}"}}],
                        "backendRefs": [{"name": "web", "namespace": "default", "port": 80}],
                    }
                ],
            },
        }
        for i in range(4)
    ),
]


def by_kind_name(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_cached_translation_equals_fresh_translation() -> None:
    cache = TranslationCache()
    objects = list(BASE)

    def check() -> None:
        snapshot = Snapshot.of(objects)
        cached_ir, cached_report = translate(snapshot, TranslateOptions(), cache)
        fresh_ir, fresh_report = translate(snapshot, TranslateOptions())
        assert cached_ir == fresh_ir
        assert cached_report.to_data() == fresh_report.to_data()

    check()
    check()  # everything from the cache

    # endpoints change: not cached, read fresh
    eps = copy.deepcopy(by_kind_name(objects, "EndpointSlice", "web-1"))
    eps["endpoints"] = [{"addresses": ["10.0.0.9"]}]
    objects = [eps if o["kind"] == "EndpointSlice" else o for o in objects]
    check()

    # one route changes
    route = copy.deepcopy(by_kind_name(objects, "HTTPRoute", "r0"))
    route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "/changed"
    objects = [route if o is by_kind_name(objects, "HTTPRoute", "r0") else o for o in objects]
    check()

    # a ReferenceGrant appears: routes in "apps" now resolve their backend
    objects.append(
        {
            "apiVersion": "gateway.networking.k8s.io/v1beta1",
            "kind": "ReferenceGrant",
            "metadata": {"name": "g", "namespace": "default"},
            "spec": {
                "from": [
                    {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "apps"}
                ],
                "to": [{"group": "", "kind": "Service"}],
            },
        }
    )
    check()

    # the Service port becomes h2c: a different cluster
    service = copy.deepcopy(by_kind_name(objects, "Service", "web"))
    service["spec"]["ports"][0]["appProtocol"] = "kubernetes.io/h2c"
    objects = [service if o["kind"] == "Service" else o for o in objects]
    check()

    # a route goes away
    objects = [o for o in objects if o["metadata"]["name"] != "r1"]
    check()
    assert ("HTTPRoute", "apps", "r1") not in cache.entries


def test_resource_version_identifies_unchanged_objects() -> None:
    cache = TranslationCache()
    objects = copy.deepcopy(BASE)
    for i, obj in enumerate(objects):
        obj["metadata"].update(uid=f"u{i}", resourceVersion=str(i))
    translate(Snapshot.of(objects), TranslateOptions(), cache)
    entry_before = dict(cache.entries)
    # a relist: equal objects, new dicts
    translate(Snapshot.of(copy.deepcopy(objects)), TranslateOptions(), cache)
    for key, (_, result) in cache.entries.items():
        assert result is entry_before[key][1]


def test_status_writes_do_not_count_as_changes() -> None:
    """Our own status writes change an object's resourceVersion, not its generation: the
    compiled route and its recorded attachment are reused; a spec change (a new
    generation) is not."""
    cache = TranslationCache()
    objects = copy.deepcopy(BASE)
    for i, obj in enumerate(objects):
        obj["metadata"].update(uid=f"u{i}", resourceVersion=str(i), generation=1)
    translate(Snapshot.of(objects), TranslateOptions(), cache)
    epoch = cache.attachment_epoch
    before = dict(cache.entries)

    def written(obj: dict[str, Any], generation: int = 1) -> dict[str, Any]:
        new = copy.deepcopy(obj)
        new["metadata"]["resourceVersion"] += "0"
        new["metadata"]["generation"] = generation
        new["status"] = {"written": True}
        return new

    objects = [written(o) if o["kind"] in ("HTTPRoute", "Gateway") else o for o in objects]
    translate(Snapshot.of(objects), TranslateOptions(), cache)
    assert cache.attachment_epoch == epoch
    for key, (_, result) in cache.entries.items():
        assert result is before[key][1]

    route = by_kind_name(objects, "HTTPRoute", "r0")
    changed = written(route, generation=2)
    changed["spec"]["rules"][0]["matches"][0]["path"]["value"] = "/new"
    objects = [changed if o is route else o for o in objects]
    ir, _ = translate(Snapshot.of(objects), TranslateOptions(), cache)
    assert (
        cache.entries[("HTTPRoute", "default", "r0")][1]
        is not before[("HTTPRoute", "default", "r0")][1]
    )
    assert ir == translate(Snapshot.of(objects), TranslateOptions())[0]


def test_replayed_attachments_follow_gateway_and_namespace_changes() -> None:
    """Attachments are replayed only while what routes attach to is unchanged: a listener
    narrowing its allowedRoutes, or a Namespace losing the label a selector wants, must
    detach routes exactly as a fresh translation does."""
    cache = TranslationCache()
    objects: list[dict[str, Any]] = [
        *copy.deepcopy(BASE),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}},
    ]

    def check() -> dict[str, Any]:
        snapshot = Snapshot.of(objects)
        for _ in range(2):  # the second translation replays what the first recorded
            cached_ir, cached_report = translate(snapshot, TranslateOptions(), cache)
            fresh_ir, fresh_report = translate(snapshot, TranslateOptions())
            assert cached_ir == fresh_ir
            assert cached_report.to_data() == fresh_report.to_data()
        return fresh_report.to_data()

    def attached() -> int:
        report = check()
        gateway = next(s for s in report["statuses"] if s["object"] == "Gateway default/gw")
        return int(gateway["status"]["listeners"][0]["attachedRoutes"])

    assert attached() == 4
    gateway = copy.deepcopy(by_kind_name(objects, "Gateway", "gw"))
    gateway["spec"]["listeners"][0]["allowedRoutes"] = {
        "namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "a"}}}
    }
    objects = [gateway if o["kind"] == "Gateway" else o for o in objects]
    assert attached() == 0
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
    namespace["metadata"]["labels"] = {"team": "a"}
    objects = [namespace if o["kind"] == "Namespace" else o for o in objects]
    assert attached() == 2  # the routes in "apps"
    objects = [o for o in objects if o["kind"] != "Namespace"]
    assert attached() == 0


GOLDEN = Path(__file__).resolve().parents[2] / "golden"


@pytest.mark.parametrize("case", sorted(p.parent.name for p in GOLDEN.glob("*/in.yaml")), ids=str)
def test_golden_inputs_translate_the_same_from_the_cache(case: str) -> None:
    """Every golden scenario: the second, cached translation (compiled routes reused,
    attachments replayed) equals a fresh one."""
    objects = load_text((GOLDEN / case / "in.yaml").read_text(), "in.yaml").objects
    snapshot = Snapshot.of(objects)
    cache = TranslationCache()
    translate(snapshot, TranslateOptions(), cache)
    cached_ir, cached_report = translate(Snapshot.of(list(objects)), TranslateOptions(), cache)
    fresh_ir, fresh_report = translate(snapshot, TranslateOptions())
    assert cached_ir == fresh_ir
    assert cached_report.to_data() == fresh_report.to_data()
