"""networking.k8s.io/v1 Ingress as the API server checks it on create (pkg/apis/networking/
validation): rules or a default backend; hosts DNS names (a leading `*.` allowed), never an IP;
every path with a pathType, absolute for Exact and Prefix and without `//`, `/./`, `/../`, `%2f`
or a `/.` or `/..` ending; each backend exactly one of a service or a resource, a service's
port exactly one of a name or a number. A field of the wrong JSON type (`rules: abc`, `hosts:
a.example.com`) is refused, as decoding it into the API types fails.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from gateway_contour.validation import names
from gateway_contour.validation.field_errors import (
    FieldError,
    Path,
    invalid,
    required,
    type_name,
    unsupported,
)

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")


def _typed(path: Path, value: Any, kind: type, errors: list[FieldError]) -> bool:
    """Whether `value` (present) is of `kind`; else an error naming the type wanted."""
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return True
    wanted = {dict: "object", list: "array", str: "string", int: "integer"}[kind]
    errors.append(invalid(path, type_name(value), f"must be of type {wanted}"))
    return False


def _host(path: Path, host: Any, errors: list[FieldError]) -> None:
    if not isinstance(host, str):
        errors.append(invalid(path, type_name(host), "must be of type string"))
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        errors.append(invalid(path, host, "must be a DNS name, not an IP address"))
        return
    if problem := names.wildcard_subdomain(host):
        errors.append(invalid(path, host, problem))


def _backend(path: Path, backend: Any, errors: list[FieldError]) -> None:
    if not isinstance(backend, dict):
        errors.append(required(path))
        return
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        errors.append(invalid(path, "", "cannot set both service and resource backends"))
        return
    if service is None and resource is None:
        errors.append(required(path))
        return
    if not isinstance(service, dict):
        return
    name = service.get("name")
    if not isinstance(name, str) or not name:
        errors.append(required([*path, "service", "name"]))
    elif problem := names.dns1035_label(name):
        errors.append(invalid([*path, "service", "name"], name, problem))
    port = service.get("port")
    port_path = [*path, "service", "port"]
    number = port.get("number") if isinstance(port, dict) else None
    port_name = port.get("name") if isinstance(port, dict) else None
    if number is not None and port_name is not None:
        errors.append(invalid(port_path, port, "cannot set both port name & port number"))
    elif number is None and port_name is None:
        errors.append(required(port_path))
    elif number is not None and (
        not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 65535
    ):
        errors.append(invalid([*port_path, "number"], number, "must be between 1 and 65535"))
    elif isinstance(port_name, str) and (problem := names.iana_service_name(port_name)):
        errors.append(invalid([*port_path, "name"], port_name, problem))


def _http_path(path: Path, item: Any, errors: list[FieldError]) -> None:
    if not isinstance(item, dict):
        errors.append(invalid(path, type_name(item), "must be of type object"))
        return
    path_type = item.get("pathType")
    if path_type is None:
        errors.append(required([*path, "pathType"]))
    elif path_type not in PATH_TYPES:
        errors.append(unsupported([*path, "pathType"], path_type, PATH_TYPES))
    value = item.get("path", "")
    if not _typed([*path, "path"], value, str, errors):
        pass
    elif path_type in ("Exact", "Prefix"):
        if value[:1] != "/":
            errors.append(invalid([*path, "path"], value, "must be an absolute path"))
        for bad in INVALID_PATH_SEQUENCES:
            if bad in value:
                errors.append(invalid([*path, "path"], value, f"must not contain '{bad}'"))
        for bad in INVALID_PATH_SUFFIXES:
            if value.endswith(bad):
                errors.append(invalid([*path, "path"], value, f"cannot end with '{bad}'"))
    _backend([*path, "backend"], item.get("backend"), errors)


def check_ingress(obj: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    spec = obj.get("spec") or {}
    if not _typed(["spec"], spec, dict, errors):
        return errors
    rules = spec.get("rules")
    if rules is not None and not _typed(["spec", "rules"], rules, list, errors):
        rules = None
    if not rules and spec.get("defaultBackend") is None:
        errors.append(invalid(["spec"], "", "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        _backend(["spec", "defaultBackend"], spec["defaultBackend"], errors)
    class_name = spec.get("ingressClassName")
    if isinstance(class_name, str) and (problem := names.dns1123_subdomain(class_name)):
        errors.append(invalid(["spec", "ingressClassName"], class_name, problem))
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        path: list[str | int] = ["spec", "rules", i]
        if not isinstance(rule, dict):
            errors.append(invalid(path, type_name(rule), "must be of type object"))
            continue
        if rule.get("host"):
            _host([*path, "host"], rule["host"], errors)
        http = rule.get("http")
        if http is None or not _typed([*path, "http"], http, dict, errors):
            continue
        paths = http.get("paths")
        if not isinstance(paths, list) or not paths:
            errors.append(required([*path, "http", "paths"]))
            continue
        for j, item in enumerate(paths):
            _http_path([*path, "http", "paths", j], item, errors)
    tls_items = spec.get("tls")
    if tls_items is not None and not _typed(["spec", "tls"], tls_items, list, errors):
        tls_items = []
    for i, tls in enumerate(tls_items or []):
        if not _typed(["spec", "tls", i], tls, dict, errors):
            continue
        if tls.get("secretName") is not None:
            _typed(["spec", "tls", i, "secretName"], tls["secretName"], str, errors)
        hosts = tls.get("hosts")
        if hosts is None or not _typed(["spec", "tls", i, "hosts"], hosts, list, errors):
            continue
        for j, host in enumerate(hosts):
            _host(["spec", "tls", i, "hosts", j], host, errors)
    return errors
