"""xDS resources -> plain data and YAML, for golden tests and debugging.

Each message goes through `json_format.MessageToDict` (proto field names, `Any` expanded with
its `@type`); this is for reading, never on the serving path. Secret material (private keys,
certificates, CA bundles: every `inline_bytes` / `inline_string` inside a Secret) is replaced
by a short digest so dumps can be committed and shared.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from gateway_contour.envoy.resources import (
    CLUSTER,
    ENDPOINT,
    LISTENER,
    ROUTE,
    SECRET,
)
from gateway_contour.ir.serialize import dump_yaml

# file stem of each type in a golden `xds/<fleet>/` directory
KIND_NAMES = {
    LISTENER: "listeners",
    ROUTE: "routes",
    CLUSTER: "clusters",
    ENDPOINT: "endpoints",
    SECRET: "secrets",
}
_SECRET_VALUE_KEYS = ("inline_bytes", "inline_string")
# one fleet's resources as built or as served (type URL -> resource name -> message)
ServedResources = Mapping[str, Mapping[str, Message]]


def message_to_data(msg: Message, redact: bool = False) -> dict[str, Any]:
    """Plain dicts and lists (MessageToDict gives OrderedDicts for `Any`), keys in proto
    field order; with `redact`, secret material replaced by digests."""
    data: dict[str, Any] = _plain(
        json_format.MessageToDict(msg, preserving_proto_field_name=True), redact
    )
    return data


def fleet_to_data(resources: ServedResources) -> dict[str, list[dict[str, Any]]]:
    """kind ("listeners", ...) -> the resources of that type in name order."""
    return {
        kind: [
            message_to_data(msg, redact=type_url == SECRET)
            for _, msg in sorted(resources.get(type_url, {}).items())
        ]
        for type_url, kind in KIND_NAMES.items()
    }


def fleet_to_yaml(resources: ServedResources) -> dict[str, str]:
    """kind -> YAML document (a list of resources); kinds without resources are left out."""
    return {kind: dump_yaml(items) for kind, items in fleet_to_data(resources).items() if items}


def fleet_dir_name(fleet: str) -> str:
    """A fleet name as a directory name: "default/web" -> "default_web"."""
    return fleet.replace("/", "_")


# protobuf map fields: MessageToDict gives them in hash order, which varies between runs
_MAP_FIELDS = frozenset({"typed_per_filter_config", "typed_extension_protocol_options"})


def _plain(value: Any, redact: bool) -> Any:
    if isinstance(value, dict):
        value = {
            k: dict(sorted(v.items())) if k in _MAP_FIELDS and isinstance(v, dict) else v
            for k, v in value.items()
        }
        return {
            k: _digest(v)
            if redact and k in _SECRET_VALUE_KEYS and isinstance(v, str)
            else _plain(v, redact)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_plain(v, redact) for v in value]
    return value


def _digest(text: str) -> str:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raw = text.encode()
    return "<redacted sha256:" + hashlib.sha256(raw).hexdigest()[:12] + ">"
