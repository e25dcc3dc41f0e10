"""Ingresses and root HTTPProxies kept from one translation to the next (LegacyMemo,
translate/httpproxy/replay.py): a cached translation always equals a fresh one."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, TranslationCache, translate

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
Obj = dict[str, Any]


def service(name: str) -> list[Obj]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": 80}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{name}-1",
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": name},
            },
            "ports": [{"name": "http", "port": 8080}],
            "endpoints": [{"addresses": ["10.0.0.1"]}],
        },
    ]


def proxy(name: str, spec: Obj) -> Obj:
    return {
        "apiVersion": "projectcontour.io/v1",
        "kind": "HTTPProxy",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def include(name: str, condition: Obj) -> Obj:
    return {"name": name, "conditions": [condition]}


class Compare:
    """Translates each world twice, with the cache kept across calls and without any."""

    def __init__(self) -> None:
        self.cache = TranslationCache()

    def __call__(self, objects: list[Obj]) -> dict[str, Any]:
        cached_ir, cached_report = translate(Snapshot.of(objects), TranslateOptions(), self.cache)
        fresh_ir, fresh_report = translate(Snapshot.of(objects), TranslateOptions())
        assert cached_ir == fresh_ir
        assert cached_report.to_data() == fresh_report.to_data()
        return fresh_report.to_data()


def status_of(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        s["status"] for s in report["statuses"] if s["object"] == f"HTTPProxy default/{name}"
    )
    return found


def test_a_child_made_invalid_by_one_root_comes_back_for_the_next() -> None:
    """Root a-root includes the child under an exact path, which includes may not use: a-root
    is invalid (as in Contour) and the child stays valid for b-root. When a-root switches to
    a prefix it is valid again, and back."""
    objects = [
        *service("web"),
        proxy("child", {"routes": [{"services": [{"name": "web", "port": 80}]}]}),
        proxy(
            "a-root",
            {
                "virtualhost": {"fqdn": "a.example.com"},
                "includes": [include("child", {"exact": "/x"})],
            },
        ),
        proxy(
            "b-root",
            {
                "virtualhost": {"fqdn": "b.example.com"},
                "includes": [include("child", {"prefix": "/b"})],
            },
        ),
    ]
    compare = Compare()
    report = compare(objects)
    assert status_of(report, "a-root")["currentStatus"] == "invalid"
    assert status_of(report, "child")["currentStatus"] == "valid"

    fixed = copy.deepcopy(objects[3])
    fixed["spec"]["includes"] = [include("child", {"prefix": "/a"})]
    report = compare([*objects[:3], fixed, objects[4]])
    assert status_of(report, "a-root")["currentStatus"] == "valid"
    # and back
    report = compare(objects)
    assert status_of(report, "a-root")["currentStatus"] == "invalid"
    assert status_of(report, "child")["currentStatus"] == "valid"


def test_an_included_proxy_appearing_and_leaving() -> None:
    root = proxy(
        "root",
        {"virtualhost": {"fqdn": "r.example.com"}, "includes": [include("late", {"prefix": "/l"})]},
    )
    late = proxy("late", {"routes": [{"services": [{"name": "web", "port": 80}]}]})
    compare = Compare()
    assert status_of(compare([*service("web"), root]), "root")["currentStatus"] == "invalid"
    assert status_of(compare([*service("web"), root, late]), "root")["currentStatus"] == "valid"
    assert status_of(compare([*service("web"), root]), "root")["currentStatus"] == "invalid"


def test_a_kept_root_loses_its_host_to_a_new_ingress_and_gets_it_back() -> None:
    """The fqdn claim is decided anew each time: an HTTPProxy kept from the last
    translation loses its host to an Ingress that appears, and gets it back."""
    root = proxy(
        "root",
        {
            "virtualhost": {"fqdn": "shared.example.com"},
            "routes": [{"services": [{"name": "web", "port": 80}]}],
        },
    )
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "ing", "namespace": "default"},
        "spec": {
            "rules": [
                {
                    "host": "shared.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }
    compare = Compare()
    assert status_of(compare([*service("web"), root]), "root")["currentStatus"] == "valid"
    report = compare([*service("web"), root, ingress])
    assert "already served by Ingress" in status_of(report, "root")["description"]
    assert status_of(compare([*service("web"), root]), "root")["currentStatus"] == "valid"


def _golden_cases() -> list[str]:
    return sorted(p.parent.name for p in GOLDEN.glob("*/in.yaml"))


@pytest.mark.parametrize("case", _golden_cases(), ids=str)
def test_every_golden_world_minus_any_one_object(case: str) -> None:
    """Warm the cache on a golden world, then take each object away in turn (and put it
    back): every cached translation equals a fresh one. Whatever a kept result depends on,
    taking it away must be noticed."""
    objects = load_text((GOLDEN / case / "in.yaml").read_text(), "in.yaml").objects
    compare = Compare()
    compare(objects)
    for i in range(len(objects)):
        compare(objects[:i] + objects[i + 1 :])
        compare(objects)
