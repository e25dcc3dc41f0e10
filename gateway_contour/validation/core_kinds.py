"""The rules of built-in kinds the translation depends on, as k8s.io/kubernetes'
pkg/apis/core/validation and networking/validation state them (only those; a built-in kind's
other fields are not checked here):

- Service: type; ports (required unless ExternalName or headless), each port 1-65535, protocol
  TCP/UDP/SCTP, a DNS-label name that is required when there are several and unique, targetPort
  a port number or an IANA service name.
- EndpointSlice: addressType IPv4/IPv6/FQDN, 1-100 addresses per endpoint of that type, ports.
- Secret: data keys, values base64, kubernetes.io/tls carrying tls.crt and tls.key.

A field of the wrong type is the decoding error the API server answers before any rule.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable
from typing import Any

from gateway_contour.validation import names
from gateway_contour.validation.field_errors import (
    FieldError,
    Path,
    duplicate,
    invalid,
    required,
    type_name,
    unsupported,
)

Check = Callable[[dict[str, Any]], list[FieldError]]
PROTOCOLS = ("SCTP", "TCP", "UDP")
SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")


def _wrong_type(path: Path, value: Any, want: str) -> FieldError:
    return invalid(path, type_name(value), f"must be of type {want}")


def _port_number(path: Path, value: Any, errors: list[FieldError], lowest: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        errors.append(_wrong_type(path, value, "integer"))
    elif not lowest <= value <= 65535:
        errors.append(invalid(path, value, f"must be between {lowest} and 65535, inclusive"))


def _protocol(path: Path, value: Any, errors: list[FieldError]) -> None:
    if value is not None and value not in PROTOCOLS:
        errors.append(unsupported(path, value, PROTOCOLS))


def _list(obj: dict[str, Any], path: Path, errors: list[FieldError]) -> list[Any]:
    """The list at `path` (empty when absent; a field error when it is no list)."""
    value: Any = obj
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(_wrong_type(path, value, "array"))
        return []
    return value


def check_service(obj: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    spec = obj.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    if kind not in SERVICE_TYPES:
        errors.append(unsupported(["spec", "type"], kind, SERVICE_TYPES))
    ports = _list(obj, ["spec", "ports"], errors)
    if not ports and kind != "ExternalName" and spec.get("clusterIP") != "None":
        errors.append(required(["spec", "ports"]))
    seen: set[str] = set()
    for i, port in enumerate(ports):
        path: list[str | int] = ["spec", "ports", i]
        if not isinstance(port, dict):
            errors.append(_wrong_type(path, port, "object"))
            continue
        name = port.get("name")
        if name in (None, "") and len(ports) > 1:
            errors.append(required([*path, "name"]))
        elif isinstance(name, str) and name:
            if problem := names.dns1123_label(name):
                errors.append(invalid([*path, "name"], name, problem))
            if name in seen:
                errors.append(duplicate([*path, "name"], name))
            seen.add(name)
        _port_number([*path, "port"], port.get("port"), errors)
        _protocol([*path, "protocol"], port.get("protocol"), errors)
        target = port.get("targetPort")
        if isinstance(target, str):
            if problem := names.iana_service_name(target):
                errors.append(invalid([*path, "targetPort"], target, problem))
        elif target is not None:
            _port_number([*path, "targetPort"], target, errors)
    return errors


def _address_problem(address_type: str, address: str) -> str | None:
    if address_type == "FQDN":
        return names.dns1123_subdomain(address)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        parsed = None
    version = 4 if address_type == "IPv4" else 6
    if parsed is None or parsed.version != version:
        return f"must be a valid {address_type} address"
    return None


def check_endpoint_slice(obj: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    address_type = obj.get("addressType")
    if address_type is None:
        errors.append(required(["addressType"]))
    elif address_type not in ADDRESS_TYPES:
        errors.append(unsupported(["addressType"], address_type, ADDRESS_TYPES))
    for i, endpoint in enumerate(_list(obj, ["endpoints"], errors)):
        path: list[str | int] = ["endpoints", i, "addresses"]
        if not isinstance(endpoint, dict):
            errors.append(_wrong_type(["endpoints", i], endpoint, "object"))
            continue
        addresses = _list(endpoint, ["addresses"], errors)
        if not addresses:
            errors.append(required(path))
        elif len(addresses) > 100:
            errors.append(invalid(path, len(addresses), "must have at most 100 items"))
        for j, address in enumerate(addresses):
            if not isinstance(address, str):
                errors.append(_wrong_type([*path, j], address, "string"))
            elif address_type in ADDRESS_TYPES and (
                problem := _address_problem(address_type, address)
            ):
                errors.append(invalid([*path, j], address, problem))
    for i, port in enumerate(_list(obj, ["ports"], errors)):
        if not isinstance(port, dict):
            errors.append(_wrong_type(["ports", i], port, "object"))
            continue
        name = port.get("name")
        if isinstance(name, str) and name and (problem := names.dns1123_label(name)):
            errors.append(invalid(["ports", i, "name"], name, problem))
        if port.get("port") is not None:
            _port_number(["ports", i, "port"], port["port"], errors, lowest=0)
        _protocol(["ports", i, "protocol"], port.get("protocol"), errors)
    return errors


def check_secret(obj: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    data = obj.get("data")
    keys: set[str] = set()
    if data is not None and not isinstance(data, dict):
        errors.append(_wrong_type(["data"], data, "object"))
    for key, value in (data if isinstance(data, dict) else {}).items():
        keys.add(str(key))
        if problem := names.config_key(str(key)):
            errors.append(invalid(["data"], key, problem))
        if not isinstance(value, str):
            errors.append(_wrong_type([f"data[{key}]"], value, "string"))
            continue
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as err:
            errors.append(invalid([f"data[{key}]"], "<secret contents redacted>", str(err)))
    string_data = obj.get("stringData")
    if isinstance(string_data, dict):
        keys |= {str(k) for k in string_data}
    if obj.get("type") == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in keys:
                errors.append(required([f"data[{key}]"]))
    return errors


CHECKS: dict[tuple[str, str], Check] = {
    ("v1", "Service"): check_service,
    ("discovery.k8s.io/v1", "EndpointSlice"): check_endpoint_slice,
    ("v1", "Secret"): check_secret,
}
