"""IR -> plain data (and YAML) for golden tests and the debug dump.

Fields equal to their default are left out so golden files show what matters; secret
material is replaced by a short digest, never printed.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from typing import Any

import yaml

from gateway_contour.ir.model import IR, DirectResponse, Forward, Redirect, Secret

# union-typed fields show which member they hold: `action: {forward: {...}}`
_TAGGED = {Forward: "forward", Redirect: "redirect", DirectResponse: "direct_response"}


def to_data(value: Any) -> Any:
    """Convert IR values to plain dicts/lists/scalars, dropping defaults."""
    if isinstance(value, Secret):
        return _redacted_secret(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and v == f.default:
                continue
            if f.default_factory is not dataclasses.MISSING and v == f.default_factory():
                continue
            tag = _TAGGED.get(type(v))
            out[f.name] = {tag: to_data(v)} if tag else to_data(v)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    return value


def _redacted_secret(secret: Secret) -> dict[str, Any]:
    out: dict[str, Any] = {"name": secret.name}
    for field_name in ("cert_chain", "private_key", "ca"):
        blob: bytes = getattr(secret, field_name)
        if blob:
            out[field_name] = "<redacted sha256:" + hashlib.sha256(blob).hexdigest()[:12] + ">"
    return out


class _NoAliasDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter where PyYAML has it (5 times the pure one's speed); the pure one
    folds long quoted strings at other places, so goldens are written with libyaml's."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any) -> str:
    """Deterministic YAML: block style, keys in insertion order, no aliases."""
    return yaml.dump(
        data, Dumper=_NoAliasDumper, sort_keys=False, default_flow_style=False, width=100
    )


def ir_to_yaml(ir: IR) -> str:
    return dump_yaml(to_data(ir))
