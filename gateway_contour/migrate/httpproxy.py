"""HTTPProxy -> HTTPRoutes and TLSRoutes on the migration's Gateway.

Each valid root HTTPProxy (as the controller judges it, `httpproxy_validity`; the others
are skipped with their status's description) gives one HTTPRoute in its namespace, named
after it, for its fqdn. Includes are flattened into it: an include's conditions are
prepended to every route of the included proxy (as the controller does), and a Service of a
proxy in another namespace is referenced there, with a ReferenceGrant. Rules: see
`httpproxy_rules`; more than 16 rules are spread over several HTTPRoutes. Proxies that no
valid root reaches are skipped (orphaned or invalid).

- TLS with secretName: an HTTPS listener for the fqdn with that Secret (a ReferenceGrant
  lets the Gateway read it where it lives; a delegated Secret is read from its own
  namespace). Plain HTTP redirects to https (301) except the routes with `permitInsecure`:
  the HTTP listener gets a second route, "<proxy>-insecure", with those routes as they are
  and a redirect for each of the others.
- minimum/maximumProtocolVersion, clientValidation, enableFallbackCertificate: noted.
- passthrough, or tcpproxy: a TLS listener for the fqdn (Passthrough, or Terminate with the
  Secret) and a TLSRoute to the tcpproxy's services (or those of the proxy it includes);
  nothing is served on plain HTTP for the fqdn, as with the controller.
- Virtual host CORS, IP filters, rate limits, authorization: noted.
"""

from __future__ import annotations

from typing import Any

from gateway_contour.migrate.httpproxy_rules import route_rule
from gateway_contour.migrate.model import (
    APPROXIMATED,
    GATEWAY_API_VERSION,
    HTTP_LISTENER,
    MAX_RULES,
    NOT_EXPRESSED,
    SKIPPED,
    Migration,
    chunk_name,
    shown,
)
from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.data import dicts, mapping, text
from gateway_contour.translate.httpproxy.conditions import Conditions, parse_block

Key = tuple[str, str]

_VHOST_NOTES = {
    "corsPolicy": "HTTPRoute has no CORS policy (the CORS filter is extended)",
    "ipAllowPolicy": "HTTPRoute has no client IP filter",
    "ipDenyPolicy": "HTTPRoute has no client IP filter",
    "rateLimitPolicy": "HTTPRoute has no rate limits",
    "authorization": "HTTPRoute has no external authorization",
    "jwtProviders": "HTTPRoute has no JWT verification",
}
_TLS_NOTES = {
    "minimumProtocolVersion": "a Gateway listener cannot set the minimum TLS version",
    "maximumProtocolVersion": "a Gateway listener cannot set the maximum TLS version",
    "clientValidation": "client certificate validation is a Gateway-wide setting "
    "(spec.tls.frontend) in Gateway API; not migrated",
    "enableFallbackCertificate": "Gateway API has no fallback certificate",
}


def migrate_httpproxies(snapshot: Snapshot, migration: Migration) -> None:
    proxies = {
        (str(o["metadata"].get("namespace") or "default"), str(o["metadata"]["name"])): o
        for o in snapshot.objects("HTTPProxy")
    }
    if not proxies:
        return
    # here: it runs the controller's whole translation (and certificates), which a file of
    # Ingresses only does not need (~0.2 s of imports)
    from gateway_contour.migrate.httpproxy_validity import proxy_statuses

    statuses = proxy_statuses(snapshot, migration.options.ingress_class_names)
    reached: set[Key] = set()
    for key in sorted(proxies):
        obj = proxies[key]
        if "virtualhost" not in mapping(obj.get("spec")):
            continue
        status = statuses.get(key, {})
        if status.get("currentStatus") != "valid":
            migration.note(
                _source(key),
                SKIPPED,
                f"not served by the controller ({status.get('currentStatus', 'unknown')}: "
                f"{status.get('description', '')})",
            )
            continue
        _RootConverter(key, proxies, statuses, migration, reached).convert()
    for key in sorted(proxies):
        if key in reached or "virtualhost" in mapping(proxies[key].get("spec")):
            continue
        status = statuses.get(key, {})
        current = status.get("currentStatus", "unknown")
        why = (
            "only invalid proxies include it"
            if current == "valid"
            else f"{current}: {status.get('description', '')}"
        )
        migration.note(_source(key), SKIPPED, f"no valid root includes it ({why})")


def _source(key: Key) -> str:
    return f"HTTPProxy {key[0]}/{key[1]}"


class _RootConverter:
    def __init__(
        self,
        key: Key,
        proxies: dict[Key, KubeObject],
        statuses: dict[Key, dict[str, Any]],
        migration: Migration,
        reached: set[Key],
    ) -> None:
        self.key = key
        self.proxies = proxies
        self.statuses = statuses
        self.migration = migration
        self.reached = reached
        self.spec = mapping(proxies[key].get("spec"))
        self.vhost = mapping(self.spec.get("virtualhost"))
        self.fqdn = text(self.vhost.get("fqdn")).lower()

    def note(self, kind: str, message: str, key: Key | None = None) -> None:
        self.migration.note(_source(key or self.key), kind, message)

    def convert(self) -> None:
        self.reached.add(self.key)
        for field, advice in _VHOST_NOTES.items():
            if self.vhost.get(field) is not None:
                self.note(NOT_EXPRESSED, f"virtualhost.{field} is not migrated; {advice}")
        tls = mapping(self.vhost.get("tls"))
        for field, advice in _TLS_NOTES.items():
            value = tls.get(field)
            if value in (None, False, "") or (field == "minimumProtocolVersion" and value == "1.2"):
                continue
            shown_value = "" if isinstance(value, dict) else f" {shown(value)}"
            self.note(NOT_EXPRESSED, f"virtualhost.tls.{field}{shown_value}: {advice}")
        if tls.get("passthrough") is True or self.spec.get("tcpproxy") is not None:
            self._tcp_proxy(tls)
            return
        rules, insecure = self._rules()
        if not rules:
            self.note(
                SKIPPED,
                "serves no routes (the proxies it includes are invalid); nothing to migrate",
            )
            return
        if not tls:
            self._add_route(self.key[1], [HTTP_LISTENER], rules)
            return
        secret_ns, _, secret = text(tls.get("secretName")).rpartition("/")
        https, same = self.migration.https_listener(self.fqdn, secret_ns or self.key[0], secret)
        if not same:
            self.note(
                APPROXIMATED,
                f"{self.fqdn} already has an HTTPS listener with another certificate; it is used",
            )
        if all(insecure):
            self._add_route(self.key[1], [HTTP_LISTENER, https], rules)
            return
        self._add_route(self.key[1], [https], rules)
        redirect = {
            "type": "RequestRedirect",
            "requestRedirect": {"scheme": "https", "statusCode": 301},
        }
        plain = [
            rule if permit else {"matches": rule["matches"], "filters": [redirect]}
            for rule, permit in zip(rules, insecure, strict=True)
        ]
        self._add_route(f"{self.key[1]}-insecure", [HTTP_LISTENER], plain)

    def _rules(self) -> tuple[list[dict[str, Any]], list[bool]]:
        """Every rule of the root and what it includes; and each one's permitInsecure."""
        rules: list[dict[str, Any]] = []
        insecure: list[bool] = []
        self._visit(self.key, Conditions(), (self.key,), rules, insecure)
        return rules, insecure

    def _visit(
        self,
        key: Key,
        inherited: Conditions,
        path: tuple[Key, ...],
        rules: list[dict[str, Any]],
        insecure: list[bool],
    ) -> None:
        self.reached.add(key)
        spec = mapping(self.proxies[key].get("spec"))
        route_ns = self.key[0]

        def grant(service_ns: str, name: str) -> None:
            self.migration.grant_service("HTTPRoute", route_ns, service_ns, name)

        for index, route in enumerate(dicts(spec.get("routes"))):
            own = parse_block(route.get("conditions"))
            merged = inherited.then(own) if isinstance(own, Conditions) else own
            if isinstance(merged, str):  # the controller refused it: not in a valid proxy
                continue
            where = f"routes[{index}]"

            def note(kind: str, message: str, key: Key = key) -> None:
                self.note(kind, message, key)

            port = self.migration.options.http_port
            rules.append(route_rule(route, merged, key[0], route_ns, where, note, grant, port))
            insecure.append(route.get("permitInsecure") is True)
        for include in dicts(spec.get("includes")):
            child = (text(include.get("namespace")) or key[0], text(include.get("name")))
            conditions = parse_block(include.get("conditions"))
            if isinstance(conditions, str) or child in path or child not in self.proxies:
                continue
            if self.statuses.get(child, {}).get("currentStatus") != "valid":
                continue  # contributes nothing; skipped with its status below
            merged = inherited.then(conditions)
            if isinstance(merged, Conditions):
                self._visit(child, merged, (*path, child), rules, insecure)

    def _tcp_proxy(self, tls: dict[str, Any]) -> None:
        if self.spec.get("routes") or self.spec.get("includes"):
            self.note(
                NOT_EXPRESSED,
                "routes and includes of a TLS passthrough/tcpproxy virtual host are never "
                "served (as with the controller); not migrated",
            )
        secret_ns, _, secret = text(tls.get("secretName")).rpartition("/")
        if tls.get("passthrough") is True:
            listener = self.migration.tls_listener(self.fqdn)
        else:
            listener = self.migration.tls_listener(self.fqdn, secret_ns or self.key[0], secret)
        tcp = mapping(self.spec.get("tcpproxy"))
        owner = self.key
        include = mapping(tcp.get("include") or tcp.get("includes"))
        if include:
            owner = (text(include.get("namespace")) or self.key[0], text(include.get("name")))
            self.reached.add(owner)
            tcp = mapping(mapping(self.proxies[owner].get("spec")).get("tcpproxy"))
        entries = dicts(tcp.get("services"))
        any_weight = any(isinstance(e.get("weight"), int) and e.get("weight") for e in entries)
        backends = []
        for entry in entries:
            ref: dict[str, Any] = {"name": text(entry.get("name"))}
            if owner[0] != self.key[0]:
                ref["namespace"] = owner[0]
                self.migration.grant_service("TLSRoute", self.key[0], owner[0], ref["name"])
            ref["port"] = entry.get("port")
            weight = entry.get("weight")
            if any_weight:
                ref["weight"] = weight if isinstance(weight, int) and weight > 0 else 0
            backends.append(ref)
        if self.spec.get("tcpproxy") is not None and "loadBalancerPolicy" in tcp:
            self.note(NOT_EXPRESSED, "tcpproxy.loadBalancerPolicy is not migrated")
        if "healthCheckPolicy" in tcp:
            self.note(NOT_EXPRESSED, "tcpproxy.healthCheckPolicy is not migrated")
        self.migration.add_route(
            {
                "apiVersion": GATEWAY_API_VERSION,
                "kind": "TLSRoute",
                "metadata": {"name": self.key[1], "namespace": self.key[0]},
                "spec": {
                    "parentRefs": [self.migration.parent_ref(listener)],
                    "hostnames": [self.fqdn],
                    "rules": [{"backendRefs": backends}],
                },
            },
            ("HTTPProxy", *self.key),
        )

    def _add_route(self, name: str, sections: list[str], rules: list[dict[str, Any]]) -> None:
        """The HTTPRoute(s) for `rules`: an HTTPRoute holds at most 16 rules, so more are
        spread over "<name>", "<name>-2", ...; precedence is across a hostname's routes."""
        total = -(-len(rules) // MAX_RULES)
        for start in range(0, len(rules), MAX_RULES):
            number = start // MAX_RULES + 1
            self.migration.add_route(
                {
                    "apiVersion": GATEWAY_API_VERSION,
                    "kind": "HTTPRoute",
                    "metadata": {
                        "name": chunk_name(name, number, total),
                        "namespace": self.key[0],
                    },
                    "spec": {
                        "parentRefs": [self.migration.parent_ref(s) for s in sections],
                        "hostnames": [self.fqdn],
                        "rules": rules[start : start + MAX_RULES],
                    },
                },
                ("HTTPProxy", *self.key, name, number),
            )
