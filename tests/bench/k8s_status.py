"""Benchmark a: N HTTPRoutes created at once -> every route Accepted, attachedRoutes = N.

Against a real API server and the controller as a subprocess: the routes (each with its
own Service and EndpointSlice, made beforehand) are created with IN_FLIGHT calls
outstanding; a watch on routes and on the Gateway times the moment every route carries
Accepted=True from us and the Gateway listener reports attachedRoutes = N. Status writes
are counted on the API server's side (apiserver_request_total: PUT/PATCH on the status
subresource), so nothing depends on the controller's own bookkeeping.

On a small machine the API server, etcd, the controller, its Envoy and this load generator
share the cores, so the settle time is bound by the CPU they use together: the CPU seconds
of each process are recorded from the first create until settled, and for the creates
alone (`create_floor`).

Run: python -m tests.bench k8s-status [--routes N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from typing import Any

from tests.bench.k8s_env import IN_FLIGHT, BenchEnv, cpu_used, http_route, load

SETTLE_TIMEOUT = 120.0
QUIET_AFTER = 3.0  # seconds to keep counting writes after settling (late or repeated writes)


def status_writes(
    before: Counter[tuple[str, str, str, str]], after: Counter[tuple[str, str, str, str]]
) -> dict[str, int]:
    out: Counter[str] = Counter()
    for (verb, resource, subresource, code), count in (after - before).items():
        if subresource == "status" and verb in ("PUT", "PATCH"):
            out[resource] += count
            if code == "409":
                out["conflicts"] += count
    return dict(out)


async def run(routes: int) -> dict[str, Any]:
    async with BenchEnv() as env:
        await env.backends_for(range(routes))
        floor, floor_cpu = await env.create_floor(routes)
        pid = env.start_controller()
        await env.wait_serving()
        await asyncio.sleep(1.0)  # let the initial status writes land before counting
        before = await env.request_counts()
        load_before = load()
        async with env.settling() as settling:
            cpu_before = env.cpu_seconds()
            t0 = time.perf_counter()
            await env.create_all((http_route(i, i) for i in range(routes)), IN_FLIGHT)
            created = time.perf_counter()
            try:
                await settling.wait(routes, SETTLE_TIMEOUT)
            except RuntimeError:
                env.check_controller()
                raise
            cpu_settled = env.cpu_seconds()
            await asyncio.sleep(QUIET_AFTER)
        marks = settling.marks
        after = await env.request_counts()
        writes = status_writes(before, after)
        return {
            "benchmark": "k8s-status",
            "routes": routes,
            "in_flight": IN_FLIGHT,
            "create_floor_s": floor,
            "create_floor_cpu_s": floor_cpu,
            "create_s": created - t0,
            "settle_s": marks["settled"] - t0,
            "after_last_create_s": max(0.0, marks["settled"] - created),
            "all_accepted_s": marks["all_accepted"] - t0,
            "attached_s": marks["attached"] - t0,
            "route_status_writes": writes.get("httproutes", 0),
            "gateway_status_writes": writes.get("gateways", 0),
            "other_status_writes": sum(
                v for k, v in writes.items() if k not in ("httproutes", "gateways", "conflicts")
            ),
            "conflicts": writes.get("conflicts", 0),
            # CPU seconds each process used from the first create until settled: on 2 cores
            # the settle time is bound by their sum
            "cpu_s_until_settled": cpu_used(cpu_before, cpu_settled),
            "controller_rss_mib": env.rss_kib()["VmRSS"] / 1024,
            "controller_pid": pid,
            "load_before": load_before,
            "load_after": load(),
        }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.k8s_status")
    parser.add_argument("--routes", type=int, default=1000)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.routes))


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
