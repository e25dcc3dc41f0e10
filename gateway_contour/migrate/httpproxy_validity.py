"""Which HTTPProxies the controller would serve: the migration converts only those.

The inputs go through the controller's own translation, so that validity (conditions,
includes, cycles, delegation, duplicate fqdns, an fqdn an Ingress already serves) is judged
exactly as when serving. What the inputs do not hold is not held against a proxy: when no
Service is among the inputs, every Service a proxy names is assumed to exist with the ports
it names (as the Ingress converter trusts them); a Secret missing from inputs without any
Secret (a cluster read never lists Secrets) is assumed to be a usable certificate.
"""

from __future__ import annotations

import functools
from typing import Any

from gateway_contour.certs.authority import self_signed
from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate import TranslateOptions, translate
from gateway_contour.translate.data import dicts, mapping, text


@functools.cache
def _placeholder_cert() -> dict[str, str]:
    """A usable certificate for the Secrets assumed to exist: the translation parses a
    Secret before it trusts it, so a stand-in must be a real pair. Never served."""
    cert, key = self_signed("placeholder.migrate.invalid")
    return {"tls.crt": cert.decode(), "tls.key": key.decode(), "ca.crt": cert.decode()}


def proxy_statuses(
    snapshot: Snapshot, ingress_class_names: tuple[str, ...] = ()
) -> dict[tuple[str, str], dict[str, Any]]:
    """(namespace, name) -> the status the controller gives each HTTPProxy (with the
    Ingress classes being migrated: an fqdn one of their Ingresses serves is theirs)."""
    proxies = snapshot.objects("HTTPProxy")
    if not proxies:
        return {}
    objects: list[KubeObject] = [
        o
        for kind in (
            "HTTPProxy",
            "TLSCertificateDelegation",
            "Service",
            "EndpointSlice",
            "Secret",
            "Ingress",
            "IngressClass",
        )
        for o in snapshot.objects(kind)
    ]
    if not snapshot.count("Service"):
        objects.extend(_assumed_services(proxies))
    if not snapshot.count("Secret"):
        objects.extend(_assumed_secrets(proxies))
    options = TranslateOptions(ingress_class_names=ingress_class_names)
    _, report = translate(Snapshot.of(objects), options)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key, status in report.statuses.items():
        if key.kind == "HTTPProxy":
            out[(key.namespace, key.name)] = status
    return out


def _service_refs(proxy: KubeObject) -> list[tuple[str, str, int]]:
    spec = mapping(proxy.get("spec"))
    namespace = str(proxy["metadata"].get("namespace") or "default")
    entries = [s for route in dicts(spec.get("routes")) for s in dicts(route.get("services"))]
    entries += dicts(mapping(spec.get("tcpproxy")).get("services"))
    out = []
    for entry in entries:
        port = entry.get("port")
        if text(entry.get("name")) and isinstance(port, int) and not isinstance(port, bool):
            out.append((namespace, text(entry.get("name")), port))
    return out


def _assumed_services(proxies: list[KubeObject]) -> list[KubeObject]:
    ports: dict[tuple[str, str], set[int]] = {}
    for proxy in proxies:
        for namespace, name, port in _service_refs(proxy):
            ports.setdefault((namespace, name), set()).add(port)
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"namespace": ns, "name": name},
            "spec": {"ports": [{"name": f"p{p}", "port": p} for p in sorted(found)]},
        }
        for (ns, name), found in sorted(ports.items())
    ]


def _assumed_secrets(proxies: list[KubeObject]) -> list[KubeObject]:
    refs: set[tuple[str, str]] = set()
    for proxy in proxies:
        namespace = str(proxy["metadata"].get("namespace") or "default")
        tls = mapping(mapping(mapping(proxy.get("spec")).get("virtualhost")).get("tls"))
        for ref in (
            text(tls.get("secretName")),
            text(mapping(tls.get("clientValidation")).get("caSecret")),
        ):
            if ref:
                secret_ns, _, name = ref.rpartition("/")
                refs.add((secret_ns or namespace, name))
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"namespace": ns, "name": name},
            "type": "kubernetes.io/tls",
            "stringData": _placeholder_cert(),
        }
        for ns, name in sorted(refs)
    ]
