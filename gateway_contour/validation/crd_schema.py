"""One served version of one CRD, ready to check objects: what the API server does on create.

In order: defaults and null pruning (structural.apply_defaults), the OpenAPI schema, the list
types' uniqueness,
then the CEL rules (only when the schema passed, so that a rule never sees a value of the wrong
type). `metadata` is checked by metadata.py and `status` not at all: on create the API server
drops the status of a kind with a status subresource.

The schema is checked twice over only when it fails: jsonschema-rs (Rust) answers whether an
object is valid in ~7 us for an HTTPRoute, where `jsonschema` takes ~550 us; `jsonschema` then
lists a failing object's errors with the keyword and limit each one broke, which the API
server's wording needs. Its verdict is the one kept.
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any

import jsonschema_rs
from jsonschema import Draft4Validator, FormatChecker

from gateway_contour.validation.cel_rules import CompiledRules, compile_rules
from gateway_contour.validation.field_errors import FieldError, Path, from_schema_error
from gateway_contour.validation.list_types import check_list
from gateway_contour.validation.structural import (
    Node,
    apply_defaults,
    json_schema,
    node,
    unknown_object_fields,
)

FORMATS = FormatChecker(formats=())


@FORMATS.checks("ipv4", raises=ValueError)
def _ipv4(value: object) -> bool:
    return not isinstance(value, str) or ipaddress.IPv4Address(value) is not None


@FORMATS.checks("ipv6", raises=ValueError)
def _ipv6(value: object) -> bool:
    return not isinstance(value, str) or ipaddress.IPv6Address(value) is not None


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.datetime.fromisoformat(value) is not None


def _any(value: object) -> bool:
    return True  # a number's format: kube-openapi checks none


class CrdSchema:
    def __init__(self, open_api: dict[str, Any]) -> None:
        properties = dict(open_api.get("properties") or {})
        properties.pop("status", None)
        properties["metadata"] = {"type": "object"}
        top = {**open_api, "properties": properties}
        schema = json_schema(top)
        self._validator = Draft4Validator(schema, format_checker=FORMATS)
        self._fast = jsonschema_rs.Draft4Validator(
            schema, validate_formats=True, formats={"int32": _any, "int64": _any}
        )
        self._root = node(top)
        self._rules: dict[int, CompiledRules | None] = {}
        self._compile(self._root)

    def _compile(self, at: Node) -> None:
        self._rules[id(at)] = compile_rules(at.rules) if at.rules else None
        for sub in (*at.properties.values(), at.additional, at.items):
            if sub is not None:
                self._compile(sub)

    def unknown(self, obj: dict[str, Any]) -> list[str]:
        """The fields of `obj` its schema does not declare (metadata's: ObjectMeta's), which
        the API server prunes or, asked for strict field validation, refuses. `status` is not
        looked into: on create it is dropped whole."""
        return unknown_object_fields(obj, self._root)

    def check(self, obj: dict[str, Any]) -> list[FieldError]:
        defaulted = apply_defaults(obj, self._root)
        errors = []
        if not self._fast.is_valid(defaulted):
            errors = [from_schema_error(e) for e in self._validator.iter_errors(defaulted)]
        walked: list[FieldError] = []
        self._walk(defaulted, self._root, [], walked, cel=not errors)
        return sorted(errors, key=lambda e: e.path) + walked

    def _walk(self, value: Any, at: Node, path: Path, errors: list[FieldError], cel: bool) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                sub = at.properties.get(name, at.additional)
                if sub is not None and sub.has_work() and (path or name != "status"):
                    self._walk(item, sub, [*path, name], errors, cel)
        elif isinstance(value, list):
            if at.list_type in ("set", "map"):
                errors += check_list(value, at.list_type, at.map_keys, path)
            if at.items is not None and at.items.has_work():
                for i, item in enumerate(value):
                    self._walk(item, at.items, [*path, i], errors, cel)
        rules = self._rules.get(id(at))
        if cel and rules is not None:
            errors += rules.check(value, path)
