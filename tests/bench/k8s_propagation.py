"""Benchmark b: route propagation, one HTTPRoute at a time, to the first 200 through Envoy.

Against a real API server, the controller as a subprocess and the Envoy it provisions. Each
route i has its own path (/r/i) and its own Service (made beforehand, so every route also
brings a cluster Envoy has never seen: the case where a route may be pushed before its
cluster is warm). For each route: the time from the create call returning to the first 200
for its path, probing every PROBE_INTERVAL on a keep-alive connection.

Meanwhile a poller requests routes that already answered 200, at about POLL_RATE per second;
any answer but 200 there is a regression. Every answer other than 200 or 404, from the
prober or the poller, is counted (a 503 means a route pointed at a cluster Envoy did not
have ready).

Run: python -m tests.bench k8s-propagation [--routes N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from collections import Counter
from typing import Any

from tests.bench.k8s_env import (
    BenchEnv,
    HttpConn,
    background,
    http_route,
    load,
    percentile,
    route_path,
)

PROBE_INTERVAL = 0.002
POLL_RATE = 200.0
ROUTE_TIMEOUT = 30.0


async def poll_served(
    conn: HttpConn, served: list[int], seen: Counter[int], stop: asyncio.Event
) -> None:
    """Request random already-served routes until `stop`, counting the answers."""
    rng = random.Random(7)
    while not stop.is_set():
        if served:
            seen[await conn.get(route_path(rng.choice(served)))] += 1
        await asyncio.sleep(1 / POLL_RATE)


async def run(routes: int) -> dict[str, Any]:
    async with BenchEnv() as env:
        await env.backends_for(range(routes))
        env.start_controller()
        address = await env.wait_serving()
        await asyncio.sleep(1.0)
        probe = HttpConn(address, env.listener_port)
        poller = HttpConn(address, env.listener_port)
        latencies: list[float] = []
        probe_seen: Counter[int] = Counter()
        poll_seen: Counter[int] = Counter()
        served: list[int] = []
        stop = asyncio.Event()
        load_before = load()
        started = time.perf_counter()
        async with background(poll_served(poller, served, poll_seen, stop)):
            for i in range(routes):
                await env.create(http_route(i, i))
                t0 = time.perf_counter()
                while True:
                    status = await probe.get(route_path(i))
                    probe_seen[status] += 1
                    if status == 200:
                        break
                    if time.perf_counter() - t0 > ROUTE_TIMEOUT:
                        env.check_controller()
                        raise RuntimeError(f"route {i} not served after {ROUTE_TIMEOUT} s")
                    await asyncio.sleep(PROBE_INTERVAL)
                latencies.append((time.perf_counter() - t0) * 1e3)
                served.append(i)
            stop.set()
        elapsed = time.perf_counter() - started
        probe.close()
        poller.close()
        bad = {
            str(code): n
            for code, n in sorted((probe_seen + poll_seen).items())
            if code not in (200, 404)
        }
        tail = latencies[len(latencies) // 2 :]
        return {
            "benchmark": "k8s-propagation",
            "routes": routes,
            "p50_ms": percentile(latencies, 50),
            "p90_ms": percentile(latencies, 90),
            "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies),
            "mean_ms": statistics.fmean(latencies),
            "p50_second_half_ms": percentile(tail, 50),
            "non_200_404": sum(bad.values()),
            "non_200_404_by_code": bad,  # "0": connection failed or closed
            "poller_requests": sum(poll_seen.values()),
            "poller_non_200": sum(n for code, n in poll_seen.items() if code != 200),
            "probe_requests": sum(probe_seen.values()),
            "elapsed_s": elapsed,
            "controller_rss_mib": env.rss_kib()["VmRSS"] / 1024,
            "latencies_ms": [round(x, 2) for x in latencies],
            "load_before": load_before,
            "load_after": load(),
        }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.k8s_propagation")
    parser.add_argument("--routes", type=int, default=1000)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.routes))


if __name__ == "__main__":
    result = main()
    result.pop("latencies_ms")
    print(json.dumps(result, indent=2))
