"""`make bench`: run every benchmark, print a table, write JSON to tests/bench/results/."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"

# issue 2: 10k routes translated + serialized in under 1 s and 300 MiB
TARGETS = {10_000: {"total_ms": 1000.0, "peak_mib": 300.0}}


def run_translate(routes: int, repeats: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.translate_bench", str(routes), str(repeats)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    rows = [run_translate(n, 5) for n in (1_000, 10_000)]
    header = (
        f"{'HTTPRoutes':>10} {'envoy routes':>12} {'translate ms':>12} {'build ms':>9} "
        f"{'serialize ms':>12} {'total ms':>9} {'first ms':>9} {'1 changed ms':>12} "
        f"{'peak MiB':>9} {'target':>18}"
    )
    print("translate + build + serialize (median of 5 in one process; peak RSS of it)")
    print(header)
    for r in rows:
        target = TARGETS.get(r["httproutes"])
        verdict = ""
        if target:
            ok = r["total_ms"] < target["total_ms"] and r["peak_mib"] < target["peak_mib"]
            verdict = ("meets" if ok else "MISSES") + f" <{target['total_ms']:.0f}ms"
        print(
            f"{r['httproutes']:>10} {r['envoy_routes']:>12} {r['translate_ms']:>12.1f} "
            f"{r['build_ms']:>9.1f} {r['serialize_ms']:>12.1f} {r['total_ms']:>9.1f} "
            f"{r['first_total_ms']:>9.1f} {r['one_changed_ms']:>12.1f} "
            f"{r['peak_mib']:>9.1f} {verdict:>18}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"translate-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(
        json.dumps(
            {"machine": platform.machine(), "python": platform.python_version(), "rows": rows},
            indent=2,
        )
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
