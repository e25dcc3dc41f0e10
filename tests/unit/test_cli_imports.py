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


MIGRATE_PROBE = """
import json, sys
from gateway_contour.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_migrate_of_ingresses_imports_only_what_it_uses(tmp_path: Path) -> None:
    """Issue 19: a file of Ingresses is migrated without the whole translator, certificate
    parsing, the CRD schemas' validator or the cluster client (~0.5 s of the 1,000-Ingress
    run before)."""
    source, out = tmp_path / "in.yaml", tmp_path / "out.yaml"
    source.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\n"
        "spec:\n  tls: [{hosts: [a.example.com], secretName: a}]\n  rules:\n"
        "  - host: a.example.com\n    http:\n      paths:\n"
        "      - {path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", MIGRATE_PROBE, "migrate", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["code"] == 0
    assert "kind: HTTPRoute" in out.read_text()  # it did its job
    unwanted = (
        "gateway_contour.translate.translation",
        "gateway_contour.translate.gatewayapi.translator",
        "gateway_contour.translate.ingress.translator",
        "gateway_contour.translate.httpproxy.translator",
        "gateway_contour.migrate.httpproxy_validity",
        "gateway_contour.providers.kubernetes.client",
        "cryptography",
        "jsonschema",
        "aiohttp",
    )
    assert [m for m in found["modules"] if m in unwanted] == []
