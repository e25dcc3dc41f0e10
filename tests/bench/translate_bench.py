"""Translate + build + serialize N objects of one source API (HTTPRoutes, Ingresses or
HTTPProxies), in a fresh process per world so that peak memory (ru_maxrss) belongs to that
world alone; then the common case, one object changed with the caches warm.

Run as `python -m tests.bench.translate_bench N REPEATS [httproute|ingress|httpproxy]`;
prints one JSON line.
"""

from __future__ import annotations

import copy
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from gateway_contour.envoy.memo import BuildMemo
from gateway_contour.pipeline import build
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, TranslationCache
from tests.bench.objects import gateway_objects, httpproxy_objects, ingress_objects

Obj = dict[str, Any]


def _change_route(obj: Obj, n: int) -> None:
    obj["spec"]["rules"][0]["matches"][0]["path"]["value"] = f"/changed/{n}"


def _change_ingress(obj: Obj, n: int) -> None:
    obj["spec"]["rules"][0]["http"]["paths"][0]["path"] = f"/changed/{n}"


def _change_proxy(obj: Obj, n: int) -> None:
    obj["spec"]["routes"][0]["conditions"][0]["prefix"] = f"/changed/{n}"


# world -> (objects of a size, the kind of object changed, how; an object that is changed
# is the last of its kind: for HTTPProxy an included child, the usual thing to edit)
WORLDS: dict[str, tuple[Callable[[int], list[Obj]], str, Callable[[Obj, int], None]]] = {
    "httproute": (gateway_objects, "HTTPRoute", _change_route),
    "ingress": (ingress_objects, "Ingress", _change_ingress),
    "httpproxy": (httpproxy_objects, "HTTPProxy", _change_proxy),
}


def serialize_all(resources: dict) -> int:
    total = 0
    for per_type in resources.values():
        for by_name in per_type.values():
            for message in by_name.values():
                total += len(message.SerializeToString(deterministic=True))
    return total


def measure_incremental(objects: list[Obj], world: str, repeats: int) -> float:
    """The common case: one object changed since the last rebuild, translation cache and
    build memo warm. Median ms of translate + build + serialize."""
    _, kind, change = WORLDS[world]
    cache = TranslationCache()
    memo = BuildMemo()  # as the pipeline keeps one
    options = TranslateOptions()
    build(Snapshot.of(objects), options, cache, memo)
    index = max(i for i, o in enumerate(objects) if o["kind"] == kind)
    times = []
    for n in range(repeats):
        changed = copy.deepcopy(objects[index])
        changed["metadata"]["generation"] = n + 2
        change(changed, n)
        objects = [*objects[:index], changed, *objects[index + 1 :]]
        snapshot = Snapshot.of(objects)
        t0 = time.perf_counter()
        result = build(snapshot, options, cache, memo)
        serialize_all(result.resources)  # type: ignore[arg-type]
        times.append((time.perf_counter() - t0) * 1e3)
        del result
    return statistics.median(times)


def measure(count: int, repeats: int, world: str = "httproute") -> dict:
    objects = WORLDS[world][0](count)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runs = []
    result = None
    for _ in range(repeats):
        del result  # freeing the previous build is not part of this one
        snapshot = Snapshot.of(objects)
        t0 = time.perf_counter()
        result = build(snapshot, TranslateOptions())
        t1 = time.perf_counter()
        size = serialize_all(result.resources)  # type: ignore[arg-type]
        t2 = time.perf_counter()
        runs.append(
            {
                "translate_ms": result.translate_seconds * 1e3,
                "build_ms": result.build_seconds * 1e3,
                "serialize_ms": (t2 - t1) * 1e3,
                "total_ms": (t2 - t0) * 1e3,
            }
        )
    incremental = measure_incremental(objects, world, repeats)
    assert result is not None
    routes_out: int = sum(
        len(vh.routes)
        for gw in result.ir.gateways
        for listener in gw.listeners
        for vh in listener.virtual_hosts
    )
    return {
        "world": world,
        "objects": count,
        "envoy_routes": routes_out,
        "xds_bytes": size,
        "repeats": repeats,
        "first_total_ms": runs[0]["total_ms"],
        **{k: statistics.median(r[k] for r in runs) for k in runs[0]},
        "one_changed_ms": incremental,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "objects_mib": rss_before / 1024,
    }


if __name__ == "__main__":
    world = sys.argv[3] if len(sys.argv) > 3 else "httproute"
    print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]), world)))
