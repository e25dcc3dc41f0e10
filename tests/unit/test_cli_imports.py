"""`gateway-contour bootstrap` runs in every Envoy Pod's init container: it imports none of
the controller's heavy dependencies (each costs a fraction of a second idle, seconds on a
busy node), and neither does building the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("grpc", "cryptography", "aiohttp", "google.protobuf", "yaml", "anyio", "asyncio")

PROBE = """
import json, sys
from gateway_contour.cli import main
code = main(sys.argv[1:])
heavy = sorted({m.split('.')[0] if not m.startswith('google.') else 'google.protobuf'
                for m in sys.modules if m.startswith(%r)})
print(json.dumps({"code": code, "heavy": heavy}))
"""


def imported_by(*argv: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *argv],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_bootstrap_imports_nothing_heavy(tmp_path: Path) -> None:
    out = tmp_path / "bootstrap.json"
    found = imported_by("bootstrap", str(out), "--fleet", "ns/gw", "--xds-cert-dir", "/certs")
    assert found == {"code": 0, "heavy": []}
    written = json.loads(out.read_text())
    assert written["node"]["cluster"] == "ns/gw"  # it did its job
