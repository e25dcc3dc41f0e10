"""`gateway-contour migrate` on a file of N Ingresses, half of them with TLS (issue 19), run
as a user runs it: a fresh `gateway-contour migrate FILE -o OUT` process each time, so the
figures include the interpreter's start and every import. Wall and CPU (user + system of
the child) medians over a few runs; the file is generated here.

ingress2gateway's figures on the same shape of file are the anchor: 0.51-0.57 s for 1,000
Ingresses, 7.8 s for 10,000.

    python -m tests.bench migrate [--counts 1000,10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.k8s_env import dump

ANCHORS = {1_000: "0.51-0.57 s", 10_000: "7.8 s"}
TARGETS = {1_000: 0.5}  # seconds of wall time: faster than ingress2gateway

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-{i}
  namespace: team-{ns}
  annotations:
    kubernetes.io/ingress.class: contour
spec:
{tls}  rules:
  - host: app-{i}.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web-{i}
            port:
              number: 80
      - path: /api
        pathType: Prefix
        backend:
          service:
            name: api-{i}
            port:
              number: 8080
"""
TLS = """\
  tls:
  - hosts:
    - app-{i}.example.com
    secretName: app-{i}-tls
"""


def ingress_file(count: int) -> str:
    """`count` Ingresses over 10 namespaces; the even ones declare TLS for their host."""
    docs = []
    for i in range(count):
        tls = TLS.format(i=i) if i % 2 == 0 else ""
        docs.append(INGRESS.format(i=i, ns=i % 10, tls=tls))
    return "---\n".join(docs)


def run_once(source: Path, out: Path) -> tuple[float, float, int]:
    """(wall s, CPU s of the child, exit code) of one `migrate` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "gateway_contour", "migrate", str(source), "-o", str(out)],
        capture_output=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def run(count: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / "ingresses.yaml", Path(tmp) / "out.yaml"
        source.write_text(ingress_file(count))
        walls, cpus = [], []
        for _ in range(repeats):
            wall, cpu, code = run_once(source, out)
            if code != 0:
                raise RuntimeError(f"migrate exited {code} on {count} Ingresses")
            walls.append(wall)
            cpus.append(cpu)
        objects = out.read_text().count("\nkind: ")
    return {
        "ingresses": count,
        "bytes_in": source_size(count),
        "objects_out": objects,
        "repeats": repeats,
        "wall_s": round(statistics.median(walls), 3),
        "cpu_s": round(statistics.median(cpus), 3),
        "wall_s_all": [round(w, 3) for w in walls],
        "load1": round(os.getloadavg()[0], 2),
    }


def source_size(count: int) -> int:
    return len(ingress_file(count).encode())


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m tests.bench migrate")
    parser.add_argument("--counts", default="1000,10000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rows = [run(int(n), args.repeats) for n in args.counts.split(",")]
    print(f"migrate: a fresh process per run, median of {args.repeats} (half with TLS)")
    print(
        f"{'ingresses':>9} {'objects out':>11} {'wall s':>7} {'cpu s':>7} "
        f"{'ingress2gateway':>15} {'target':>8} {'':>6} {'load1':>5}"
    )
    for r in rows:
        target = TARGETS.get(r["ingresses"])
        verdict = ("meets" if r["wall_s"] < target else "MISSES") if target else ""
        print(
            f"{r['ingresses']:>9} {r['objects_out']:>11} {r['wall_s']:>7.2f} {r['cpu_s']:>7.2f} "
            f"{ANCHORS.get(r['ingresses'], ''):>15} "
            f"{f'< {target} s' if target else '':>8} {verdict:>6} {r['load1']:>5.1f}"
        )
    print(f"wrote {dump('migrate', {'rows': rows})}")
    return rows


if __name__ == "__main__":
    main()
