"""TLS applies per host, not per Ingress (issue 19, item 1): when one Ingress gives
`share.example.com` a certificate, the controller serves the routes of every Ingress naming
that host over HTTPS (another namespace's, one without a `tls` section, one with the same
path, one with allow-http "false" or force-ssl-redirect), and so must the migration. Each
case compares the answers of the controller serving the Ingresses with those of our Gateway
API translation serving the migrated objects."""

from __future__ import annotations

from typing import Any

from gateway_contour.migrate import migrate
from gateway_contour.migrate.model import APPROXIMATED
from tests.unit.migrate import served
from tests.unit.migrate.served import (
    GATEWAY_CLASS,
    Request,
    service,
    tls_secret,
    world_answers,
)

HOST = "share.example.com"


def ingress(
    name: str,
    paths: list[tuple[str, str]],
    namespace: str = "default",
    tls: bool = False,
    annotations: dict[str, str] | None = None,
    host: str = HOST,
) -> dict[str, Any]:
    """`paths`: (Prefix path, Service)."""
    prefixes = [(path, "Prefix", svc) for path, svc in paths]
    secret = "share-cert" if tls else None
    return served.ingress(name, host, prefixes, namespace, secret, annotations)


SUPPORT = [
    service("app"),
    service("api"),
    service("other", "team"),
    tls_secret("share-cert", HOST),
]


def _before_and_after(
    ingresses: list[dict[str, Any]], requests: list[Request]
) -> tuple[dict[Request, Any], dict[Request, Any], Any]:
    migration = migrate([*SUPPORT, *ingresses])
    before = world_answers([*SUPPORT, *ingresses], requests)
    after = world_answers([*SUPPORT, GATEWAY_CLASS, *migration.objects()], requests)
    return before, after, migration


def test_every_ingress_of_a_host_with_tls_is_served_over_https() -> None:
    ingresses = [
        ingress("a-tls", [("/", "app")], tls=True),
        ingress("b-plain", [("/bar", "api")]),
        ingress("c-team", [("/team", "other")], namespace="team"),
    ]
    requests: list[Request] = [
        (scheme, HOST, path) for scheme in ("http", "https") for path in ("/", "/bar", "/team/x")
    ]
    before, after, migration = _before_and_after(ingresses, requests)
    assert before[("https", HOST, "/bar")] == "default/api"
    assert before[("https", HOST, "/team/x")] == "team/other"
    assert after == before
    routes = {o["metadata"]["name"]: o for o in migration.objects() if o["kind"] == "HTTPRoute"}
    sections = {n: [p["sectionName"] for p in r["spec"]["parentRefs"]] for n, r in routes.items()}
    https = "https-share-example-com"
    assert sections == {
        "a-tls-share-example-com": ["http", https],
        "b-plain-share-example-com": ["http", https],
        "c-team-share-example-com": ["http", https],
    }
    assert migration.notes == []


def test_plain_http_keeps_each_ingress_s_own_policy() -> None:
    # the certificate's Ingress redirects; the others do not, or are off plain HTTP
    ingresses = [
        ingress(
            "a-tls",
            [("/", "app")],
            tls=True,
            annotations={"ingress.kubernetes.io/force-ssl-redirect": "true"},
        ),
        ingress("b-plain", [("/bar", "api")]),
        ingress(
            "c-off", [("/off", "api")], annotations={"kubernetes.io/ingress.allow-http": "false"}
        ),
        ingress(
            "d-redirect",
            [("/moved", "api")],
            annotations={"ingress.kubernetes.io/force-ssl-redirect": "true"},
        ),
    ]
    requests: list[Request] = [
        (scheme, HOST, path)
        for scheme in ("http", "https")
        for path in ("/", "/bar", "/off", "/moved/1")
    ]
    before, after, migration = _before_and_after(ingresses, requests)
    assert before[("http", HOST, "/bar")] == "default/api"
    assert before[("http", HOST, "/off")] == "redirect"  # a-tls's "/" takes it on plain HTTP
    assert before[("http", HOST, "/moved/1")] == "redirect"
    assert before[("https", HOST, "/off")] == "default/api"
    assert before[("https", HOST, "/moved/1")] == "default/api"
    assert after == before
    # neither c-off nor d-redirect lacks HTTPS any more: nothing to note
    assert not [n for n in migration.notes if n.kind == APPROXIMATED], migration.notes


def test_a_certificate_for_a_host_the_ingress_does_not_serve_is_ignored() -> None:
    # the controller ignores tls hosts without a rule path of the same Ingress
    orphan = ingress("a-tls", [("/", "app")], tls=True, host="elsewhere.example.com")
    orphan["spec"]["tls"] = [{"hosts": [HOST], "secretName": "share-cert"}]
    ingresses = [orphan, ingress("b-plain", [("/bar", "api")])]
    requests: list[Request] = [("https", HOST, "/bar"), ("http", HOST, "/bar")]
    before, after, migration = _before_and_after(ingresses, requests)
    assert before == {("https", HOST, "/bar"): "no-vhost", ("http", HOST, "/bar"): "default/api"}
    assert after == before
    (gateway,) = [o for o in migration.objects() if o["kind"] == "Gateway"]
    assert [lst["name"] for lst in gateway["spec"]["listeners"]] == ["http"]
