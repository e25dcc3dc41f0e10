"""Golden tests for the Envoy stage: each tests/golden/<case>/in.yaml is translated and built
into xDS resources, written as YAML under xds/<fleet>/<kind>.yaml (fleet "default/web" ->
directory "default_web"; kinds: listeners, routes, clusters, endpoints, secrets) and compared.
`pytest --update-golden` rewrites them. Every fleet of every case must also pass
`envoy --mode validate` (one Envoy process per fleet, run in parallel).

This file reads and writes only the xds/ directory of each case.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest

from gateway_contour.envoy.dump import fleet_dir_name, fleet_to_yaml
from gateway_contour.envoy.resources import Resources, build_resources
from gateway_contour.envoy.validate import validate_fleets
from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import translate
from tests.golden.case_options import options_of

CASES_DIR = Path(__file__).parent
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "in.yaml").is_file())


@cache
def resources_of(case: str) -> Resources:
    loaded = load_text((CASES_DIR / case / "in.yaml").read_text(), "in.yaml")
    ir, _ = translate(Snapshot.of(loaded.objects), options_of(CASES_DIR / case))
    return build_resources(ir)


def render(case: str) -> dict[str, str]:
    """Relative path under the case's xds/ directory -> YAML text."""
    out = {}
    for fleet, resources in resources_of(case).items():
        for kind, text in fleet_to_yaml(resources).items():
            out[f"{fleet_dir_name(fleet)}/{kind}.yaml"] = text
    return out


@pytest.mark.parametrize("case", CASES)
def test_golden_xds(case: str, update_golden: bool) -> None:
    xds_dir = CASES_DIR / case / "xds"
    rendered = render(case)
    if update_golden:
        if xds_dir.exists():
            shutil.rmtree(xds_dir)
        for rel, text in rendered.items():
            path = xds_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return
    on_disk = (
        {str(p.relative_to(xds_dir)): p for p in xds_dir.rglob("*.yaml")}
        if xds_dir.is_dir()
        else {}
    )
    missing = sorted(set(rendered) - set(on_disk))
    assert not missing, f"{case}: xds/{missing} missing; run pytest --update-golden and review"
    extra = sorted(set(on_disk) - set(rendered))
    assert not extra, f"{case}: xds/{extra} no longer produced; run pytest --update-golden"
    for rel, text in rendered.items():
        assert text == on_disk[rel].read_text(), f"{case}/xds/{rel} differs; see the diff above"


def test_every_fleet_passes_envoy_validation() -> None:
    fleets = [
        (f"{case}:{fleet}", resources)
        for case in CASES
        for fleet, resources in resources_of(case).items()
    ]
    results = validate_fleets([resources for _, resources in fleets])
    failures = [
        f"{label}: {r.output}" for (label, _), r in zip(fleets, results, strict=True) if not r.ok
    ]
    assert not failures, "\n\n".join(failures)
