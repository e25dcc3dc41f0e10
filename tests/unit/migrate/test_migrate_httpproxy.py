"""`gateway-contour migrate` for HTTPProxy: a directory holding Ingresses and HTTPProxies
converts both, proxies are trusted when the inputs hold no Services/Secrets (as a cluster
read never has Secrets), many rules spread over several HTTPRoutes, and garbage never
raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings

from gateway_contour.cli import main
from gateway_contour.migrate import MigrateOptions, migrate
from tests.support.garbage import json_values as json_values_of

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
    - host: web.example.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}
"""
PROXIES = """\
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: site, namespace: shop}
spec:
  virtualhost:
    fqdn: site.example.com
    tls: {secretName: certs/site-cert, minimumProtocolVersion: "1.3"}
  routes:
    - services: [{name: app, port: 80}]
  includes:
    - {name: blog, namespace: blog, conditions: [{prefix: /blog/}]}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: blog, namespace: blog}
spec:
  routes:
    - conditions: [{header: {name: x-beta, notpresent: true}}]
      services: [{name: posts, port: 8080}]
---
apiVersion: projectcontour.io/v1
kind: TLSCertificateDelegation
metadata: {name: site, namespace: certs}
spec:
  delegations: [{secretName: site-cert, targetNamespaces: [shop]}]
"""


def test_directory_with_ingresses_and_httpproxies(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "ingress.yaml").write_text(INGRESS)
    (source / "proxies.yaml").write_text(PROXIES)
    out, notes = tmp_path / "out.yaml", tmp_path / "notes.yaml"
    assert main(["migrate", str(source), "-o", str(out), "--notes", str(notes)]) == 0
    objects = list(yaml.safe_load_all(out.read_text()))
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    assert ("HTTPRoute", "web-web-example-com") in by_name  # the Ingress
    site = by_name[("HTTPRoute", "site")]["spec"]
    assert site["parentRefs"][0]["sectionName"] == "https-site-example-com"
    blog_rule = site["rules"][1]
    # the include's prefix is prepended; the Service lives in the included proxy's namespace
    assert blog_rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/blog/"}}]
    assert blog_rule["backendRefs"] == [{"name": "posts", "namespace": "blog", "port": 8080}]
    # plain HTTP redirects to https
    insecure = by_name[("HTTPRoute", "site-insecure")]["spec"]["rules"]
    assert insecure[0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}
    grants = {
        (o["metadata"]["namespace"], o["spec"]["to"][0]["kind"])
        for o in objects
        if o["kind"] == "ReferenceGrant"
    }
    assert grants == {("certs", "Secret"), ("blog", "Service")}
    messages = [n["message"] for n in yaml.safe_load(notes.read_text())["notes"]]
    assert any("minimumProtocolVersion 1.3" in m for m in messages), messages
    assert any("notpresent on x-beta" in m for m in messages), messages
    assert any("prefix /blog/ became a PathPrefix" in m for m in messages), messages
    # --strict: these are not exact
    assert main(["migrate", str(source), "-o", str(out), "--strict"]) == 1


def test_invalid_proxies_are_skipped_with_their_reason() -> None:
    objects = list(yaml.safe_load_all(PROXIES))
    objects[0]["spec"]["includes"][0]["name"] = "missing"
    migration = migrate(objects)
    skipped = {n.source: n.message for n in migration.notes if n.kind == "skipped"}
    assert "include blog/missing not found" in skipped["HTTPProxy shop/site"]
    assert "HTTPProxy blog/blog" in skipped  # orphaned now
    assert not [o for o in migration.objects() if o["kind"] == "HTTPRoute"]


def test_many_rules_are_spread_over_routes() -> None:
    routes = [
        {"conditions": [{"exact": f"/p{i}"}], "services": [{"name": "app", "port": 80}]}
        for i in range(20)
    ]
    proxy = {
        "apiVersion": "projectcontour.io/v1",
        "kind": "HTTPProxy",
        "metadata": {"name": "many", "namespace": "default"},
        "spec": {"virtualhost": {"fqdn": "many.example.com"}, "routes": routes},
    }
    made = [o for o in migrate([proxy]).objects() if o["kind"] == "HTTPRoute"]
    assert [(o["metadata"]["name"], len(o["spec"]["rules"])) for o in made] == [
        ("many", 16),
        ("many-2", 4),
    ]


json_values = json_values_of(
    [
        "virtualhost",
        "fqdn",
        "tls",
        "secretName",
        "passthrough",
        "routes",
        "includes",
        "conditions",
        "prefix",
        "header",
        "name",
        "namespace",
        "services",
        "port",
        "weight",
        "mirror",
        "tcpproxy",
        "requestRedirectPolicy",
        "pathRewritePolicy",
        "retryPolicy",
        "permitInsecure",
    ]
)


@settings(max_examples=200, deadline=None)
@given(spec=json_values, child=json_values)
def test_garbage_never_raises(spec: Any, child: Any) -> None:
    objects = [
        {"kind": "HTTPProxy", "metadata": {"name": n, "namespace": "default"}, "spec": s}
        for n, s in (("fuzz", spec), ("child", child))
    ]
    migration = migrate(objects)
    for obj in migration.objects():
        assert obj["apiVersion"].startswith("gateway.networking.k8s.io/")


@settings(max_examples=200, deadline=None)
@given(route=json_values, child_route=json_values)
def test_garbage_routes_of_a_root_never_raise(route: Any, child_route: Any) -> None:
    root = {
        "virtualhost": {"fqdn": "fuzz.example.com"},
        "routes": [route],
        "includes": [{"name": "child", "conditions": [{"prefix": "/c"}]}],
    }
    objects = [
        {"kind": "HTTPProxy", "metadata": {"name": n, "namespace": "default"}, "spec": s}
        for n, s in (("fuzz", root), ("child", {"routes": [child_route]}))
    ]
    migration = migrate(objects)
    assert migration.notes or migration.routes


def _one_route(route: dict[str, Any], http_port: int = 80) -> tuple[dict[str, Any], list[str]]:
    proxy = {
        "apiVersion": "projectcontour.io/v1",
        "kind": "HTTPProxy",
        "metadata": {"name": "one", "namespace": "default"},
        "spec": {"virtualhost": {"fqdn": "one.example.com"}, "routes": [route]},
    }
    migration = migrate([proxy], MigrateOptions(http_port=http_port))
    made = [o for o in migration.objects() if o["kind"] == "HTTPRoute"]
    return made[0]["spec"]["rules"][0], [n.message for n in migration.notes]


def test_per_try_timeout_is_at_most_the_request_timeout() -> None:
    rule, _ = _one_route(
        {
            "services": [{"name": "app", "port": 80}],
            "timeoutPolicy": {"response": "1s"},
            "retryPolicy": {"count": 2, "perTryTimeout": "5s", "retryOn": ["gateway-error"]},
        }
    )
    assert rule["timeouts"] == {"request": "1s", "backendRequest": "1s"}
    assert rule["retry"] == {"attempts": 2, "codes": [502, 503, 504]}


def test_redirect_without_port_is_noted_off_port_80() -> None:
    route = {"requestRedirectPolicy": {"hostname": "elsewhere.example.com"}}
    rule, notes = _one_route(route)
    assert rule["filters"] == [
        {
            "type": "RequestRedirect",
            "requestRedirect": {"hostname": "elsewhere.example.com", "statusCode": 302},
        }
    ]
    assert not notes
    _, notes = _one_route(route, http_port=8080)
    assert any("listener's port 8080" in n for n in notes), notes
