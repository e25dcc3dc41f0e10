"""Protobuf wire encoding of discovery responses from pre-encoded resources.

A resource is serialized once (see cache.py); each response to each Envoy is then built by
concatenating already-encoded fields instead of copying messages into a new
DiscoveryResponse and serializing it again. Protobuf allows fields in any order and
repeated fields as consecutive entries, so `b"".join(...)` of field encodings is a valid
message. Field numbers are read from the generated descriptors, not hard-coded.
"""

from __future__ import annotations

from collections.abc import Iterable

from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf import any_pb2

_LEN = 2  # wire type of length-delimited fields (strings, bytes, messages)


def _number(message: type, field: str) -> int:
    return int(message.DESCRIPTOR.fields_by_name[field].number)  # type: ignore[attr-defined]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _tag(number: int) -> bytes:
    return _varint((number << 3) | _LEN)


def len_field(number: int, payload: bytes) -> bytes:
    """One length-delimited field: tag, length, payload."""
    return _tag(number) + _varint(len(payload)) + payload


def str_field(number: int, value: str) -> bytes:
    """A string field; empty strings are omitted, as proto3 does."""
    return len_field(number, value.encode()) if value else b""


_ANY_TYPE_URL = _number(any_pb2.Any, "type_url")
_ANY_VALUE = _number(any_pb2.Any, "value")

_RESOURCE = discovery_pb2.Resource
_RESOURCE_NAME = _number(_RESOURCE, "name")
_RESOURCE_VERSION = _number(_RESOURCE, "version")
_RESOURCE_BODY = _number(_RESOURCE, "resource")

_SOTW = discovery_pb2.DiscoveryResponse
_SOTW_VERSION = _number(_SOTW, "version_info")
_SOTW_RESOURCES = _number(_SOTW, "resources")
_SOTW_TYPE_URL = _number(_SOTW, "type_url")
_SOTW_NONCE = _number(_SOTW, "nonce")

_DELTA = discovery_pb2.DeltaDiscoveryResponse
_DELTA_VERSION = _number(_DELTA, "system_version_info")
_DELTA_RESOURCES = _number(_DELTA, "resources")
_DELTA_TYPE_URL = _number(_DELTA, "type_url")
_DELTA_NONCE = _number(_DELTA, "nonce")
_DELTA_REMOVED = _number(_DELTA, "removed_resources")


def encode_any(type_url: str, value: bytes) -> bytes:
    """A serialized google.protobuf.Any holding `value` (an already serialized message)."""
    return str_field(_ANY_TYPE_URL, type_url) + len_field(_ANY_VALUE, value)


def sotw_resource_field(any_bytes: bytes) -> bytes:
    """One entry of DiscoveryResponse.resources."""
    return len_field(_SOTW_RESOURCES, any_bytes)


def delta_resource_field(name: str, version: str, any_bytes: bytes) -> bytes:
    """One entry of DeltaDiscoveryResponse.resources (a discovery Resource)."""
    body = (
        str_field(_RESOURCE_VERSION, version)
        + len_field(_RESOURCE_BODY, any_bytes)
        + str_field(_RESOURCE_NAME, name)
    )
    return len_field(_DELTA_RESOURCES, body)


def sotw_response(
    *, version_info: str, type_url: str, nonce: str, resource_fields: Iterable[bytes]
) -> bytes:
    """A serialized DiscoveryResponse."""
    head = str_field(_SOTW_VERSION, version_info)
    tail = str_field(_SOTW_TYPE_URL, type_url) + str_field(_SOTW_NONCE, nonce)
    return b"".join((head, *resource_fields, tail))


def delta_response(
    *,
    system_version_info: str,
    type_url: str,
    nonce: str,
    resource_fields: Iterable[bytes],
    removed: Iterable[str],
) -> bytes:
    """A serialized DeltaDiscoveryResponse."""
    head = str_field(_DELTA_VERSION, system_version_info)
    removed_fields = [len_field(_DELTA_REMOVED, name.encode()) for name in removed]
    tail = str_field(_DELTA_TYPE_URL, type_url) + str_field(_DELTA_NONCE, nonce)
    return b"".join((head, *resource_fields, *removed_fields, tail))
