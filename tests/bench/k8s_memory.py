"""Benchmark c: controller memory (RSS) with 0, then 1,000, then 5,000 HTTPRoutes.

The controller runs as a subprocess (`gateway-contour serve --provision host`), so its RSS
(VmRSS from /proc, and the peak VmHWM) is its own: the Envoy it starts and the load
generator are other processes. Routes are spread over SERVICES Services with an
EndpointSlice each; at each step the routes are created, the benchmark waits until every
one is Accepted and the Gateway shows attachedRoutes = N, lets the controller go idle for
IDLE seconds, then reads the RSS.

Run: python -m tests.bench k8s-memory [--steps 1000,5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from tests.bench.k8s_env import IN_FLIGHT, BenchEnv, http_route, load

SERVICES = 1000
IDLE = 3.0
SETTLE_TIMEOUT = 300.0


async def run(steps: list[int]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    async with BenchEnv() as env:
        services = min(SERVICES, max(steps))
        await env.backends_for(range(services))
        env.start_controller()
        await env.wait_serving()
        await asyncio.sleep(IDLE)
        rss = env.rss_kib()
        rows.append({"routes": 0, "rss_mib": rss["VmRSS"] / 1024, "hwm_mib": rss["VmHWM"] / 1024})
        made = 0
        async with env.settling() as settling:
            for target in steps:
                t0 = time.perf_counter()
                await env.create_all(
                    (http_route(i, i % services) for i in range(made, target)), IN_FLIGHT
                )
                made = target
                await settling.wait(target, SETTLE_TIMEOUT)
                settled = time.perf_counter() - t0
                await asyncio.sleep(IDLE)
                env.check_controller()
                rss = env.rss_kib()
                rows.append(
                    {
                        "routes": target,
                        "rss_mib": rss["VmRSS"] / 1024,
                        "hwm_mib": rss["VmHWM"] / 1024,
                        "settle_s": settled,
                        "load": load(),
                    }
                )
    return {"benchmark": "k8s-memory", "services": services, "rows": rows, "load_after": load()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.k8s_memory")
    parser.add_argument("--steps", default="1000,5000", help="route counts, ascending")
    args = parser.parse_args(argv)
    return asyncio.run(run(sorted(int(s) for s in args.steps.split(","))))


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
