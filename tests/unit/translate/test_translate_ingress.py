"""Ingress translation details the golden cases do not pin: class selection under each
option, the load balancer status address, Go durations, and that garbage never raises."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway_contour.ir.model import IR
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, translate
from gateway_contour.translate.go_duration import parse_go_duration


def ingress(name: str, class_name: str | None = None, annotation: str | None = None) -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if annotation is not None:
        meta["annotations"] = {"kubernetes.io/ingress.class": annotation}
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": f"{name}.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "app", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ]
    }
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def ingress_class(name: str, controller: str, default: bool = False) -> dict:
    meta: dict[str, Any] = {"name": name}
    if default:
        meta["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return {"kind": "IngressClass", "metadata": meta, "spec": {"controller": controller}}


SERVICE = {
    "kind": "Service",
    "metadata": {"name": "app", "namespace": "default"},
    "spec": {"ports": [{"name": "http", "port": 80}]},
}


def served_hosts(objects: list[dict], options: TranslateOptions) -> set[str]:
    ir, _ = translate(Snapshot.of([SERVICE, *objects]), options)
    return {
        vh.hostname
        for gw in ir.gateways
        if gw.name == options.legacy_fleet
        for listener in gw.listeners
        for vh in listener.virtual_hosts
    }


OBJECTS = [
    ingress_class("ours", "projectcontour.io/ingress-controller"),
    ingress_class("nginx", "k8s.io/ingress-nginx"),
    ingress("none"),
    ingress("contour", "contour"),
    ingress("ours", "ours"),
    ingress("nginx", "nginx"),
    ingress("internal", "internal"),
    ingress("annotated", "nginx", annotation="internal"),
]


def test_default_selection_is_contours() -> None:
    assert served_hosts(OBJECTS, TranslateOptions()) == {
        "none.example.com",
        "contour.example.com",
        "ours.example.com",
    }


def test_configured_class_names_are_exactly_ours() -> None:
    options = TranslateOptions(ingress_class_names=("internal",))
    # the annotation wins over spec.ingressClassName; no class means not ours
    assert served_hosts(OBJECTS, options) == {"internal.example.com", "annotated.example.com"}


def test_configured_default_class_applies_to_ingresses_without_one() -> None:
    options = TranslateOptions(ingress_class_names=("internal",), ingress_default_class="internal")
    assert "none.example.com" in served_hosts(OBJECTS, options)


def test_cluster_default_ingress_class_of_another_controller_takes_unclassed_ingresses() -> None:
    objects = [*OBJECTS, ingress_class("nginx", "k8s.io/ingress-nginx", default=True)]
    assert "none.example.com" not in served_hosts(objects, TranslateOptions())


def statuses(options: TranslateOptions) -> dict[str, Any]:
    _, report = translate(Snapshot.of([SERVICE, ingress("web")]), options)
    return {str(k): v for k, v in report.statuses.items() if k.kind == "Ingress"}


def test_status_address_comes_from_the_fleet() -> None:
    fleet = TranslateOptions.legacy_fleet
    assigned = TranslateOptions(gateway_addresses=MappingProxyType({fleet: "127.0.1.9"}))
    assert statuses(assigned) == {
        "Ingress default/web": {"loadBalancer": {"ingress": [{"ip": "127.0.1.9"}]}}
    }
    by_name = TranslateOptions(ingress_status_address="lb.example.com")
    assert statuses(by_name) == {
        "Ingress default/web": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}
    }
    bound = TranslateOptions(default_address="127.0.0.1")
    assert statuses(bound)["Ingress default/web"]["loadBalancer"]["ingress"] == [
        {"ip": "127.0.0.1"}
    ]
    # a wildcard bind address says nothing about where clients go: no status
    assert statuses(TranslateOptions()) == {}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("1s", 1.0),
        ("1.5s", 1.5),
        ("300ms", 0.3),
        ("2m30s", 150.0),
        ("1h", 3600.0),
        ("+5s", 5.0),
        ("10us", 1e-5),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "-1s", "5", "1x", "s", "1s 2s", "1.2.3s", "ten", "2562048h", "100000000h"]
)
def test_not_go_durations(text: str) -> None:
    assert parse_go_duration(text) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100_000) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=12,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "rules": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "host": json_values,
                    "http": st.fixed_dictionaries(
                        {},
                        optional={
                            "paths": st.lists(
                                st.fixed_dictionaries(
                                    {},
                                    optional={
                                        "path": json_values,
                                        "pathType": st.sampled_from(
                                            ["Exact", "Prefix", "ImplementationSpecific", "x"]
                                        )
                                        | json_values,
                                        "backend": json_values,
                                    },
                                ),
                                max_size=3,
                            )
                        },
                    ),
                },
            )
            | json_values,
            max_size=3,
        ),
        "tls": json_values,
        "defaultBackend": json_values,
        "ingressClassName": json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(
    spec=fields,
    annotations=st.dictionaries(
        st.sampled_from(
            [
                "projectcontour.io/response-timeout",
                "projectcontour.io/retry-on",
                "projectcontour.io/num-retries",
                "projectcontour.io/per-try-timeout",
                "projectcontour.io/websocket-routes",
                "projectcontour.io/tls-minimum-protocol-version",
                "projectcontour.io/tls-cert-namespace",
                "ingress.kubernetes.io/force-ssl-redirect",
                "kubernetes.io/ingress.allow-http",
                "kubernetes.io/ingress.class",
            ]
        ),
        json_values,
        max_size=4,
    ),
)
def test_garbage_ingresses_never_raise(spec: dict, annotations: dict) -> None:
    obj = {
        "kind": "Ingress",
        "metadata": {"name": "fuzz", "namespace": "default", "annotations": annotations},
        "spec": spec,
    }
    ir, report = translate(Snapshot.of([SERVICE, obj]), TranslateOptions())
    assert isinstance(ir, IR) and isinstance(report, StatusReport)
    # an internal error would be reported as one: there must be none
    assert not [p for p in report.problems if "internal error" in p.reason], report.problems
