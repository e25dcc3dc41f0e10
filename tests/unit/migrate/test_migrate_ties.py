"""Precedence ties (issue 19, item 2): two Ingresses serving one host and path are decided
by Ingress order, (namespace, name), in the controller, and would be decided by HTTPRoute
age, then "namespace/name", after migration. The path that never answers is left out of
the listeners where it loses (a `skipped` note: that is exact), so the same backend
answers; each case compares the controller's answers with our Gateway API translation of
the output, and fails when both are migrated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway_contour.cli import main
from gateway_contour.migrate import migrate
from gateway_contour.migrate.model import APPROXIMATED, SKIPPED
from tests.unit.migrate import served
from tests.unit.migrate.served import (
    GATEWAY_CLASS,
    Request,
    service,
    tls_secret,
    world_answers,
)

HOST = "tie.example.com"
REDIRECT = {"ingress.kubernetes.io/force-ssl-redirect": "true"}
HTTPS_ONLY = {"kubernetes.io/ingress.allow-http": "false"}


def ingress(
    name: str,
    paths: list[tuple[str, str, str]],
    namespace: str = "default",
    tls: bool = False,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    return served.ingress(name, HOST, paths, namespace, "tie-cert" if tls else None, annotations)


SUPPORT = [
    service("app"),
    service("api"),
    service("app", "shop"),
    service("app", "shop-eu"),
    tls_secret("tie-cert", HOST),
]


def _same_answers(ingresses: list[dict[str, Any]], requests: list[Request]) -> Any:
    """The migration, after checking that both worlds answer alike; and the answers."""
    migration = migrate([*SUPPORT, *ingresses])
    before = world_answers([*SUPPORT, *ingresses], requests)
    after = world_answers([*SUPPORT, GATEWAY_CLASS, *migration.objects()], requests)
    assert after == before
    return migration, before


def _requests(*paths: str) -> list[Request]:
    return [(scheme, HOST, p) for scheme in ("http", "https") for p in paths]


def _routes(migration: Any) -> dict[str, list[str]]:
    """HTTPRoute "namespace/name" -> the listeners it attaches to."""
    return {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": [
            p["sectionName"] for p in o["spec"]["parentRefs"]
        ]
        for o in migration.objects()
        if o["kind"] == "HTTPRoute"
    }


def test_the_first_ingress_by_name_keeps_the_path() -> None:
    # "default/tie-b-tie-..." sorts before "default/tie-tie-...": Gateway API's tie-break
    # would pick tie-b, the controller picks tie
    ingresses = [
        ingress("tie", [("/x", "Prefix", "app")]),
        ingress("tie-b", [("/x", "Prefix", "api"), ("/y", "Prefix", "api")]),
    ]
    migration, before = _same_answers(ingresses, _requests("/x", "/x/1", "/y"))
    assert before[("http", HOST, "/x/1")] == "default/app"
    assert before[("http", HOST, "/y")] == "default/api"
    rules = {
        o["metadata"]["name"]: [r["matches"][0]["path"]["value"] for r in o["spec"]["rules"]]
        for o in migration.objects()
        if o["kind"] == "HTTPRoute"
    }
    assert rules == {"tie-tie-example-com": ["/x"], "tie-b-tie-example-com": ["/y"]}
    (note,) = migration.notes
    assert (note.source, note.kind) == ("Ingress default/tie-b", SKIPPED)
    assert "Ingress default/tie has the same path" in note.message


def test_namespaces_order_as_the_controller_orders_them() -> None:
    # ("shop", "web") before ("shop-eu", "web"), but the spec's "shop-eu/web" sorts before
    # "shop/web" (our translation compares (namespace, name), so only the output shows it)
    ingresses = [
        ingress("web", [("/", "Prefix", "app")], namespace="shop"),
        ingress("web", [("/", "Prefix", "app")], namespace="shop-eu"),
    ]
    migration, before = _same_answers(ingresses, _requests("/", "/a"))
    assert before[("http", HOST, "/a")] == "shop/app"
    assert [(n.source, n.kind) for n in migration.notes] == [("Ingress shop-eu/web", SKIPPED)]
    assert list(_routes(migration)) == ["shop/web-tie-example-com"]


def test_a_trailing_slash_or_a_plain_prefix_is_the_same_path() -> None:
    # the controller ranks "/docs/" before "/docs" (longer); Gateway API sees one prefix
    ingresses = [
        ingress("a", [("/docs", "Prefix", "app")]),
        ingress("b", [("/docs/", "Prefix", "api")]),
        ingress("c", [("/docs", "ImplementationSpecific", "app")]),
    ]
    migration, before = _same_answers(ingresses, _requests("/docs", "/docs/x"))
    assert before[("http", HOST, "/docs/x")] == "default/api"
    assert {n.source for n in migration.notes if n.kind == SKIPPED} == {
        "Ingress default/a",
        "Ingress default/c",
    }


def test_each_listener_keeps_the_path_that_answers_there() -> None:
    # a is off plain HTTP: there b answers /x; over HTTPS a does
    ingresses = [
        ingress("a", [("/x", "Prefix", "app")], tls=True, annotations=HTTPS_ONLY),
        ingress("b", [("/x", "Prefix", "api"), ("/y", "Prefix", "api")]),
    ]
    migration, before = _same_answers(ingresses, _requests("/x", "/y"))
    assert before[("http", HOST, "/x")] == "default/api"
    assert before[("https", HOST, "/x")] == "default/app"
    https = "https-tie-example-com"
    assert _routes(migration) == {
        "default/a-tie-example-com": [https],
        "default/b-tie-example-com": ["http", https],  # /y
        "default/b-tie-example-com-http": ["http"],  # /x
    }
    (note,) = migration.notes
    assert note.source == "Ingress default/b" and "left out on HTTPS" in note.message


def test_a_redirect_shadows_the_same_path_on_plain_http() -> None:
    ingresses = [
        ingress("a", [("/x", "Prefix", "app")], tls=True, annotations=REDIRECT),
        ingress("b", [("/x", "Prefix", "api")]),
    ]
    migration, before = _same_answers(ingresses, _requests("/x"))
    assert before == {("http", HOST, "/x"): "redirect", ("https", HOST, "/x"): "default/app"}
    assert sorted(_routes(migration)) == [
        "default/a-tie-example-com",
        "default/a-tie-example-com-redirect",
    ]


def test_strict_passes_left_out_paths_and_fails_on_regex_ties(tmp_path: Path) -> None:
    shadowed = tmp_path / "shadowed.yaml"
    shadowed.write_text(
        yaml.safe_dump_all(
            [ingress("tie", [("/x", "Exact", "app")]), ingress("tie-b", [("/x", "Exact", "api")])]
        )
    )
    out = tmp_path / "out.yaml"
    assert main(["migrate", str(shadowed), "-o", str(out), "--strict"]) == 0
    # two regular expressions of one length from two Ingresses: "/a/1" matches both
    regexes = [
        ingress("r1", [("/a/[0-9]", "ImplementationSpecific", "app")]),
        ingress("r2", [("/[a-z]/1", "ImplementationSpecific", "api")]),
    ]
    (note,) = migrate(regexes).notes
    assert (note.source, note.kind) == ("Ingress default/r2", APPROXIMATED)
    assert "Ingress default/r1" in note.message
    tied = tmp_path / "tied.yaml"
    tied.write_text(yaml.safe_dump_all(regexes))
    assert main(["migrate", str(tied), "-o", str(out), "--strict"]) == 1
