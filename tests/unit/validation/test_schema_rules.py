"""Validation against the CRDs' OpenAPI schemas: each keyword family refused with the API
server's field path and words, defaults and null pruning applied first."""

from __future__ import annotations

from typing import Any

from gateway_contour.validation.registry import default_registry
from gateway_contour.validation.structural import apply_defaults, json_schema, node

GW = "gateway.networking.k8s.io/v1"


def errors_of(obj: dict[str, Any]) -> list[str]:
    result = default_registry().check(obj)
    return [result] if isinstance(result, str) else [str(e) for e in result]


def route(spec: dict[str, Any], kind: str = "HTTPRoute", api: str = GW) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": "r"}, "spec": spec}


def test_max_items() -> None:
    rules = [{"backendRefs": [{"name": "web", "port": 80}]}] * 17
    assert errors_of(route({"rules": rules})) == [
        "spec.rules: Too many: 17: must have at most 16 items"
    ]


def test_type_required_enum_minimum_pattern() -> None:
    assert errors_of(route({"rules": "x"})) == [
        'spec.rules: Invalid value: "string": spec.rules in body must be of type array: "string"'
    ]
    assert errors_of(route({"parentRefs": [{}]})) == ["spec.parentRefs[0].name: Required value"]
    glob = {"matches": [{"path": {"type": "Glob", "value": "/"}}]}
    assert errors_of(route({"rules": [glob]})) == [
        'spec.rules[0].matches[0].path.type: Unsupported value: "Glob": supported values: '
        '"Exact", "PathPrefix", "RegularExpression"'
    ]
    weight = {"backendRefs": [{"name": "web", "port": 80, "weight": -1}]}
    assert errors_of(route({"rules": [weight]})) == [
        "spec.rules[0].backendRefs[0].weight: Invalid value: -1: "
        "spec.rules[0].backendRefs[0].weight in body should be greater than or equal to 0"
    ]
    (error,) = errors_of(route({"hostnames": ["Bad_Host"]}))
    assert error.startswith(
        'spec.hostnames[0]: Invalid value: "Bad_Host": spec.hostnames[0] in body should match'
    )


def test_a_version_the_crd_does_not_serve() -> None:
    obj = route({}, api="gateway.networking.k8s.io/v9")
    assert errors_of(obj) == [
        'no matches for kind "HTTPRoute" in version "gateway.networking.k8s.io/v9"'
    ]


def test_status_is_not_validated() -> None:
    obj = route({}) | {"status": {"parents": "not a list"}}
    assert errors_of(obj) == []


def test_kubernetes_extensions_become_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "nullable": True, "enum": ["x"]},
            "b": {"x-kubernetes-int-or-string": True},
            "c": {"x-kubernetes-preserve-unknown-fields": True},
        },
    }
    assert json_schema(schema) == {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"], "enum": ["x", None]},
            "b": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "c": {},
        },
    }


def test_defaults_and_null_pruning_copy_only_what_changes() -> None:
    schema = {
        "type": "object",
        "properties": {
            "kept": {"type": "object", "properties": {"x": {"type": "string"}}},
            "gone": {"type": "string"},
            "nullable": {"type": "string", "nullable": True},
            "filled": {
                "type": "object",
                "default": {},
                "properties": {"mode": {"type": "string", "default": "Same"}},
            },
        },
    }
    kept = {"x": "1"}
    value = {"kept": kept, "gone": None, "nullable": None}
    out = apply_defaults(value, node(schema))
    assert out == {"kept": kept, "nullable": None, "filled": {"mode": "Same"}}
    assert out["kept"] is kept
    assert value == {"kept": kept, "gone": None, "nullable": None}  # not mutated
    done = apply_defaults(out, node(schema))
    assert done is out
