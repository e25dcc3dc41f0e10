"""Helpers for writing the openAPIV3 schemas of our CRDs as Python data, and the
CustomResourceDefinition shape of the projectcontour.io kinds (group, version, status
subresource, printer columns)."""

from __future__ import annotations

from typing import Any

GROUP = "projectcontour.io"
VERSION = "v1"
Schema = dict[str, Any]


def string(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def integer(description: str, **extra: Any) -> Schema:
    return {"type": "integer", "format": "int32", "description": description, **extra}


def boolean(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def obj(description: str, properties: dict[str, Schema], **extra: Any) -> Schema:
    return {"type": "object", "description": description, "properties": properties, **extra}


def unsupported(description: str) -> Schema:
    """A field of Contour's API we do not implement: kept as sent (not pruned by the API
    server) so that the translator can warn that it is ignored."""
    return {
        "description": description + " Not supported by gateway-contour (a status warning).",
        "x-kubernetes-preserve-unknown-fields": True,
    }


def array(description: str, items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "description": description, "items": items, **extra}


def duration(description: str) -> Schema:
    return string(
        description + ' A duration ("1s", "1m30s", "250ms") or "infinity".',
        pattern=r"^(((\d*(\.\d*)?h)|(\d*(\.\d*)?m)|(\d*(\.\d*)?s)|(\d*(\.\d*)?ms)|"
        r"(\d*(\.\d*)?us)|(\d*(\.\d*)?µs)|(\d*(\.\d*)?ns))+|infinity|infinite)$",
    )


def crd(
    kind: str,
    plural: str,
    spec: Schema,
    status: Schema | None,
    columns: list[dict[str, str]],
    short_names: list[str],
) -> dict[str, Any]:
    properties: dict[str, Schema] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": spec,
    }
    version: dict[str, Any] = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {"type": "object", "properties": properties, "required": ["spec"]}
        },
        "additionalPrinterColumns": columns,
    }
    if status is not None:
        properties["status"] = status
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
            },
            "versions": [version],
        },
    }
