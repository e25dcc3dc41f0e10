"""Which backend answers a request in a world, read off the IR our translation builds: the
unit-test counterpart of the round trip through Envoy (tests/e2e/test_migrate_roundtrip.py).

`world_answers` translates the objects (the source Ingresses, or the migrated Gateway API
objects with a GatewayClass of ours) and, for each request (scheme, host, path), finds the
virtual host of that exact hostname on a listener of that protocol and the first route whose
path matches, as Envoy does: "ns/service" for a forward, "redirect" for a redirect, 404 when
nothing matches. Host-header matches (wildcard hosts) are not read: use exact hosts.
"""

from __future__ import annotations

import re
from typing import Any

from gateway_contour.certs.authority import CertificateAuthority, generate_ca, issue
from gateway_contour.ir.model import IR, Forward, PathMatch, PathMatchKind, Redirect, Route
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import DEFAULT_CONTROLLER_NAME, TranslateOptions, translate

Request = tuple[str, str, str]  # ("http" or "https", host, path)
GATEWAY_CLASS = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "GatewayClass",
    "metadata": {"name": "gateway-contour"},
    "spec": {"controllerName": DEFAULT_CONTROLLER_NAME},
}
_CA: list[CertificateAuthority] = []


def service(name: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]},
    }


def tls_secret(name: str, host: str, namespace: str = "default") -> dict[str, Any]:
    if not _CA:
        _CA.append(generate_ca("served-ca"))
    cert, key = issue(_CA[0], host, [host], usage="server")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/tls",
        "stringData": {"tls.crt": cert.decode(), "tls.key": key.decode()},
    }


def ingress(
    name: str,
    host: str,
    paths: list[tuple[str, str, str]],
    namespace: str = "default",
    tls_secret_name: str | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An Ingress with one rule: `paths` are (path, pathType, Service), Service port 80;
    with `tls_secret_name`, a tls entry for the host."""
    http_paths = [
        {
            "path": path,
            "pathType": kind,
            "backend": {"service": {"name": svc, "port": {"number": 80}}},
        }
        for path, kind, svc in paths
    ]
    spec: dict[str, Any] = {"rules": [{"host": host, "http": {"paths": http_paths}}]}
    if tls_secret_name:
        spec["tls"] = [{"hosts": [host], "secretName": tls_secret_name}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
        "spec": spec,
    }


def _path_matches(match: PathMatch, path: str) -> bool:
    if match.kind is PathMatchKind.EXACT:
        return path == match.value
    if match.kind is PathMatchKind.STRING_PREFIX:
        return path.startswith(match.value)
    if match.kind is PathMatchKind.REGEX:
        return re.fullmatch(match.value, path) is not None
    prefix = match.value.rstrip("/")
    return path == prefix or path.startswith(prefix + "/") or not prefix


def _answer(routes: tuple[Route, ...], path: str) -> str | int:
    for route in routes:
        if _path_matches(route.match.path, path):
            action = route.action
            if isinstance(action, Redirect):
                return "redirect"
            if isinstance(action, Forward):
                return ",".join(c.cluster.rsplit("/", 2)[0] for c in action.clusters)
            return type(action).__name__
    return 404


def answers(ir: IR, requests: list[Request]) -> dict[Request, str | int]:
    """Each request's answer ("no-vhost" when no listener of its scheme serves the host)."""
    out: dict[Request, str | int] = {}
    for scheme, host, path in requests:
        found: str | int = "no-vhost"
        for gateway in ir.gateways:
            for listener in gateway.listeners:
                if listener.protocol.value.lower() != scheme:
                    continue
                for vh in listener.virtual_hosts:
                    if vh.hostname == host and found == "no-vhost":
                        found = _answer(vh.routes, path)
        out[(scheme, host, path)] = found
    return out


def world_answers(objects: list[dict[str, Any]], requests: list[Request]) -> dict[Request, Any]:
    ir, _ = translate(Snapshot.of(objects), TranslateOptions())
    return answers(ir, requests)
