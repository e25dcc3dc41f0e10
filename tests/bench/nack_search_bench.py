"""How long the NACK fallback's search takes (nack/): one HTTPRoute among N whose response
header policy sets Host (Envoy refuses the whole RouteConfiguration: ":-prefixed or host
headers may not be modified"), found by bisection with the real `envoy --mode validate`.

Two cases: nothing of the fleet accepted yet (every route is a candidate), and the usual one,
the bad route added to a world Envoy had accepted (only it changed). Run as
`python -m tests.bench.nack_search_bench N [BAD_INDEX]`; prints one JSON line.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from typing import Any

from gateway_contour.nack.fallback import fleet_of, probe_loads
from gateway_contour.nack.search import find_responsible
from gateway_contour.nack.withhold import changed_sources
from gateway_contour.pipeline import build
from gateway_contour.store.objects import ObjectKey, Snapshot
from gateway_contour.translate import TranslateOptions
from tests.bench.objects import gateway_objects

FLEET = "default/gw"
HOST_HEADER = {
    "type": "ResponseHeaderModifier",
    "responseHeaderModifier": {"set": [{"name": "Host", "value": "refused"}]},
}


def poisoned(objects: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    out = list(objects)
    routes = [i for i, o in enumerate(out) if o["kind"] == "HTTPRoute"]
    bad = copy.deepcopy(out[routes[index]])
    bad["metadata"]["generation"] = 2
    bad["spec"]["rules"][0]["filters"] = [HOST_HEADER]
    out[routes[index]] = bad
    return out


def search(objects: list[dict[str, Any]], accepted: list[dict[str, Any]] | None) -> dict[str, Any]:
    options = TranslateOptions()
    ir = build(Snapshot.of(objects), options).ir
    gateway = fleet_of(ir, FLEET)
    assert gateway is not None
    before = fleet_of(build(Snapshot.of(accepted), options).ir, FLEET) if accepted else None
    candidates = changed_sources(gateway, before)
    t0 = time.perf_counter()
    result = find_responsible(candidates, probe_loads(ir, FLEET))
    seconds = time.perf_counter() - t0
    return {
        "candidates": len(candidates),
        "outcome": result.outcome.value,
        "responsible": sorted(f"{k.kind}/{k.namespace}/{k.name}" for k in result.responsible),
        "validate_runs": result.calls,
        "seconds": round(seconds, 3),
        "seconds_per_run": round(seconds / max(result.calls, 1), 3),
    }


def measure(count: int, index: int) -> dict[str, Any]:
    good = gateway_objects(count)
    bad = poisoned(good, index)
    expected = ObjectKey("HTTPRoute", "default", f"route-{index}")
    first = search(bad, None)
    usual = search(bad, good)
    for case in (first, usual):
        assert case["responsible"] == [f"{expected.kind}/default/{expected.name}"], case
    return {"routes": count, "nothing_accepted": first, "one_changed": usual}


if __name__ == "__main__":
    n = int(sys.argv[1])
    print(json.dumps(measure(n, int(sys.argv[2]) if len(sys.argv) > 2 else n * 637 // 1000)))
