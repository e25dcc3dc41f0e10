"""TranslationCache: reusing compiled routes never changes the result."""

from __future__ import annotations

import copy
from typing import Any

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
