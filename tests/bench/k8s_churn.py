"""Benchmark d: controller memory under steady churn (issue 23).

N HTTPRoutes (default 1,000, over up to SERVICES Services) are created at once; once every
one is Accepted, attached, and served by Envoy, and the controller has been idle IDLE s, its
RSS is the target: the memory of that world built at once. Then for D minutes (default 10)
one route is changed every INTERVAL (100 ms: never a second of quiet), a random one each
time, its path moved to a new /c/<i>/<n>. The controller's RSS is read every second and
printed every REPORT s. After the last change the controller gets IDLE s of quiet and its
RSS is read once more: the end figure.

That the changes take effect is seen through Envoy, as k8s-propagation does (status does
not change when a path does, so a status watch sees nothing): a verifier probes the path of
the newest change until it answers 200, records how long that took, then takes the newest
change again. Verified changes and their propagation times are part of the result.

Targets (issue 23): peak within 1.3x of the target, end within 1.1x.

Run: python -m tests.bench k8s-churn [--churn-routes N] [--churn-minutes D] [--churn-large]
 or python -m tests.bench.k8s_churn [--routes N] [--minutes D] [--large]
--large is the issue's second figure: 10,000 routes for 3 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from typing import Any

from tests.bench.k8s_env import (
    ROUTES_PATH,
    BenchEnv,
    HttpConn,
    dump,
    http_route,
    load,
    percentile,
    route_path,
    until,
)

SERVICES = 1000
INTERVAL = 0.1
REPORT = 30.0
IDLE = 3.0
SETTLE_TIMEOUT = 600.0
CHANGE_TIMEOUT = 30.0
PEAK_LIMIT = 1.3
END_LIMIT = 1.1
LARGE = (10_000, 3.0)


def moved_spec(i: int, services: int, n: int) -> dict[str, Any]:
    """Route i's spec with its path moved to /c/<i>/<n>."""
    spec: dict[str, Any] = http_route(i, i % services)["spec"]
    spec["rules"][0]["matches"][0]["path"]["value"] = f"/c/{i}/{n}"
    return spec


class Churn:
    """The changer, the verifier and the RSS sampler of one run, and what they saw."""

    def __init__(self, env: BenchEnv, routes: int, services: int, target_mib: float) -> None:
        self.env, self.routes, self.services, self.target = env, routes, services, target_mib
        self.changes = 0
        self.latest: tuple[str, float] | None = None  # probe path, when its PATCH returned
        self.verified: list[float] = []  # ms from a PATCH returning to its first 200
        self.unexpected: dict[str, int] = {}  # answers other than 200/404 to the verifier
        self.samples: list[tuple[float, float]] = []  # (s since churn start, RSS MiB)
        self.done = asyncio.Event()
        self.started = 0.0

    def rss_mib(self) -> float:
        return self.env.rss_kib()["VmRSS"] / 1024

    async def change(self, seconds: float, interval: float) -> None:
        rng = random.Random(23)
        next_at = time.perf_counter()
        end = self.started + seconds
        while (now := time.perf_counter()) < end:
            if next_at > now:
                await asyncio.sleep(next_at - now)
            next_at += interval
            i, n = rng.randrange(self.routes), self.changes + 1
            await self.env.client.request(
                "PATCH",
                f"{ROUTES_PATH}/route-{i}",
                body={"spec": moved_spec(i, self.services, n)},
                content_type="application/merge-patch+json",
            )
            self.changes = n
            self.latest = (f"/c/{i}/{n}/x", time.perf_counter())
        self.done.set()

    async def verify(self, conn: HttpConn) -> None:
        while not self.done.is_set():
            if self.latest is None:
                await asyncio.sleep(INTERVAL)
                continue
            path, since = self.latest
            while (status := await conn.get(path)) != 200:
                if status != 404:
                    self.unexpected[str(status)] = self.unexpected.get(str(status), 0) + 1
                if time.perf_counter() - since > CHANGE_TIMEOUT:
                    self.env.check_controller()
                    raise RuntimeError(f"{path} not served after {CHANGE_TIMEOUT} s")
                await asyncio.sleep(0.002)
            self.verified.append((time.perf_counter() - since) * 1e3)
            while self.latest is not None and self.latest[0] == path and not self.done.is_set():
                await asyncio.sleep(0.01)  # the next change

    async def sample(self, report: float) -> None:
        next_report = report
        while not self.done.is_set():
            self.env.check_controller()
            elapsed = time.perf_counter() - self.started
            rss = self.rss_mib()
            self.samples.append((round(elapsed, 1), round(rss, 1)))
            if elapsed >= next_report:
                next_report += report
                last = f"{self.verified[-1]:.0f} ms" if self.verified else "-"
                print(
                    f"  {elapsed:6.0f} s  RSS {rss:7.1f} MiB  {rss / self.target:5.2f}x"
                    f"  changes {self.changes:6d}  verified {len(self.verified):5d}"
                    f" (last {last})  load {load()['load1']:.1f}",
                    flush=True,
                )
            await asyncio.sleep(1.0)


async def build_at_once(env: BenchEnv, routes: int, services: int) -> float:
    """Create every route at once and wait until all are accepted and served; seconds."""
    t0 = time.perf_counter()
    async with env.settling() as settling:
        await env.create_all(http_route(i, i % services) for i in range(routes))
        await settling.wait(routes, SETTLE_TIMEOUT)
    conn = HttpConn(env.envoy_address, env.listener_port)
    for path in (route_path(0), route_path(routes - 1)):

        async def probe(path: str = path) -> int:
            return await conn.get(path)

        await until(probe, lambda status: status == 200, SETTLE_TIMEOUT)
    conn.close()
    return time.perf_counter() - t0


async def run(routes: int, minutes: float, interval: float, report: float) -> dict[str, Any]:
    async with BenchEnv() as env:
        services = min(SERVICES, routes)
        await env.backends_for(range(services))
        env.start_controller()
        await env.wait_serving()
        built_s = await build_at_once(env, routes, services)
        await asyncio.sleep(IDLE)
        env.check_controller()
        target = env.rss_kib()["VmRSS"] / 1024
        print(
            f"k8s-churn: {routes} routes built at once in {built_s:.1f} s; settled RSS "
            f"{target:.1f} MiB (the target); now {minutes:g} min of one change every "
            f"{interval * 1e3:.0f} ms",
            flush=True,
        )
        churn = Churn(env, routes, services, target)
        conn = HttpConn(env.envoy_address, env.listener_port)
        load_before = load()
        churn.started = time.perf_counter()
        await asyncio.gather(
            churn.change(minutes * 60, interval), churn.verify(conn), churn.sample(report)
        )
        churned_s = time.perf_counter() - churn.started
        conn.close()
        last_mib = churn.rss_mib()
        await asyncio.sleep(IDLE)
        env.check_controller()
        rss = env.rss_kib()
        end_mib = rss["VmRSS"] / 1024
        peak_mib = max([last_mib, *(mib for _, mib in churn.samples)])
        verified = churn.verified or [0.0]
        return {
            "benchmark": "k8s-churn",
            "routes": routes,
            "services": services,
            "minutes": minutes,
            "interval_ms": interval * 1e3,
            "built_at_once_s": built_s,
            "target_mib": target,
            "peak_mib": peak_mib,
            "last_churn_mib": last_mib,
            "end_mib": end_mib,
            "hwm_mib": rss["VmHWM"] / 1024,  # includes the build at once
            "peak_ratio": peak_mib / target,
            "end_ratio": end_mib / target,
            "peak_limit": PEAK_LIMIT,
            "end_limit": END_LIMIT,
            "changes": churn.changes,
            "changes_per_s": churn.changes / churned_s,
            "verified_changes": len(churn.verified),
            "propagation_p50_ms": percentile(verified, 50),
            "propagation_p99_ms": percentile(verified, 99),
            "verifier_unexpected": churn.unexpected,
            "samples": churn.samples,
            "load_before": load_before,
            "load_after": load(),
        }


def print_table(r: dict[str, Any]) -> None:
    print(
        f"\nk8s-churn: {r['routes']} routes, {r['changes']} changes in {r['minutes']:g} min"
        f" ({r['changes_per_s']:.1f}/s); {r['verified_changes']} verified through Envoy,"
        f" propagation p50/p99 {r['propagation_p50_ms']:.0f}/{r['propagation_p99_ms']:.0f} ms"
    )
    rows = [
        ("built at once, settled (target)", r["target_mib"], "", ""),
        ("peak during churn (1 s samples)", r["peak_mib"], f"<= {r['peak_limit']}x", "peak"),
        ("last sample of churn", r["last_churn_mib"], "", ""),
        (f"end: after {IDLE:g} s quiet", r["end_mib"], f"<= {r['end_limit']}x", "end"),
    ]
    print(f"  {'figure':<34} {'RSS MiB':>8} {'x target':>8} {'target':>8}")
    for name, mib, limit, which in rows:
        verdict = ""
        if which:
            ok = r[f"{which}_ratio"] <= r[f"{which}_limit"]
            verdict = "meets" if ok else "MISSES"
        ratio = mib / r["target_mib"]
        print(f"  {name:<34} {mib:>8.1f} {ratio:>8.2f} {limit:>8} {verdict}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.k8s_churn")
    parser.add_argument("--routes", type=int, default=None, help="default 1000")
    parser.add_argument("--minutes", type=float, default=None, help="default 10")
    parser.add_argument("--large", action="store_true", help="10,000 routes for 3 minutes")
    parser.add_argument("--interval", type=float, default=INTERVAL, help="s between changes")
    parser.add_argument("--report", type=float, default=REPORT, help="s between RSS lines")
    args = parser.parse_args(argv)
    routes, minutes = LARGE if args.large else (1000, 10.0)
    routes = args.routes if args.routes is not None else routes
    minutes = args.minutes if args.minutes is not None else minutes
    result = asyncio.run(run(routes, minutes, args.interval, args.report))
    print_table(result)
    print(f"wrote {dump('k8s-churn', result)}")
    return result


if __name__ == "__main__":
    summary = main()
    summary.pop("samples")
    print(json.dumps(summary, indent=2))
