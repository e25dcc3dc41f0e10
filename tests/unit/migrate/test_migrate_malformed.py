"""`gateway-contour migrate` on malformed input (issue 19, item 5): every bad document or
Ingress gets a note naming it and why (and `--strict` fails), the rest of the file is still
migrated, nothing raises; extensions/v1beta1 Ingresses are converted; and random Ingress
documents, malformed ones included, never crash migrate nor give output the API server
would refuse (our validation: the CRDs' schemas and CEL rules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway_contour.cli import main
from gateway_contour.migrate import migrate, render
from gateway_contour.providers.files import load_text
from gateway_contour.validation import refusal
from tests.support.garbage import INGRESS_FIELDS, json_values

DEEP = "[" * 600 + "]" * 600 + "\n"  # 1.2 KB, 600 levels
GOOD_PATH = {
    "path": "/",
    "pathType": "Prefix",
    "backend": {"service": {"name": "s", "port": {"number": 80}}},
}


def ingress(name: str, spec: Any = None, api: str = "networking.k8s.io/v1") -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": api,
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "default"},
    }
    if spec is not None:
        obj["spec"] = spec
    return obj


def one_path(host: str, **path: Any) -> dict[str, Any]:
    return {"rules": [{"host": host, "http": {"paths": [GOOD_PATH | path]}}]}


def port(number: Any) -> dict[str, Any]:
    return {"service": {"name": "s", "port": {"number": number}}}


BAD = {
    "spec-list": ingress("spec-list", [1, 2]),
    "rules-string": ingress("rules-string", {"rules": "abc"}),
    "tls-hosts-string": ingress(
        "tls-hosts-string",
        {"tls": [{"hosts": "t.example.com", "secretName": "x"}], **one_path("t.example.com")},
    ),
    "no-spec": ingress("no-spec"),
    **{
        f"port-{i}": ingress(f"port-{i}", one_path(f"p{i}.example.com", backend=port(n)))
        for i, n in enumerate([0, -1, 70000, True])
    },
    **{
        f"prefix-{i}": ingress(f"prefix-{i}", one_path(f"q{i}.example.com", path=p))
        for i, p in enumerate(["/a//b", "/a/../b"])
    },
}


def test_a_file_of_malformed_input_is_migrated_around_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, out, notes = tmp_path / "in.yaml", tmp_path / "out.yaml", tmp_path / "notes.yaml"
    good = ingress("good", one_path("ok.example.com"))
    docs = [DEEP, *(json.dumps(o) + "\n" for o in [*BAD.values(), good])]
    source.write_text("---\n".join(docs))
    assert main(["migrate", str(source), "-o", str(out), "--notes", str(notes)]) == 0
    objects = list(yaml.safe_load_all(out.read_text()))
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "HTTPRoute"] == [
        "good-ok-example-com"
    ]
    noted = yaml.safe_load(notes.read_text())["notes"]
    by_source = {n["source"]: n for n in noted}
    assert by_source[f"{source}#0"]["message"].startswith("nested deeper than 64 levels")
    for i in range(1, len(BAD) + 1):
        note = by_source[f"{source}#{i}"]
        assert note["kind"] == "invalid", note
        assert note["message"].endswith("; not migrated")
    assert "spec is a list" in by_source[f"{source}#1"]["message"]
    assert "spec.rules: Invalid value" in by_source[f"{source}#2"]["message"]
    assert "spec.tls[0].hosts: Invalid value" in by_source[f"{source}#3"]["message"]
    assert "either `defaultBackend` or `rules`" in by_source[f"{source}#4"]["message"]
    for i, value in enumerate(["0", "-1", "70000", "true"], start=5):
        assert (
            f"Invalid value: {value}: must be between 1 and 65535"
            in (by_source[f"{source}#{i}"]["message"])
        )
    assert "must not contain '//'" in by_source[f"{source}#9"]["message"]
    assert "must not contain '/../'" in by_source[f"{source}#10"]["message"]
    assert "RecursionError" not in capsys.readouterr().err
    assert out.read_text().splitlines()[1].startswith(f"# {len(BAD) + 1} note(s)")
    assert main(["migrate", str(source), "-o", str(out), "--strict"]) == 1


def test_malformed_ingresses_given_directly_are_noted() -> None:
    """Objects handed to migrate() (not through the files provider) are checked too."""
    migration = migrate([*BAD.values(), ingress("good", one_path("ok.example.com"))])
    invalid = {n.source for n in migration.notes if n.kind == "invalid"}
    assert invalid == {f"Ingress default/{name}" for name in BAD}
    routes = [o for o in migration.objects() if o["kind"] == "HTTPRoute"]
    assert [r["metadata"]["name"] for r in routes] == ["good-ok-example-com"]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/a//b", "it contains '//'"),
        ("/a/../b", "it contains '/../'"),
        ("/sp ace", "characters outside those of a URL path"),
        ("/x#y", "it contains '#'"),
        ("/a/.", "it ends with '/.'"),
    ],
)
def test_paths_httproute_refuses_are_noted_and_skipped(path: str, problem: str) -> None:
    spec = {
        "rules": [
            {
                "host": "p.example.com",
                "http": {
                    "paths": [
                        GOOD_PATH | {"path": path, "pathType": "ImplementationSpecific"},
                        GOOD_PATH | {"path": "/ok"},
                    ]
                },
            }
        ]
    }
    migration = migrate([ingress("paths", spec)])
    (route,) = [o for o in migration.objects() if o["kind"] == "HTTPRoute"]
    assert [r["matches"][0]["path"]["value"] for r in route["spec"]["rules"]] == ["/ok"]
    (note,) = [n for n in migration.notes if "refuses the path" in n.message]
    assert note.kind == "not-expressed"
    assert problem in note.message
    assert refusal(route) is None


def test_v1beta1_ingresses_are_converted() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"name": "http", "port": 8080}]},
    }
    old = ingress(
        "old",
        {
            "backend": {"serviceName": "web", "servicePort": 8080},
            "rules": [
                {
                    "host": "old.example.com",
                    "http": {
                        "paths": [
                            {"path": "/", "backend": {"serviceName": "web", "servicePort": "http"}}
                        ]
                    },
                }
            ],
        },
        api="extensions/v1beta1",
    )
    migration = migrate([service, old])
    assert migration.notes == []
    routes = {o["metadata"]["name"]: o for o in migration.objects() if o["kind"] == "HTTPRoute"}
    assert routes["old-old-example-com"]["spec"]["rules"][0]["backendRefs"] == [
        {"name": "web", "port": 8080}
    ]
    assert routes["old-default-backend"]["spec"]["rules"][0]["backendRefs"] == [
        {"name": "web", "port": 8080}
    ]
    # and an old Ingress the API server would refuse once converted is noted
    broken = ingress(
        "broken", {"backend": {"serviceName": "web", "servicePort": 0}}, api=old["apiVersion"]
    )
    (note,) = migrate([broken]).notes
    assert note.kind == "invalid"
    assert "spec.defaultBackend.service.port.number: Invalid value: 0" in note.message


FIELDS = json_values(INGRESS_FIELDS)


def mostly(good: Any, *bad: Any) -> st.SearchStrategy[Any]:
    """`good` four times in five, else one of `bad`: most documents stay valid enough to
    reach the conversion, with an odd value here and there."""
    return st.sampled_from((good,) * 4 * len(bad) + bad)


PATHS = mostly("/a", "/", "/a//b", "/a/../b", "/sp ace", "/x#", "/(.*)", "a", "", "/a/.")
HOSTS = mostly("a.example.com", "*.example.com", "a_b", "1.2.3.4", "", "B.example.com")
PORTS = mostly(80, 0, -1, 70000, True, "http", None)
PATH_TYPES = mostly("ImplementationSpecific", "Prefix", "Exact", "x")
PLAUSIBLE = st.fixed_dictionaries(
    {
        "rules": st.lists(
            st.fixed_dictionaries(
                {
                    "host": HOSTS,
                    "http": st.fixed_dictionaries(
                        {
                            "paths": st.lists(
                                st.fixed_dictionaries(
                                    {
                                        "path": PATHS,
                                        "pathType": PATH_TYPES,
                                        "backend": st.builds(port, PORTS),
                                    }
                                ),
                                min_size=1,
                                max_size=3,
                            )
                        }
                    ),
                }
            ),
            min_size=1,
            max_size=3,
        ),
        "tls": st.lists(
            st.fixed_dictionaries(
                {"hosts": st.lists(HOSTS, max_size=2), "secretName": mostly("c", "")}
            ),
            max_size=2,
        ),
    }
)
DOCUMENT = st.tuples(
    st.sampled_from(["networking.k8s.io/v1", "extensions/v1beta1"]),
    st.one_of(PLAUSIBLE, FIELDS),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=st.lists(DOCUMENT, min_size=1, max_size=4))
def test_random_ingress_documents_never_crash_nor_give_refused_output(
    documents: list[tuple[str, Any]],
) -> None:
    objects = [ingress(f"ing-{i}", spec, api) for i, (api, spec) in enumerate(documents)]
    text = "---\n".join(json.dumps(o) + "\n" for o in objects)
    loaded = load_text(text, "fuzz.yaml")
    migration = migrate(loaded.objects)
    out = list(yaml.safe_load_all(render(migration)))
    for obj in out:
        assert refusal(obj) is None, (obj, refusal(obj))
