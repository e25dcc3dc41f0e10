"""`x-kubernetes-list-type` set and map: the uniqueness the API server enforces on such lists.

A set's items must be distinct; a map's items distinct by their `x-kubernetes-list-map-keys`.
The second of two equal items is the one refused, at its index, as apiextensions-apiserver does:
`spec.listeners[1]: Duplicate value: map[string]interface {}{"name":"http"}`.
"""

from __future__ import annotations

import json
from typing import Any

from gateway_contour.validation.field_errors import FieldError, Path, duplicate, render_path


def _go_map(keys: dict[str, Any]) -> str:
    fields = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in keys.items())
    return "map[string]interface {}{" + fields + "}"


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def check_list(
    items: list[Any], list_type: str | None, map_keys: tuple[str, ...], path: Path
) -> list[FieldError]:
    """The duplicates in `items` (a list of that list type), as field errors."""
    errors: list[FieldError] = []
    seen: set[Any] = set()
    key: Any
    for i, item in enumerate(items):
        if list_type == "set":
            key = (type(item).__name__, _hashable(item))
            if key in seen:
                errors.append(duplicate([*path, i], item))
            seen.add(key)
        elif list_type == "map" and isinstance(item, dict):
            keys = {k: item[k] for k in map_keys if k in item}
            key = tuple((k, type(v).__name__, _hashable(v)) for k, v in keys.items())
            if key in seen:
                where = render_path([*path, i])
                errors.append(FieldError(where, f"Duplicate value: {_go_map(keys)}"))
            seen.add(key)
    return errors
