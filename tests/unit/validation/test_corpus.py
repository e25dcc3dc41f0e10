"""The corpus of tests/data/invalid_objects.yaml through the files provider alone: every object
not named `valid` is refused with the API server's words and every `valid` one served (the
k8s tier's test_validation_same_set.py checks the same set against a real API server)."""

from __future__ import annotations

from pathlib import Path

import yaml

from gateway_contour.providers.files import load_directory, load_text

CORPUS = Path(__file__).resolve().parents[2] / "data" / "invalid_objects.yaml"


def corpus() -> list[dict]:
    return [d for d in yaml.safe_load_all(CORPUS.read_text()) if d]


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    invalid = [d for d in corpus() if d["metadata"]["name"] != "valid"]
    assert len(invalid) >= 40
    kinds = {d["kind"] for d in invalid}
    assert kinds >= {"Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute", "ListenerSet"}
    assert kinds >= {"HTTPProxy", "Ingress"}


def test_the_files_provider_refuses_exactly_the_invalid_ones() -> None:
    loaded = load_text(CORPUS.read_text(), "corpus.yaml")
    served = {(o["kind"], o["metadata"]["name"]) for o in loaded.objects}
    assert served == {(d["kind"], "valid") for d in corpus()}
    assert len(loaded.problems) == len(corpus()) - len(served)
    assert all(
        " is invalid: " in p.reason or ": strict decoding error: unknown field " in p.reason
        for p in loaded.problems
    )


def test_a_directory_with_bad_objects_serves_the_good_route(tmp_path: Path) -> None:
    gateway = """apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: gc
  listeners: [{name: http, port: 80, protocol: HTTP}, {name: http, port: 81, protocol: HTTP}]
"""
    rules = ", ".join(["{backendRefs: [{name: web, port: 80}]}"] * 17)
    routes = f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: many}}
spec: {{rules: [{rules}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: good}}
spec:
  parentRefs: [{{name: gw}}]
  rules: [{{backendRefs: [{{name: web, port: 80}}]}}]
"""
    proxy = """apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: retries}
spec:
  virtualhost: {fqdn: a.example.com}
  routes: [{services: [{name: web, port: 80}], retryPolicy: {retryOn: [foobar]}}]
"""
    (tmp_path / "gateway.yaml").write_text(gateway)
    (tmp_path / "routes.yaml").write_text(routes)
    (tmp_path / "proxy.yaml").write_text(proxy)
    loaded = load_directory(tmp_path)
    assert [(o["kind"], o["metadata"]["name"]) for o in loaded.objects] == [("HTTPRoute", "good")]
    assert sorted((p.source, p.reason) for p in loaded.problems) == [
        (
            "gateway.yaml#0",
            'Gateway.gateway.networking.k8s.io "gw" is invalid: [spec.listeners[1]: Duplicate '
            'value: map[string]interface {}{"name":"http"}, spec.listeners: Invalid value: '
            '"array": Listener name must be unique within the Gateway]',
        ),
        (
            "proxy.yaml#0",
            'HTTPProxy.projectcontour.io "retries" is invalid: '
            'spec.routes[0].retryPolicy.retryOn[0]: Unsupported value: "foobar": supported '
            'values: "5xx", "gateway-error", "reset", "connect-failure", "retriable-4xx", '
            '"refused-stream", "retriable-status-codes", "retriable-headers", "cancelled", '
            '"deadline-exceeded", "internal", "resource-exhausted", "unavailable"',
        ),
        (
            "routes.yaml#0",
            'HTTPRoute.gateway.networking.k8s.io "many" is invalid: spec.rules: Too many: 17: '
            "must have at most 16 items",
        ),
    ]
