"""Field errors worded as the API server words them (k8s.io/apimachinery's field.Error).

An error is a field path (`spec.listeners[1].name`) and a detail; `str()` gives the line the
API server returns, e.g. `spec.rules: Too many: 17: must have at most 16 items`, and
`refusal` the whole answer to a create: `HTTPRoute.gateway.networking.k8s.io "r" is invalid:
...`. `from_schema_error` turns a `jsonschema` error into one, by the keyword that failed,
with the words of kube-openapi's validator.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

Path = Sequence[str | int]


def render_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "<root>"


def go_value(value: Any) -> str:
    """A value as the API server quotes it in a message (strings quoted, numbers bare)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def type_name(value: Any) -> str:
    """The OpenAPI type of a value, as `Invalid value: "object"` names it."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"


@dataclass(frozen=True, slots=True)
class FieldError:
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def required(path: Path) -> FieldError:
    return FieldError(render_path(path), "Required value")


def invalid(path: Path, value: Any, detail: str) -> FieldError:
    return FieldError(render_path(path), f"Invalid value: {go_value(value)}: {detail}")


def duplicate(path: Path, value: Any) -> FieldError:
    return FieldError(render_path(path), f"Duplicate value: {go_value(value)}")


def unsupported(path: Path, value: Any, supported: Iterable[Any]) -> FieldError:
    values = ", ".join(go_value(v) for v in supported)
    return FieldError(
        render_path(path), f"Unsupported value: {go_value(value)}: supported values: {values}"
    )


def too_many(path: Path, count: int, limit: int) -> FieldError:
    return FieldError(render_path(path), f"Too many: {count}: must have at most {limit} items")


def too_long(path: Path, limit: int) -> FieldError:
    return FieldError(render_path(path), f"Too long: may not be more than {limit} bytes")


def _schema_type(validator_value: Any) -> str:
    if isinstance(validator_value, list):
        return "/".join(t for t in validator_value if t != "null")
    return str(validator_value)


def from_schema_error(error: ValidationError) -> FieldError:
    """`error` in the API server's words (kube-openapi's validate package)."""
    path = list(error.absolute_path)
    where = render_path(path)
    value, limit, keyword = error.instance, error.validator_value, error.validator
    if keyword == "required":
        missing = [k for k in limit if not isinstance(value, dict) or k not in value]
        return required([*path, missing[0] if missing else "?"])
    if keyword == "enum":
        return unsupported(path, value, [v for v in limit if v is not None])
    if keyword == "maxItems":
        return too_many(path, len(value), limit)
    if keyword == "maxProperties":
        return too_many(path, len(value), limit)
    if keyword == "maxLength":
        return too_long(path, limit)
    got = go_value(type_name(value))
    detail = {
        "type": f"{where} in body must be of type {_schema_type(limit)}: {got}",
        "anyOf": f"{where} in body must be of type integer or string: {got}",
        "pattern": f"{where} in body should match '{limit}'",
        "minLength": f"{where} in body should be at least {limit} chars long",
        "minItems": f"{where} in body should have at least {limit} items",
        "minProperties": f"{where} in body should have at least {limit} properties",
        "minimum": f"{where} in body should be greater than or equal to {limit}",
        "maximum": f"{where} in body should be less than or equal to {limit}",
        "uniqueItems": f"{where} in body shouldn't contain duplicates",
        "format": f"{where} in body must be of type {limit}: {go_value(value)}",
        "multipleOf": f"{where} in body should be a multiple of {limit}",
    }.get(str(keyword), error.message)
    shown = len(value) if keyword == "minItems" and isinstance(value, list) else value
    if keyword in ("type", "anyOf"):
        shown = type_name(value)
    return invalid(path, shown, detail)


def refusal(kind: str, group: str, name: str, errors: Sequence[FieldError]) -> str:
    """The API server's answer to creating an object with these errors."""
    resource = f"{kind}.{group}" if group else kind
    lines = [str(e) for e in errors]
    body = lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"
    return f"{resource} {json.dumps(name)} is invalid: {body}"
