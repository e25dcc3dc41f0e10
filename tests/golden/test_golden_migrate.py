"""Golden tests for `gateway-contour migrate`: each tests/golden/migrate-<case>/source.yaml
(Ingresses or HTTPProxies, and what they use) migrates to the YAML in gateway-api.yaml and
the notes in notes.yaml. `pytest --update-golden` rewrites both.

Every case's output must also be accepted by our own Gateway API translation: with the
source's Services and Secrets and a GatewayClass of ours, every migrated HTTPRoute and
TLSRoute is Accepted by every parent it names, and the Gateway is Programmed with every
listener's references resolved. HTTPProxy cases also need every route's references
resolved (the controller served only proxies whose Services exist, so the migration must
have granted every cross-namespace backend).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway_contour.migrate import MigrateOptions, migrate, render, render_notes
from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import DEFAULT_CONTROLLER_NAME, TranslateOptions, translate

CASES_DIR = Path(__file__).parent
CASES = sorted(
    p.name
    for p in CASES_DIR.iterdir()
    if p.name.startswith("migrate-") and (p / "source.yaml").is_file()
)
OPTIONS = MigrateOptions()


def _source(case: str) -> list[dict]:
    loaded = load_text((CASES_DIR / case / "source.yaml").read_text(), "source.yaml")
    # objects the API server would refuse (kept in the invalid cases) never reach migration
    assert all(" is invalid: " in p.reason for p in loaded.problems), loaded.problems
    return loaded.objects


def test_cases_exist() -> None:
    assert len(CASES) >= 3


@pytest.mark.parametrize("case", CASES)
def test_golden_migrate(case: str, update_golden: bool) -> None:
    migration = migrate(_source(case), OPTIONS)
    outputs = {"gateway-api.yaml": render(migration), "notes.yaml": render_notes(migration)}
    for name, text in outputs.items():
        path = CASES_DIR / case / name
        if update_golden:
            path.write_text(text)
            continue
        assert path.is_file(), f"{path} is missing; run pytest --update-golden and review it"
        assert text == path.read_text(), f"{case}/{name} differs; see the diff above"


@pytest.mark.parametrize("case", CASES)
def test_migrated_objects_are_accepted(case: str) -> None:
    source = _source(case)
    migrated = list(yaml.safe_load_all(render(migrate(source, OPTIONS))))
    gateway_class = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": OPTIONS.gateway_class},
        "spec": {"controllerName": DEFAULT_CONTROLLER_NAME},
    }
    kept = [o for o in source if o["kind"] in ("Service", "EndpointSlice", "Secret")]
    _, report = translate(Snapshot.of([gateway_class, *kept, *migrated]), TranslateOptions())
    routes = [o for o in migrated if o["kind"] in ("HTTPRoute", "TLSRoute")]
    assert routes
    for route in routes:
        meta = route["metadata"]
        key = f"{route['kind']} {meta['namespace']}/{meta['name']}"
        status = next(s for k, s in report.statuses.items() if str(k) == key)
        assert len(status["parents"]) == len(route["spec"]["parentRefs"]), status
        for parent in status["parents"]:
            conditions = {c["type"]: c for c in parent["conditions"]}
            assert conditions["Accepted"]["status"] == "True", (key, parent)
            if case.startswith("migrate-httpproxy"):
                assert conditions["ResolvedRefs"]["status"] == "True", (key, parent)
    gateway = next(s for k, s in report.statuses.items() if k.kind == "Gateway")
    programmed = {c["type"]: c for c in gateway["conditions"]}["Programmed"]
    assert programmed["status"] == "True", gateway
    for listener in gateway["listeners"]:
        resolved = {c["type"]: c for c in listener["conditions"]}["ResolvedRefs"]
        assert resolved["status"] == "True", listener
