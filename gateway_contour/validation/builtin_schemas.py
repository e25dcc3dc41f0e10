"""The field sets of the built-in kinds files mode reads, from Kubernetes' own OpenAPI v3.

The API server decodes a built-in object strictly (`fieldValidation=Strict`, kubectl's
default) and refuses a field its Go type does not have: `spec.rulez` on an Ingress is
refused, not ignored. Files mode answers the same, from the OpenAPI v3 documents the
k8s.io/kubernetes module publishes (api/openapi-spec/v3), at KUBERNETES_VERSION, the version
hack/kube/go.mod builds the k8s tier's API server from (a unit test keeps them equal). Only the
field names are read (properties, additionalProperties, items, $ref and allOf); the kinds'
rules are core_kinds' and ingress's. Looked for, first found wins:

1. `$GATEWAY_CONTOUR_KUBERNETES_OPENAPI`: a directory holding the documents.
2. The package's `gateway_contour/validation/crds/kubernetes-openapi/` (git-ignored), filled at
   build time by hack/package-gateway-api-crds.sh for a wheel or the image.
3. The Go module cache: `k8s.io/kubernetes@<version>/api/openapi-spec/v3`.

With none of them, built-in kinds' unknown fields are not looked for, and one warning says so.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway_contour.validation.crd_sources import PACKAGED, module_caches
from gateway_contour.validation.structural import Node

log = logging.getLogger(__name__)

KUBERNETES_VERSION = "v1.37.1"
ENV_VAR = "GATEWAY_CONTOUR_KUBERNETES_OPENAPI"
PACKAGED_OPENAPI = PACKAGED / "kubernetes-openapi"
_REF = "#/components/schemas/"

# (apiVersion, kind) -> (the OpenAPI document, the kind's schema in it)
KINDS: dict[tuple[str, str], tuple[str, str]] = {
    ("v1", "Service"): ("api__v1_openapi.json", "io.k8s.api.core.v1.Service"),
    ("v1", "Secret"): ("api__v1_openapi.json", "io.k8s.api.core.v1.Secret"),
    ("v1", "Namespace"): ("api__v1_openapi.json", "io.k8s.api.core.v1.Namespace"),
    ("v1", "ConfigMap"): ("api__v1_openapi.json", "io.k8s.api.core.v1.ConfigMap"),
    ("discovery.k8s.io/v1", "EndpointSlice"): (
        "apis__discovery.k8s.io__v1_openapi.json",
        "io.k8s.api.discovery.v1.EndpointSlice",
    ),
    ("networking.k8s.io/v1", "Ingress"): (
        "apis__networking.k8s.io__v1_openapi.json",
        "io.k8s.api.networking.v1.Ingress",
    ),
    ("networking.k8s.io/v1", "IngressClass"): (
        "apis__networking.k8s.io__v1_openapi.json",
        "io.k8s.api.networking.v1.IngressClass",
    ),
}
DOCUMENTS = sorted({document for document, _ in KINDS.values()})


def candidates() -> Iterator[Path]:
    if os.environ.get(ENV_VAR):
        yield Path(os.environ[ENV_VAR])
    yield PACKAGED_OPENAPI
    for cache in module_caches():
        yield cache / "k8s.io" / f"kubernetes@{KUBERNETES_VERSION}" / "api" / "openapi-spec" / "v3"


def openapi_dir() -> Path | None:
    """The first place that has every document KINDS names."""
    for place in candidates():
        if all((place / document).is_file() for document in DOCUMENTS):
            return place
    return None


def fields_tree(schemas: dict[str, Any], name: str) -> Node:
    """The field tree of the schema `name` of one document's components: what structural's
    unknown-field walk needs, $refs resolved (each schema built once, so a recursive type
    would share its node rather than recurse)."""
    built: dict[str, Node] = {}

    def resolve(schema: dict[str, Any]) -> dict[str, Any] | str:
        ref = schema.get("$ref")
        if ref is None and len(schema.get("allOf") or ()) == 1:
            ref = schema["allOf"][0].get("$ref")
        return ref.removeprefix(_REF) if isinstance(ref, str) else schema

    def tree(schema: dict[str, Any]) -> Node:
        target = resolve(schema)
        if isinstance(target, str):
            if target not in built:
                built[target] = out = Node()
                fill(out, schemas.get(target) or {})
            return built[target]
        out = Node()
        fill(out, target)
        return out

    def fill(out: Node, schema: dict[str, Any]) -> None:
        out.type = schema.get("type")
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        # int-or-string, quantities, RawExtension, FieldsV1: a value, or any fields at all
        out.open_fields = bool(
            schema.get("x-kubernetes-preserve-unknown-fields")
            or schema.get("format") == "int-or-string"
            or (out.type == "object" and not properties and not isinstance(additional, dict))
        )
        for field_name, sub in properties.items():
            out.properties[field_name] = tree(sub)
        if isinstance(additional, dict):
            out.additional = tree(additional)
        if isinstance(schema.get("items"), dict):
            out.items = tree(schema["items"])

    return tree({"$ref": _REF + name})


class BuiltinFields:
    """(apiVersion, kind) -> its field tree, read on first use; None for a kind not in KINDS
    or when no documents were found."""

    def __init__(self, place: Path | None = None, search: bool = True) -> None:
        self._place = place
        self._search = search and place is None
        self._trees: dict[tuple[str, str], Node] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[tuple[str, str], Node]:
        place = openapi_dir() if self._search else self._place
        try:
            if place is None:
                raise FileNotFoundError("nowhere")
            documents = {
                d: json.loads((place / d).read_text())["components"]["schemas"] for d in DOCUMENTS
            }
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning(
                "no Kubernetes %s OpenAPI documents (%s; set %s, or run "
                "hack/package-gateway-api-crds.sh): unknown fields of built-in kinds read "
                "from files are not refused",
                KUBERNETES_VERSION,
                err,
                ENV_VAR,
            )
            return {}
        return {key: fields_tree(documents[d], name) for key, (d, name) in KINDS.items()}

    def tree(self, api_version: str, kind: str) -> Node | None:
        if (api_version, kind) not in KINDS:
            return None
        with self._lock:
            if self._trees is None:
                self._trees = self._load()
        return self._trees.get((api_version, kind))
