"""The notes `migrate` writes (issue 19, item 6): an Ingress of a class not migrated names
the --ingress-class-name that takes it in (and that value does), and no note quotes a value
from the input as Python's repr (`{'name': 'http'}`)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from gateway_contour.migrate import MigrateOptions, migrate
from gateway_contour.providers.files import load_text

GOLDEN = Path(__file__).parents[2] / "golden"
BACKEND = "{service: {name: app, port: %s}}"
INGRESSES = "---\n".join(
    [
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\n"
        "metadata: {name: other, namespace: shop}\n"
        "spec: {ingressClassName: nginx, rules: [{host: other.example.com, http: {paths: "
        "[{path: /, pathType: Prefix, backend: %s}]}}]}\n" % (BACKEND % "{number: 80}"),
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\n"
        "metadata: {name: classless, namespace: shop}\n"
        "spec: {rules: [{host: classless.example.com, "
        "http: {paths: [{path: /, pathType: Prefix, backend: %s}]}}]}\n"
        % (BACKEND % "{name: http}"),
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\n"
        "metadata: {name: proxy, namespace: shop}\n"
        "spec: {virtualhost: {fqdn: proxy.example.com, tls: {secretName: cert, clientValidation: "
        "{caSecret: ca}}}, routes: [{services: [{name: app, port: 80}]}]}\n",
    ]
)
PYTHON_REPR = re.compile(r"[{\[]'[^']*'(: |, |\]|\})")  # {'name': 'http'}, ['a', 'b']


def _routes(objects: list[dict]) -> list[str]:
    return [o["metadata"]["name"] for o in objects if o["kind"] == "HTTPRoute"]


def test_a_class_not_migrated_names_the_flag_that_migrates_it() -> None:
    objects = list(yaml.safe_load_all(INGRESSES))[:2]
    migration = migrate(objects)
    (note,) = [n for n in migration.notes if n.source == "Ingress shop/other"]
    assert note.kind == "skipped"
    flag = re.search(r"--ingress-class-name (\S+)\)", note.message)
    assert flag is not None, note.message
    assert flag.group(1) == "contour,nginx"
    # the value the note gives migrates it, and keeps what was migrated before
    names = tuple(flag.group(1).split(","))
    with_flag = migrate(objects, MigrateOptions(ingress_class_names=names))
    assert "other-other-example-com" in _routes(with_flag.objects())
    assert not [n for n in with_flag.notes if n.source == "Ingress shop/other"]
    # an Ingress without a class, once classes are named, says how to take it in
    only_nginx = migrate(objects, MigrateOptions(ingress_class_names=("nginx",)))
    (classless,) = [n for n in only_nginx.notes if n.source == "Ingress shop/classless"]
    assert "no ingress class" in classless.message
    assert "spec.ingressClassName" in classless.message


def test_no_note_quotes_python_repr() -> None:
    sources = [INGRESSES] + [p.read_text() for p in sorted(GOLDEN.glob("migrate-*/source.yaml"))]
    messages = []
    for text in sources:
        messages += [n.message for n in migrate(load_text(text, "in.yaml").objects).notes]
    assert len(messages) > 50
    assert [m for m in messages if PYTHON_REPR.search(m)] == []
    # the two that did: a port by name nothing resolves, and a clientValidation block
    assert any("backend app port http cannot be resolved" in m for m in messages)
    assert any(m.startswith("virtualhost.tls.clientValidation: ") for m in messages)
