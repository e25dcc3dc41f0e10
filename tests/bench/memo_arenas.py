"""What grows when routes change one at a time (issue 23), counted in process.

Builds a world of N HTTPRoutes through the real pipeline (translation cache and build memo
kept, as the controller keeps them), then changes one route per rebuild, C times, keeping
only the latest result (as the xDS cache does). After each rebuild it counts:

- arenas: the distinct upb arenas holding the route messages the memo keeps, and how many
  kept routes share one with another (built in place, they live in their configuration's
  arena and pin all of it: one whole configuration per rebuild that built a route);
- C heap: bytes malloc has handed out and not got back (mallinfo2 uordblks + hblkhd; upb
  arenas are malloc'd, so tracemalloc does not see them);
- Python heap: tracemalloc's traced bytes, and at the end the lines whose allocations grew;
- Python objects (gc): live Route and RouteConfiguration message objects.

Run: python -m tests.bench.memo_arenas [--routes 1000] [--changes 200]; prints a table and
one JSON line, writes JSON to tests/bench/results/.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import gc
import json
import tracemalloc
from collections import Counter
from typing import Any

from envoy.config.route.v3 import route_components_pb2, route_pb2

from gateway_contour.envoy.memo import BuildMemo
from gateway_contour.ir.model import IR, Protocol
from gateway_contour.pipeline import BuildResult, build
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, TranslationCache
from tests.bench.k8s_env import dump
from tests.bench.objects import gateway_objects
from tests.support.upb_arena import arena_address, check_probe

Obj = dict[str, Any]


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in [
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        ]
    ]


def c_heap_bytes() -> int:
    """Bytes malloc has handed out and not got back (glibc), 0 elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return 0
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return int(info.uordblks + info.hblkhd)


def kept_routes(ir: IR, memo: BuildMemo) -> list[Any]:
    out = []
    for gateway in ir.gateways:
        for listener in gateway.listeners:
            kind = "route/https" if listener.protocol is Protocol.HTTPS else "route/http"
            for host in listener.virtual_hosts:
                for r in host.routes:
                    found = memo.find(kind, r)
                    if found is not None:
                        out.append(found)
    return out


def count(result: BuildResult, memo: BuildMemo) -> dict[str, Any]:
    gc.collect()
    kept = kept_routes(result.ir, memo)
    arenas = Counter(arena_address(m) for m in kept)
    live_types: dict[str, int] = {"Route": 0, "RouteConfiguration": 0}
    for obj in gc.get_objects():
        if type(obj) is route_components_pb2.Route:
            live_types["Route"] += 1
        elif type(obj) is route_pb2.RouteConfiguration:
            live_types["RouteConfiguration"] += 1
    return {
        "kept_routes": len(kept),
        "arenas": len(arenas),
        "routes_sharing_an_arena": sum(n for n in arenas.values() if n > 1),
        "c_heap_mib": c_heap_bytes() / 2**20,
        "python_heap_mib": tracemalloc.get_traced_memory()[0] / 2**20,
        "live_route_objects": live_types["Route"],
        "live_route_configuration_objects": live_types["RouteConfiguration"],
    }


def run(routes: int, changes: int, every: int) -> dict[str, Any]:
    why = check_probe()
    if why:
        raise SystemExit(f"memo_arenas: {why}")
    objects = gateway_objects(routes)
    index = [i for i, o in enumerate(objects) if o["kind"] == "HTTPRoute"]
    cache, memo, options = TranslationCache(), BuildMemo(), TranslateOptions()
    tracemalloc.start()

    def rebuild() -> BuildResult:
        return build(Snapshot.of(objects), options, cache, memo)

    result = rebuild()
    rows = [{"changes": 0, **count(result, memo)}]
    first = tracemalloc.take_snapshot()
    for n in range(1, changes + 1):
        at = index[(n * 7) % len(index)]  # a different route each time, spread over hosts
        changed = copy.deepcopy(objects[at])
        changed["metadata"]["generation"] = n + 1
        changed["spec"]["rules"][0]["matches"][0]["path"]["value"] = f"/changed/{n}"
        objects[at] = changed
        del result  # the pipeline keeps only the latest build
        result = rebuild()
        if n % every == 0 or n == changes:
            rows.append({"changes": n, **count(result, memo)})
    grew = tracemalloc.take_snapshot().compare_to(first, "lineno")[:8]
    tracemalloc.stop()
    return {
        "benchmark": "memo-arenas",
        "routes": routes,
        "changes": changes,
        "rows": rows,
        "python_heap_growth_top": [
            {
                "where": str(s.traceback[0]),
                "kib": round(s.size_diff / 1024, 1),
                "count": s.count_diff,
            }
            for s in grew
        ],
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"memo arenas: {result['routes']} HTTPRoutes, one changed per rebuild "
        f"({result['changes']} rebuilds)"
    )
    print(
        f"{'changes':>7} {'kept routes':>11} {'arenas':>6} {'sharing':>7} "
        f"{'C heap MiB':>10} {'Py heap MiB':>11} {'Route objs':>10} {'RouteConfig objs':>16}"
    )
    for r in result["rows"]:
        print(
            f"{r['changes']:>7} {r['kept_routes']:>11} {r['arenas']:>6} "
            f"{r['routes_sharing_an_arena']:>7} {r['c_heap_mib']:>10.1f} "
            f"{r['python_heap_mib']:>11.1f} {r['live_route_objects']:>10} "
            f"{r['live_route_configuration_objects']:>16}"
        )
    print("Python heap growth, first build -> last (tracemalloc, top lines):")
    for g in result["python_heap_growth_top"]:
        print(f"  {g['kib']:>9.1f} KiB {g['count']:>7} blocks  {g['where']}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.memo_arenas")
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--every", type=int, default=50, help="count after every N changes")
    args = parser.parse_args(argv)
    result = run(args.routes, args.changes, args.every)
    print_table(result)
    print(f"wrote {dump('memo-arenas', result)}")
    return result


if __name__ == "__main__":
    print(json.dumps(main()["rows"][-1]))
