"""Which checks an object gets, by (apiVersion, kind), each built once and kept.

A kind of a CRD we know (crd_sources) is checked against the schema and rules of the version
its apiVersion names; a version the CRD does not serve is refused as the API server answers
a client that asks for it. The built-in kinds of core_kinds and ingress get their rules, and
every built-in kind builtin_schemas knows has its unknown fields refused, as the API server's
strict decoding does.
Those kinds' metadata is checked too, and that of the other built-in kinds listed in
METADATA_ONLY; any other kind (ours internal, or one we do not know the rules of) is let
through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway_contour.validation import crd_sources
from gateway_contour.validation.builtin_schemas import BuiltinFields
from gateway_contour.validation.core_kinds import CHECKS
from gateway_contour.validation.field_errors import FieldError
from gateway_contour.validation.ingress import check_ingress
from gateway_contour.validation.metadata import check_metadata
from gateway_contour.validation.structural import unknown_object_fields

if TYPE_CHECKING:
    from gateway_contour.validation.crd_schema import CrdSchema

Check = Callable[[dict[str, Any]], list[FieldError]]
_BUILT_IN: dict[tuple[str, str], Check] = {
    **CHECKS,
    ("networking.k8s.io/v1", "Ingress"): check_ingress,
}

METADATA_ONLY = frozenset(
    {("v1", "Namespace"), ("v1", "ConfigMap"), ("networking.k8s.io/v1", "IngressClass")}
)


# API groups the API server serves itself: no CRD can define their kinds, so checking one of
# their objects needs no CRD read (a file of Ingresses skips reading ~0.1 s of CRD YAML)
BUILT_IN_GROUPS = frozenset(
    {"", "apps", "batch", "policy", "networking.k8s.io", "discovery.k8s.io", "apiextensions.k8s.io"}
)


class Registry:
    def __init__(
        self,
        crds: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]],
        builtin: BuiltinFields | None = None,
    ) -> None:
        # built-in kinds' field sets (Kubernetes' OpenAPI), for their unknown fields
        self._builtin = builtin or BuiltinFields(search=False)
        # (group, kind) -> version -> its openAPIV3Schema; compiled on first use
        self._schemas: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self._compiled: dict[tuple[str, str], CrdSchema] = {}
        self._lock = threading.Lock()
        self._crds = crds  # read on first use when a function
        self._read = False

    def _read_schemas(self) -> None:
        with self._lock:
            if self._read:
                return
            for crd in self._crds() if callable(self._crds) else self._crds:
                spec = crd.get("spec") or {}
                key = (spec.get("group", ""), (spec.get("names") or {}).get("kind", ""))
                for version in spec.get("versions") or ():
                    schema = (version.get("schema") or {}).get("openAPIV3Schema")
                    if version.get("served", True) and isinstance(schema, dict):
                        self._schemas.setdefault(key, {})[version["name"]] = schema
            self._read = True

    def _crd_schema(self, api_version: str, kind: str) -> CrdSchema | str | None:
        """The compiled schema, the refusal of an unserved version, or None (no CRD)."""
        group, _, version = api_version.rpartition("/")
        if group in BUILT_IN_GROUPS:
            return None
        if not self._read:
            self._read_schemas()
        versions = self._schemas.get((group, kind))
        if versions is None:
            return None
        if version not in versions:
            return f'no matches for kind "{kind}" in version "{api_version}"'
        with self._lock:
            compiled = self._compiled.get((api_version, kind))
            if compiled is None:
                from gateway_contour.validation.crd_schema import CrdSchema  # jsonschema

                compiled = self._compiled[(api_version, kind)] = CrdSchema(versions[version])
        return compiled

    def check(self, obj: dict[str, Any]) -> list[FieldError] | str:
        """The object's field errors (empty when valid), or the text of a refusal that
        names no field (an apiVersion not served)."""
        api_version, kind = obj["apiVersion"], obj["kind"]
        schema = self._crd_schema(api_version, kind)
        if isinstance(schema, str):
            return schema
        check = _BUILT_IN.get((api_version, kind))
        if schema is None and check is None and (api_version, kind) not in METADATA_ONLY:
            return []
        if schema is not None:
            unknown = schema.unknown(obj)
        else:
            tree = self._builtin.tree(api_version, kind)
            unknown = unknown_object_fields(obj, tree) if tree is not None else []
        if unknown:
            return strict_decoding_error(api_version, kind, unknown)
        errors = check_metadata(kind, obj["metadata"])
        if schema is not None:
            errors += schema.check(obj)
        elif check is not None:
            errors += check(obj)
        return errors


def strict_decoding_error(api_version: str, kind: str, unknown: list[str]) -> str:
    """The API server's refusal of an object with fields its schema (its Go type, for a
    built-in kind) does not declare,
    under `fieldValidation=Strict` (kubectl's default): files mode answers as `kubectl apply`
    would, since a misspelt field silently pruned (a `methd` match that matches every method)
    is the mistake a user most needs to hear about."""
    version = api_version.rpartition("/")[2]
    fields = ", ".join(f'unknown field "{path}"' for path in unknown)
    return (
        f'{kind} in version "{version}" cannot be handled as a {kind}: '
        f"strict decoding error: {fields}"
    )


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The registry of every CRD crd_sources finds, built once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Registry(crd_sources.all_crds, BuiltinFields())
        return _default
