"""What a migration produces: Gateway API objects, and a note for everything it could not
express exactly.

`Migration` is the accumulator every source converter (Ingress, HTTPProxy) adds to: it owns
the one Gateway all migrated routes attach to (an HTTP listener, one HTTPS listener per
hostname with a certificate, one TLS listener per hostname proxied as TLS/TCP), the
ReferenceGrants that let that Gateway use Secrets in other namespaces and let routes use
Services in other namespaces, the routes (HTTPRoute, TLSRoute), and the notes.

The output stays within what the CRDs allow: listeners past the Gateway's 64 go to
ListenerSets attached to it (the same addresses; the routes of those hosts name the
ListenerSet; ListenerSet is in Gateway API's experimental channel), ReferenceGrants hold 16
`to` entries each, HTTPRoutes 16 rules each, and names are unique (`names`).

Notes are never optional: a construct that is dropped, or expressed with different
behaviour, gets one. Kinds: `not-expressed` (dropped: Gateway API has no equivalent),
`approximated` (expressed, but behaviour differs as the message says), `skipped` (the
object is not migrated at all, e.g. another controller's class, or a path that never answers
is left out: no answer changes), `invalid` (the object, or
a document of the input, is one the API server would refuse: not migrated).
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from gateway_contour.migrate.names import Names

GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_API_VERSION = f"{GATEWAY_GROUP}/v1"
REFERENCE_GRANT_VERSION = f"{GATEWAY_GROUP}/v1beta1"
HTTP_LISTENER = "http"
# what the v1.6.1 CRDs allow (maxItems): past these the API server refuses the object, so
# the output is spread over several (see `chunks`)
MAX_RULES = 16  # HTTPRoute spec.rules
MAX_LISTENERS = 64  # Gateway and ListenerSet spec.listeners
MAX_GRANT_TO = 16  # ReferenceGrant spec.to
_LISTENERS = "listeners"  # the scope of listener names

NOT_EXPRESSED = "not-expressed"
APPROXIMATED = "approximated"
SKIPPED = "skipped"
INVALID = "invalid"


@dataclass(frozen=True)
class MigrateOptions:
    # not "contour": the controller's implicit Ingress/HTTPProxy fleet is projectcontour/contour,
    # and both must be able to run side by side while traffic moves
    gateway_name: str = "contour-gateway"
    gateway_namespace: str = "projectcontour"
    gateway_class: str = "gateway-contour"
    http_port: int = 80
    https_port: int = 443
    # Ingress classes to migrate (empty: the controller's defaults, see translate/ingress)
    ingress_class_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Note:
    source: str  # "Ingress namespace/name" (or a Service the source depends on)
    kind: str  # NOT_EXPRESSED, APPROXIMATED or SKIPPED
    message: str

    def to_data(self) -> dict[str, str]:
        return {"source": self.source, "kind": self.kind, "message": self.message}


@dataclass
class Migration:
    options: MigrateOptions
    routes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    # hostname -> (listener name, secret namespace, secret name)
    https_listeners: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    # hostname -> (listener name, secret namespace, secret name); no secret: Passthrough
    tls_listeners: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    # (route kind, route namespace, Service namespace, Service name)
    service_grants: set[tuple[str, str, str, str]] = field(default_factory=set)
    names: Names = field(default_factory=Names)

    def note(self, source: str, kind: str, message: str) -> None:
        self.notes.append(Note(source, kind, message))

    def parent_ref(self, section: str | None = None) -> dict[str, Any]:
        ref: dict[str, Any] = {
            "name": self.options.gateway_name,
            "namespace": self.options.gateway_namespace,
        }
        if section:
            ref["sectionName"] = section
        return ref

    def https_listener(self, hostname: str, namespace: str, secret: str) -> tuple[str, bool]:
        """The HTTPS listener serving `hostname` with that certificate, made on first use;
        False when the hostname already has a listener with another certificate."""
        found = self.https_listeners.get(hostname)
        if found is None:
            name = self.names.claim(_LISTENERS, f"https-{slug(hostname)}", ("HTTPS", hostname))
            found = (name, namespace, secret)
            self.https_listeners[hostname] = found
        return found[0], found[1:] == (namespace, secret)

    def tls_listener(self, hostname: str, namespace: str = "", secret: str = "") -> str:
        """The TLS listener for `hostname`: Passthrough without a secret, else Terminate."""
        found = self.tls_listeners.get(hostname)
        if found is None:
            name = self.names.claim(_LISTENERS, f"tls-{slug(hostname)}", ("TLS", hostname))
            found = self.tls_listeners[hostname] = (name, namespace, secret)
        return found[0]

    def add_route(self, route: dict[str, Any], owner: Hashable) -> None:
        """Add `route`, its name made unique among the routes of its kind and namespace
        (`owner` says what it is for: the same owner keeps one name)."""
        meta = route["metadata"]
        meta["name"] = self.names.claim((route["kind"], meta["namespace"]), meta["name"], owner)
        self.routes.append(route)

    def grant_service(self, kind: str, route_ns: str, service_ns: str, name: str) -> None:
        """Let routes of `kind` in `route_ns` use Service service_ns/name."""
        if route_ns != service_ns:
            self.service_grants.add((kind, route_ns, service_ns, name))

    def _certificate_ref(self, namespace: str, secret: str) -> dict[str, Any]:
        ref: dict[str, Any] = {"kind": "Secret", "name": secret}
        if namespace != self.options.gateway_namespace:
            ref["namespace"] = namespace
        return ref

    def _listeners(self) -> list[dict[str, Any]]:
        opts = self.options
        all_namespaces = {"namespaces": {"from": "All"}}
        listeners: list[dict[str, Any]] = [
            {
                "name": HTTP_LISTENER,
                "protocol": "HTTP",
                "port": opts.http_port,
                "allowedRoutes": all_namespaces,
            }
        ]
        for hostname in sorted(self.https_listeners):
            name, namespace, secret = self.https_listeners[hostname]
            ref = self._certificate_ref(namespace, secret)
            listeners.append(
                {
                    "name": name,
                    "protocol": "HTTPS",
                    "port": opts.https_port,
                    "hostname": hostname,
                    "tls": {"mode": "Terminate", "certificateRefs": [ref]},
                    "allowedRoutes": all_namespaces,
                }
            )
        for hostname in sorted(self.tls_listeners):
            name, namespace, secret = self.tls_listeners[hostname]
            tls: dict[str, Any] = {"mode": "Passthrough"}
            if secret:
                ref = self._certificate_ref(namespace, secret)
                tls = {"mode": "Terminate", "certificateRefs": [ref]}
            listeners.append(
                {
                    "name": name,
                    "protocol": "TLS",
                    "port": opts.https_port,
                    "hostname": hostname,
                    "tls": tls,
                    "allowedRoutes": all_namespaces,
                }
            )
        return listeners

    def gateways(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """The Gateway, and when it would hold more than 64 listeners, the ListenerSets
        holding the rest (attached to it: the same addresses serve them); and the parentRef
        of each listener moved to a ListenerSet, by listener name."""
        opts = self.options
        meta = {"name": opts.gateway_name, "namespace": opts.gateway_namespace}
        first, *rest = chunks(self._listeners(), MAX_LISTENERS)
        spec: dict[str, Any] = {"gatewayClassName": opts.gateway_class, "listeners": first}
        out = [
            {"apiVersion": GATEWAY_API_VERSION, "kind": "Gateway", "metadata": meta, "spec": spec}
        ]
        moved: dict[str, dict[str, Any]] = {}
        if rest:
            spec["allowedListeners"] = {"namespaces": {"from": "Same"}}
        for number, listeners in enumerate(rest, start=2):
            name = self.names.claim(
                ("ListenerSet", opts.gateway_namespace), f"{opts.gateway_name}-{number}", number
            )
            out.append(
                {
                    "apiVersion": GATEWAY_API_VERSION,
                    "kind": "ListenerSet",
                    "metadata": {"name": name, "namespace": opts.gateway_namespace},
                    "spec": {"parentRef": {"name": opts.gateway_name}, "listeners": listeners},
                }
            )
            for listener in listeners:
                moved[listener["name"]] = {
                    "group": GATEWAY_GROUP,
                    "kind": "ListenerSet",
                    "name": name,
                    "namespace": opts.gateway_namespace,
                    "sectionName": listener["name"],
                }
        return out, moved

    def reference_grants(self, with_listener_sets: bool = False) -> list[dict[str, Any]]:
        """ReferenceGrants (16 `to` entries each) for every namespace holding certificates
        the Gateway (and its ListenerSets) use from another namespace, and for the Services
        routes use across namespaces."""
        opts = self.options
        by_namespace: dict[str, set[str]] = {}
        for _, namespace, secret in [*self.https_listeners.values(), *self.tls_listeners.values()]:
            if secret and namespace != opts.gateway_namespace:
                by_namespace.setdefault(namespace, set()).add(secret)
        holders = ["Gateway"] + (["ListenerSet"] if with_listener_sets else [])
        certificates = [
            grant
            for ns, secrets in sorted(by_namespace.items())
            for grant in self._grants(
                f"{opts.gateway_name}-certificates",
                ns,
                [
                    {"group": GATEWAY_GROUP, "kind": k, "namespace": opts.gateway_namespace}
                    for k in holders
                ],
                [{"group": "", "kind": "Secret", "name": s} for s in sorted(secrets)],
            )
        ]
        return certificates + self._service_grants()

    def _grants(
        self, name: str, namespace: str, froms: list[dict[str, Any]], tos: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """ReferenceGrants of `froms` to `tos`, 16 `to` entries each ("<name>", "<name>-2")."""
        out = []
        for number, part in enumerate(chunks(tos, MAX_GRANT_TO), start=1):
            base = name if number == 1 else f"{name}-{number}"
            unique = self.names.claim(("ReferenceGrant", namespace), base, (name, number))
            out.append(
                {
                    "apiVersion": REFERENCE_GRANT_VERSION,
                    "kind": "ReferenceGrant",
                    "metadata": {"name": unique, "namespace": namespace},
                    "spec": {"from": froms, "to": part},
                }
            )
        return out

    def _service_grants(self) -> list[dict[str, Any]]:
        """One ReferenceGrant per (Service namespace, route namespace): routes flattened
        from included proxies use Services where the included proxy lived."""
        grouped: dict[tuple[str, str], dict[str, set[str]]] = {}
        for kind, route_ns, service_ns, name in self.service_grants:
            grouped.setdefault((service_ns, route_ns), {}).setdefault(kind, set()).add(name)
        out = []
        for (service_ns, route_ns), kinds in sorted(grouped.items()):
            names = sorted({n for found in kinds.values() for n in found})
            out += self._grants(
                f"routes-from-{route_ns}",
                service_ns,
                [
                    {"group": GATEWAY_GROUP, "kind": kind, "namespace": route_ns}
                    for kind in sorted(kinds)
                ],
                [{"group": "", "kind": "Service", "name": n} for n in names],
            )
        return out

    def objects(self) -> list[dict[str, Any]]:
        """Every object to apply: the Gateway, the ReferenceGrants, the routes."""
        routes = sorted(
            self.routes,
            key=lambda r: (r["metadata"]["namespace"], r["metadata"]["name"], r["kind"]),
        )
        gateways, moved = self.gateways()
        if moved:
            routes = [_moved_parents(r, moved) for r in routes]
        return [*gateways, *self.reference_grants(len(gateways) > 1), *routes]


def chunks(entries: list[Any], size: int) -> list[list[Any]]:
    """`entries` in runs of at most `size` (one empty run for none)."""
    return [entries[i : i + size] for i in range(0, len(entries), size)] or [[]]


def chunk_name(name: str, number: int, total: int) -> str:
    """The name of part `number` (from 1) of `total`: "<name>", "<name>-2", ... with the
    numbers padded to one width ("<name>-02" ... "<name>-10"), so that the alphabetical order
    of "namespace/name", which breaks Gateway API's precedence ties, is the parts' order
    ("x-10" would sort before "x-2")."""
    if number == 1:
        return name
    return f"{name}-{number:0{len(str(total))}d}"


def _moved_parents(route: dict[str, Any], moved: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`route` with each parentRef to a listener now in a ListenerSet pointing there."""
    refs = route["spec"]["parentRefs"]
    if not any(r.get("sectionName") in moved for r in refs):
        return route
    spec = {**route["spec"], "parentRefs": [moved.get(r.get("sectionName"), r) for r in refs]}
    return {**route, "spec": spec}


def shown(value: Any) -> str:
    """A value from the input as a note quotes it: a string as it is, anything else as
    compact JSON (never Python's repr: `{'name': 'http'}` is no Kubernetes spelling)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


_UNSAFE = re.compile(r"[^a-z0-9-]+")


def slug(hostname: str) -> str:
    """A name-safe form of a hostname: "*.example.com" -> "wildcard-example-com"."""
    if hostname == "*":
        return "any"
    return _UNSAFE.sub("-", hostname.replace("*", "wildcard").lower()).strip("-")
