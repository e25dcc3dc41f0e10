"""Objects read from files checked as the API server checks them on create.

Standalone mode reads objects no API server has seen; `refusal(obj)` says what the API server
would answer to creating `obj` (None when it would store it), so that a directory serves only
what a cluster would hold:

- crd_sources: where the CRDs come from (ours from gateway_contour.api; Gateway API's, pinned,
  from the Go module, a packaged copy, or a path the user gives);
- structural: a CRD schema as JSON Schema, its defaults and null pruning, and the fields it
  does not declare (refused as `kubectl apply`'s strict field validation refuses them; the
  built-in kinds' unknown fields are not looked for yet);
- crd_schema: one CRD version's checks (defaults, the `jsonschema` validator, list types, CEL);
- cel_rules / cel_library: `x-kubernetes-validations` on cel-expr-python, with Kubernetes'
  `isIP` added;
- list_types: `x-kubernetes-list-type` set and map uniqueness;
- metadata / names: ObjectMeta and apimachinery's name formats;
- core_kinds / ingress: the built-in kinds' rules the translation depends on;
- field_errors: the API server's wording;
- registry: which checks a (apiVersion, kind) gets, each compiled once.
"""

from __future__ import annotations

from typing import Any

from gateway_contour.validation.field_errors import refusal as _refusal
from gateway_contour.validation.registry import default_registry


def refusal(obj: dict[str, Any]) -> str | None:
    """What the API server would answer to creating `obj`, or None when it would accept it.
    `obj` has passed the provider's shape checks (apiVersion, kind, metadata.name)."""
    result = default_registry().check(obj)
    if not result:
        return None
    if isinstance(result, str):
        return result
    group = obj["apiVersion"].rpartition("/")[0]
    return _refusal(obj["kind"], group, obj["metadata"]["name"], result)
