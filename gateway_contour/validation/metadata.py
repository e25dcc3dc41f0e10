"""ObjectMeta as the API server checks it on create: the name's format (by kind), the
namespace a DNS label, label keys and values, annotation keys and their total size.

Names: a Service's is a DNS-1035 label, a Namespace's a DNS-1123 label, every other kind we
read (custom resources included) a DNS-1123 subdomain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway_contour.validation import names
from gateway_contour.validation.field_errors import FieldError, invalid

_NAME_RULE: dict[str, Callable[[str], str | None]] = {
    "Service": names.dns1035_label,
    "Namespace": names.dns1123_label,
}
ANNOTATIONS_LIMIT = 256 * 1024  # bytes of keys and values together
OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


def unknown_metadata_fields(meta: dict[str, Any]) -> list[str]:
    """The paths of the fields of `meta` that ObjectMeta does not have."""
    return [f"metadata.{name}" for name in meta if name not in OBJECT_META_FIELDS]


def check_metadata(kind: str, meta: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    name = meta.get("name")
    if isinstance(name, str):
        problem = _NAME_RULE.get(kind, names.dns1123_subdomain)(name)
        if problem:
            errors.append(invalid(["metadata", "name"], name, problem))
    namespace = meta.get("namespace")
    if isinstance(namespace, str) and namespace:
        problem = names.dns1123_label(namespace)
        if problem:
            errors.append(invalid(["metadata", "namespace"], namespace, problem))
    errors += _string_map(meta, "labels", names.label_value)
    errors += _string_map(meta, "annotations", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
        if size > ANNOTATIONS_LIMIT:
            errors.append(
                FieldError(
                    "metadata.annotations",
                    f"Too long: must have at most {ANNOTATIONS_LIMIT} bytes",
                )
            )
    return errors


def _string_map(
    meta: dict[str, Any], field: str, value_rule: Callable[[str], str | None] | None
) -> list[FieldError]:
    values = meta.get(field)
    if not isinstance(values, dict):
        return []
    errors = []
    for key, value in values.items():
        if not isinstance(value, str):
            errors.append(invalid(["metadata", field, str(key)], value, "must be of type string"))
            continue
        problem = names.qualified_name(str(key))
        if problem:
            errors.append(invalid(["metadata", field], key, problem))
        if value_rule is not None and (problem := value_rule(value)):
            errors.append(invalid(["metadata", field], value, problem))
    return errors
