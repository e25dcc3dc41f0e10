"""Gateway API's limits in what `migrate` writes (issue 19, item 4): more than 16 rules go to
several HTTPRoutes, more than 16 Secrets or Services of a namespace to several
ReferenceGrants, more than 64 listeners to ListenerSets attached to the Gateway; the API
server's checks (our validation: the CRDs' schemas and CEL) accept every object, our own
Gateway API translation accepts every route on every parent it names, and `--strict` exits 1
whenever an object of the output would still be refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway_contour.certs.authority import self_signed
from gateway_contour.cli import main
from gateway_contour.migrate import migrate
from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import DEFAULT_CONTROLLER_NAME, TranslateOptions, translate
from gateway_contour.validation import refusal
from tests.bench.migrate_bench import ingress_file


def _accepted(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        assert refusal(obj) is None, refusal(obj)


def _ingress(name: str, host: str, paths: list[str]) -> dict[str, Any]:
    backend = {"service": {"name": "app", "port": {"number": 80}}}
    http = {"paths": [{"path": p, "pathType": "Prefix", "backend": backend} for p in paths]}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"rules": [{"host": host, "http": http}]},
    }


def _kinds(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def test_more_than_16_paths_give_several_routes_in_order() -> None:
    paths = [f"/p{i}" for i in range(40)]
    ingress = _ingress("many", "many.example.com", paths)
    objects = migrate([ingress]).objects()
    _accepted(objects)
    routes = _kinds(objects, "HTTPRoute")
    assert [r["metadata"]["name"] for r in routes] == [
        "many-many-example-com",
        "many-many-example-com-2",
        "many-many-example-com-3",
    ]
    assert [len(r["spec"]["rules"]) for r in routes] == [16, 16, 8]
    values = [rule["matches"][0]["path"]["value"] for r in routes for rule in r["spec"]["rules"]]
    assert values == paths


def test_ten_or_more_parts_keep_their_order_in_name_order() -> None:
    """Gateway API breaks precedence ties by "namespace/name": "x-10" before "x-2" would put
    the tenth part's rules ahead of the second's."""
    paths = [f"/p{i}" for i in range(16 * 10 + 1)]
    routes = _kinds(migrate([_ingress("many", "m.example.com", paths)]).objects(), "HTTPRoute")
    names = [r["metadata"]["name"] for r in routes]
    assert len(names) == 11
    assert names[:3] == ["many-m-example-com", "many-m-example-com-02", "many-m-example-com-03"]
    assert names == sorted(names)


def test_1000_ingresses_half_with_tls_fit_the_limits_and_are_served() -> None:
    """The bench's file: 501 listeners are the Gateway's 64 and 7 ListenerSets', each HTTPS
    route attached to the ListenerSet holding its host's listener; 50 Secrets per namespace
    are granted by 4 ReferenceGrants each."""
    loaded = load_text(ingress_file(1000), "1000.yaml")
    objects = migrate(loaded.objects).objects()
    _accepted(objects)
    (gateway,) = _kinds(objects, "Gateway")
    sets = _kinds(objects, "ListenerSet")
    assert len(gateway["spec"]["listeners"]) == 64
    assert [len(s["spec"]["listeners"]) for s in sets] == [64] * 6 + [53]
    assert gateway["spec"]["allowedListeners"] == {"namespaces": {"from": "Same"}}
    grants = _kinds(objects, "ReferenceGrant")
    assert all(len(g["spec"]["to"]) <= 16 for g in grants)
    assert sum(len(g["spec"]["to"]) for g in grants) == 500
    assert {f["kind"] for g in grants for f in g["spec"]["from"]} == {"Gateway", "ListenerSet"}
    # our own translation serves it: every route Accepted on every parent, every listener
    # (the ListenerSets' too) with its certificate resolved
    cert, key = self_signed("app.example.com")
    secrets = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": ref["name"], "namespace": g["metadata"]["namespace"]},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": cert.decode(), "tls.key": key.decode()},
        }
        for g in grants
        for ref in g["spec"]["to"]
    ]
    gateway_class = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": gateway["spec"]["gatewayClassName"]},
        "spec": {"controllerName": DEFAULT_CONTROLLER_NAME},
    }
    _, report = translate(Snapshot.of([gateway_class, *secrets, *objects]), TranslateOptions())
    statuses = {str(k): s for k, s in report.statuses.items()}
    for route in _kinds(objects, "HTTPRoute"):
        meta = route["metadata"]
        status = statuses[f"HTTPRoute {meta['namespace']}/{meta['name']}"]
        assert len(status["parents"]) == len(route["spec"]["parentRefs"])
        for parent in status["parents"]:
            accepted = {c["type"]: c for c in parent["conditions"]}["Accepted"]
            assert accepted["status"] == "True", (meta, parent)
    for holder in [gateway, *sets]:
        meta = holder["metadata"]
        status = statuses[f"{holder['kind']} {meta['namespace']}/{meta['name']}"]
        assert len(status["listeners"]) == len(holder["spec"]["listeners"])
        for listener in status["listeners"]:
            resolved = {c["type"]: c for c in listener["conditions"]}["ResolvedRefs"]
            assert resolved["status"] == "True", listener


def test_strict_fails_when_the_output_would_be_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, out = tmp_path / "in.yaml", tmp_path / "out.yaml"
    source.write_text(ingress_file(3))
    assert main(["migrate", str(source), "-o", str(out), "--strict"]) == 0
    # a Gateway name the API server refuses (not a DNS subdomain)
    args = ["migrate", str(source), "-o", str(out), "--gateway-name", "Bad_Name"]
    assert main(args) == 0  # not checked without --strict
    assert main([*args, "--strict"]) == 1
    err = capsys.readouterr().err
    assert "[invalid] output Gateway projectcontour/Bad_Name: the API server would refuse it" in err
    assert "output Gateway" in out.read_text().split("---")[0]
    # still written: the Gateway, 2 ReferenceGrants (the even Ingresses have TLS), 3 routes
    assert len(list(yaml.safe_load_all(out.read_text()))) == 6


def test_a_path_longer_than_httproute_allows_is_noted() -> None:
    ingress = _ingress("long", "long.example.com", ["/" + "a" * 1100, "/short"])
    migration = migrate([ingress])
    _accepted(migration.objects())
    assert any("longer than HTTPRoute's 1024 characters" in n.message for n in migration.notes)
    (route,) = _kinds(migration.objects(), "HTTPRoute")
    assert [r["matches"][0]["path"]["value"] for r in route["spec"]["rules"]] == ["/short"]
