"""A CRD's structural schema (OpenAPI v3 with Kubernetes' extensions), read once into two forms:

- `json_schema(schema)`: the same constraints as plain JSON Schema (draft 4, whose boolean
  `exclusiveMinimum` OpenAPI v3.0 shares) for the `jsonschema` library. Kubernetes' extensions
  become JSON Schema: `nullable: true` adds "null" to the type (and to an enum),
  `x-kubernetes-int-or-string` is an integer or a string, `x-kubernetes-preserve-unknown-fields`
  with no type accepts anything. Descriptions, defaults and the other x-kubernetes-* keys are
  dropped (defaults, list types and CEL rules are applied by `Node` walks instead).
- `Node`: the tree the other walks follow (defaults, nullability, list types, CEL rules), with
  only the parts of the schema they need.

`unknown_fields` lists the fields the schema does not declare, which the API server prunes,
or refuses under `fieldValidation=Strict` (what `kubectl apply` and `kubectl create` ask for).

`apply_defaults` does what the API server does to a custom resource before it validates it:
a null in a field that is not nullable is replaced by the field's default or removed, and a
missing field with a default gets a copy of it, whose own fields are defaulted in turn. The input
is never mutated: the mappings and lists on the way to a change are copied.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from gateway_contour.validation.metadata import unknown_metadata_fields

Schema = dict[str, Any]

_COPIED = (
    "type",
    "required",
    "enum",
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minProperties",
    "maxProperties",
)


def json_schema(schema: Schema) -> Schema:
    """`schema` (one CRD version's openAPIV3Schema or a part of it) as JSON Schema."""
    out: Schema = {key: schema[key] for key in _COPIED if key in schema}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if "properties" in schema:
        out["properties"] = {k: json_schema(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = json_schema(schema["additionalProperties"])
    elif schema.get("additionalProperties") is False:
        out["additionalProperties"] = False
    if isinstance(schema.get("items"), dict):
        out["items"] = json_schema(schema["items"])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            out.setdefault("allOf", []).append({key: [json_schema(s) for s in schema[key]]})
    if "not" in schema:
        out["not"] = json_schema(schema["not"])
    return out


@dataclass(slots=True)
class Rule:
    """One `x-kubernetes-validations` entry."""

    rule: str
    message: str


@dataclass(slots=True)
class Node:
    type: str | None = None
    nullable: bool = False
    properties: dict[str, Node] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)  # property -> its default
    additional: Node | None = None  # the values of a map (additionalProperties)
    items: Node | None = None
    list_type: str | None = None  # x-kubernetes-list-type: atomic, set or map
    map_keys: tuple[str, ...] = ()  # x-kubernetes-list-map-keys
    rules: list[Rule] = field(default_factory=list)
    # any field name is kept: x-kubernetes-preserve-unknown-fields, or int-or-string
    open_fields: bool = False

    def has_work(self) -> bool:
        """Whether a walk below this node can find anything to do."""
        return bool(
            self.properties or self.defaults or self.additional or self.items or self.rules
        ) or self.list_type in ("set", "map")


def node(schema: Schema) -> Node:
    """The walk tree of `schema`."""
    out = Node(
        type=schema.get("type"),
        nullable=bool(schema.get("nullable")),
        list_type=schema.get("x-kubernetes-list-type"),
        map_keys=tuple(schema.get("x-kubernetes-list-map-keys") or ()),
        rules=[
            Rule(r["rule"], r.get("message") or f"failed rule: {r['rule']}")
            for r in schema.get("x-kubernetes-validations") or ()
        ],
        open_fields=bool(
            schema.get("x-kubernetes-preserve-unknown-fields")
            or schema.get("x-kubernetes-int-or-string")
        ),
    )
    for name, sub in (schema.get("properties") or {}).items():
        out.properties[name] = node(sub)
        if "default" in sub:
            out.defaults[name] = sub["default"]
    if isinstance(schema.get("additionalProperties"), dict):
        out.additional = node(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        out.items = node(schema["items"])
    return out


def apply_defaults(value: Any, at: Node) -> Any:
    """`value` defaulted and null-pruned by the schema `at` (see the module docstring)."""
    if isinstance(value, dict):
        return _default_object(value, at)
    if isinstance(value, list) and at.items is not None:
        out = None
        for i, item in enumerate(value):
            new = apply_defaults(item, at.items)
            if new is not item:
                if out is None:
                    out = list(value)
                out[i] = new
        return value if out is None else out
    return value


def _default_object(value: dict[str, Any], at: Node) -> dict[str, Any]:
    out = value
    for name, sub in at.properties.items():
        present = name in value
        if present and not (value[name] is None and not sub.nullable):
            continue
        if name in at.defaults:
            if out is value:
                out = dict(value)
            out[name] = copy.deepcopy(at.defaults[name])
        elif present:  # a null the field does not allow, and no default: pruned
            if out is value:
                out = dict(value)
            del out[name]
    for name, item in list(out.items()):
        child = at.properties.get(name, at.additional)
        if child is None or not child.has_work():
            continue
        new = apply_defaults(item, child)
        if new is not item:
            if out is value:
                out = dict(value)
            out[name] = new
    return out


def unknown_fields(value: Any, at: Node, path: str = "") -> list[str]:
    """The paths (`spec.rules[0].matches[0].methd`) of the fields in `value` that the schema
    `at` does not declare, in the order they appear; a map's keys and a preserved subtree's
    fields are all declared."""
    found: list[str] = []
    _unknown(value, at, path, found)
    return found


def _unknown(value: Any, at: Node, path: str, found: list[str]) -> None:
    if at.open_fields:
        return
    if isinstance(value, dict) and (at.type == "object" or at.properties):
        for name, item in value.items():
            where = f"{path}.{name}" if path else str(name)
            sub = at.properties.get(name, at.additional)
            if sub is None:
                found.append(where)
            else:
                _unknown(item, sub, where, found)
    elif isinstance(value, list) and at.items is not None:
        for i, item in enumerate(value):
            _unknown(item, at.items, f"{path}[{i}]", found)


def unknown_object_fields(obj: dict[str, Any], root: Node) -> list[str]:
    """The fields of a whole object that `root` (its kind's tree) does not declare; metadata
    is ObjectMeta's and `status` is not looked into (on create it is dropped whole)."""
    found: list[str] = []
    for name, value in obj.items():
        if name == "metadata" and isinstance(value, dict):
            found += unknown_metadata_fields(value)
        elif name != "status":
            sub = root.properties.get(name)
            found += [name] if sub is None else unknown_fields(value, sub, name)
    return found
