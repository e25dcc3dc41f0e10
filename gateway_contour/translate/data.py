"""Defensive readers for JSON-shaped user data: objects from files were never validated by an
API server, so any field may hold any type. These return an empty value of the expected
type instead of raising."""

from __future__ import annotations

import base64
import binascii
from typing import Any


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def dicts(value: Any) -> list[dict[str, Any]]:
    """The mappings in a list (anything else in it, or a non-list, is skipped)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def secret_bytes(secret: dict[str, Any], key: str) -> bytes | None:
    """A Secret's value for `key`: from stringData as written, else from data decoded from
    base64; None when absent or not valid base64."""
    string_data = mapping(secret.get("stringData"))
    if isinstance(string_data.get(key), str):
        return str(string_data[key]).encode()
    value = mapping(secret.get("data")).get(key)
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
