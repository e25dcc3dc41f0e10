"""Built-in kinds' field sets from Kubernetes' OpenAPI v3 (validation/builtin_schemas.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gateway_contour.validation import builtin_schemas
from gateway_contour.validation.builtin_schemas import BuiltinFields, fields_tree
from gateway_contour.validation.structural import unknown_object_fields

REPO = Path(__file__).resolve().parents[3]


def test_the_pin_is_the_api_server_the_k8s_tier_builds() -> None:
    go_mod = (REPO / "hack" / "kube" / "go.mod").read_text()
    pinned = re.search(r"^\s*k8s\.io/kubernetes (v\S+)", go_mod, re.MULTILINE)
    assert pinned is not None and pinned.group(1) == builtin_schemas.KUBERNETES_VERSION
    containerfile = (REPO / "Containerfile").read_text()
    arg = re.search(r"^ARG KUBERNETES_VERSION=(\S+)$", containerfile, re.MULTILINE)
    assert arg is not None and arg.group(1) == builtin_schemas.KUBERNETES_VERSION
    for document in builtin_schemas.DOCUMENTS:
        assert document in containerfile


def _documents(tmp_path: Path) -> Path:
    """A made-up document in the shape Kubernetes publishes: refs through allOf, a map, a
    free-form object, int-or-string, and a type that refers to itself."""
    ref = "#/components/schemas/"
    schemas = {
        "io.k8s.api.core.v1.Service": {
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"allOf": [{"$ref": ref + "Meta"}]},
                "spec": {"allOf": [{"$ref": ref + "Spec"}], "default": {}},
            },
        },
        "Meta": {"type": "object", "properties": {"name": {"type": "string"}}},
        "Spec": {
            "type": "object",
            "properties": {
                "ports": {"type": "array", "items": {"$ref": ref + "Port"}},
                "selector": {"type": "object", "additionalProperties": {"type": "string"}},
                "extra": {"type": "object"},
                "next": {"$ref": ref + "Spec"},
            },
        },
        "Port": {
            "type": "object",
            "properties": {
                "port": {"type": "integer"},
                "targetPort": {"$ref": ref + "IntOrString"},
            },
        },
        "IntOrString": {"format": "int-or-string", "oneOf": [{"type": "integer"}]},
    }
    for document in builtin_schemas.DOCUMENTS:
        (tmp_path / document).write_text(json.dumps({"components": {"schemas": schemas}}))
    return tmp_path


def test_unknown_fields_are_found_through_refs_maps_and_lists(tmp_path: Path) -> None:
    fields = BuiltinFields(_documents(tmp_path))
    tree = fields.tree("v1", "Service")
    assert tree is not None
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "a", "nmae": "b"},
        "spec": {
            "ports": [{"port": 80, "targetPort": "http"}, {"prot": 1}],
            "selector": {"any": "key"},
            "extra": {"free": {"form": 1}},
            "next": {"selectr": {}},
        },
        "status": {"anything": 1},
    }
    assert unknown_object_fields(service, tree) == [
        "metadata.nmae",
        "spec.ports[1].prot",
        "spec.next.selectr",
    ]
    assert fields.tree("v1", "Pod") is None  # not a kind files mode reads


def test_a_recursive_type_shares_its_node(tmp_path: Path) -> None:
    schemas = json.loads((_documents(tmp_path) / builtin_schemas.DOCUMENTS[0]).read_text())
    tree = fields_tree(schemas["components"]["schemas"], "io.k8s.api.core.v1.Service")
    spec = tree.properties["spec"]
    assert spec.properties["next"] is spec


def test_without_documents_nothing_is_refused(tmp_path: Path) -> None:
    assert BuiltinFields(tmp_path / "missing").tree("v1", "Service") is None
