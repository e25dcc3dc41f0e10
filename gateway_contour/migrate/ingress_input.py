"""The Ingresses `migrate` converts, in networking.k8s.io/v1's shape, or why one is refused.

Old manifests still hold `extensions/v1beta1` and `networking.k8s.io/v1beta1` Ingresses (no
API server serves them since Kubernetes 1.22). Their fields map one to one onto v1, as the
API server converted them: `spec.backend` -> `spec.defaultBackend`, a backend's
`serviceName` / `servicePort` (a number or a port name) -> `service.name` /
`service.port.number` or `.name`, a path without `pathType` -> ImplementationSpecific (the
beta default). The v1 form is then checked as the API server checks a v1 Ingress
(validation/ingress), so an Ingress the files provider did not check (an old version, or
objects handed to `migrate()` directly) is refused with the same words.
"""

from __future__ import annotations

import copy
from typing import Any

from gateway_contour.store.objects import KubeObject
from gateway_contour.validation.field_errors import refusal
from gateway_contour.validation.ingress import check_ingress

V1 = "networking.k8s.io/v1"
BETA_VERSIONS = ("extensions/v1beta1", "networking.k8s.io/v1beta1")


def _backend(backend: Any) -> Any:
    if not isinstance(backend, dict) or "serviceName" not in backend:
        return backend  # a resource backend, or v1's shape already
    out = {k: v for k, v in backend.items() if k not in ("serviceName", "servicePort")}
    port = backend.get("servicePort")
    out["service"] = {
        "name": backend["serviceName"],
        "port": {"name": port} if isinstance(port, str) else {"number": port},
    }
    return out


def _paths(paths: Any) -> Any:
    if not isinstance(paths, list):
        return paths
    out = []
    for item in paths:
        if isinstance(item, dict):
            item = {**item, "backend": _backend(item.get("backend"))}
            item.setdefault("pathType", "ImplementationSpecific")
        out.append(item)
    return out


def as_v1(obj: KubeObject) -> KubeObject:
    """`obj` in networking.k8s.io/v1's shape (itself when it is v1)."""
    if obj.get("apiVersion") not in BETA_VERSIONS:
        return obj
    out = copy.deepcopy(obj)
    out["apiVersion"] = V1
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    if "backend" in spec:
        spec["defaultBackend"] = _backend(spec.pop("backend"))
    rules = spec.get("rules")
    for rule in rules if isinstance(rules, list) else []:
        http = rule.get("http") if isinstance(rule, dict) else None
        if isinstance(http, dict):
            http["paths"] = _paths(http.get("paths"))
    return out


def refused(obj: KubeObject) -> str | None:
    """The API server's answer to creating the (v1) Ingress, or None when it accepts it."""
    errors = check_ingress(obj)
    if not errors:
        return None
    name = str(obj["metadata"].get("name"))
    return refusal("Ingress", "networking.k8s.io", name, errors)
