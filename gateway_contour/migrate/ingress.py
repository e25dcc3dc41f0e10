"""Ingress -> HTTPRoutes on the migration's Gateway.

Each Ingress of our class gives one HTTPRoute per rule host (named "<ingress>-<host>", in the
Ingress's namespace; rules without a host give a route without hostnames) with one rule per
path, in the Ingress's order. Gateway API orders exact before prefix and longer paths first,
as the controller orders Ingress paths; ties are not left to its tie-break (route age, then
"namespace/name"): a path that ties with one before it in the controller's order never
answers, and is left out of the listeners where it loses (`ingress_ties`; the rules kept on
one of two listeners only go to "<...>-http" or "<...>-https").

- Exact -> Exact, Prefix -> PathPrefix. ImplementationSpecific: with regex characters a
  RegularExpression (same engine and whole-path semantics here); otherwise a PathPrefix,
  which matches whole segments where the Ingress matched a plain string prefix
  (approximated, unless the path is "/").
- spec.tls: an HTTPS listener per host with the Secret (a ReferenceGrant lets the Gateway
  read it); the route attaches by sectionName to "http" and to its host's HTTPS listener.
  TLS applies per host, as in the controller: the routes of every Ingress serving a host
  that some Ingress gives a usable certificate attach to that host's HTTPS listener, in
  whatever namespace, with or without a `tls` section of their own.
  allow-http "false" leaves out "http"; force-ssl-redirect gives "http" a second route that
  redirects the same paths to https with 301.
- The default backend: a route without hostnames on "http" only, with one PathPrefix "/"
  rule. Like the controller's default backend it then takes, on plain HTTP, every request
  no other rule matches (a route without hostnames applies to every host of the listener,
  after the host's own routes). Only the first Ingress's is kept, and none when a rule
  without a host already claims "/" (both are noted).
- Timeouts and retries: see `policies`.
- Older API versions are converted first, and an Ingress the API server would refuse is not
  migrated (both `ingress_input`). A path HTTPRoute refuses (`//`, `/./`, `/../`, `%2f`, `#`,
  a `/.` or `/..` ending, a character outside RFC 3986's path characters) is skipped.
- Services and Secrets the Ingress names are checked (missing, port by name, delegation)
  against the inputs when the inputs hold any of that kind; otherwise they are trusted.
- Not expressible, noted: TLS version annotations, websocket-routes (set appProtocol
  kubernetes.io/ws on the Service port instead), resource backends, Contour's Service
  annotations (protocol: appProtocol kubernetes.io/h2c, or a BackendTLSPolicy, which
  verifies where the annotation did not; circuit breakers: nothing), wildcard hosts match
  one or more labels in Gateway API but exactly one in Ingress.
"""

from __future__ import annotations

import re
from typing import Any

from gateway_contour.ir.model import PathMatch, PathMatchKind
from gateway_contour.migrate.ingress_input import as_v1, refused
from gateway_contour.migrate.ingress_ties import (
    HTTP_SIDE,
    HTTPS_SIDE,
    Candidate,
    Verdicts,
    arbitrate,
)
from gateway_contour.migrate.model import (
    APPROXIMATED,
    GATEWAY_API_VERSION,
    HTTP_LISTENER,
    INVALID,
    MAX_RULES,
    NOT_EXPRESSED,
    SKIPPED,
    Migration,
    chunk_name,
    chunks,
    shown,
    slug,
)
from gateway_contour.migrate.policies import (
    retry_notes,
    route_policies,
    service_annotation_advice,
)
from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.data import dicts, items, mapping, text
from gateway_contour.translate.gatewayapi.hostnames import hostname_error, is_wildcard
from gateway_contour.translate.ingress.annotations import (
    TLS_CERT_NAMESPACE,
    TLS_MAX,
    TLS_MIN,
    WEBSOCKET_ROUTES,
    IngressPolicy,
    ingress_policy,
)
from gateway_contour.translate.ingress.classes import IngressClasses
from gateway_contour.translate.ingress.paths import PathError, path_match, precedence
from gateway_contour.translate.ingress.tls import IngressSecrets
from gateway_contour.translate.options import TranslateOptions

_PATH_TYPES = {
    PathMatchKind.EXACT: "Exact",
    PathMatchKind.PREFIX: "PathPrefix",
    PathMatchKind.STRING_PREFIX: "PathPrefix",
    PathMatchKind.REGEX: "RegularExpression",
}
# what HTTPRoute's CRD refuses in an Exact or PathPrefix value (its CEL rules)
_ROUTE_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F", "#")
_ROUTE_PATH_SUFFIXES = ("/..", "/.")
MAX_PATH = 1024  # HTTPRoute path value maxLength
_ROUTE_PATH_CHARS = re.compile(r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+")


def route_path_problem(value: str) -> str | None:
    """Why HTTPRoute would refuse `value` as an Exact or PathPrefix path, or None."""
    for bad in _ROUTE_PATH_SEQUENCES:
        if bad in value:
            return f"it contains {bad!r}"
    for bad in _ROUTE_PATH_SUFFIXES:
        if value.endswith(bad):
            return f"it ends with {bad!r}"
    if not _ROUTE_PATH_CHARS.fullmatch(value):
        return "it has characters outside those of a URL path (RFC 3986), percent-encode them"
    return None


def migrate_ingresses(snapshot: Snapshot, migration: Migration) -> None:
    classes = IngressClasses(
        snapshot, TranslateOptions(ingress_class_names=migration.options.ingress_class_names)
    )
    ours: list[tuple[str, KubeObject]] = []
    for obj in snapshot.objects("Ingress"):
        meta = obj["metadata"]
        source = f"Ingress {meta.get('namespace', 'default')}/{meta['name']}"
        if not classes.selects(obj):
            migration.note(source, SKIPPED, _class_skipped(classes, obj))
            continue
        obj = as_v1(obj)
        reason = refused(obj)
        if reason is not None:
            migration.note(source, INVALID, f"{reason}; not migrated")
            continue
        ours.append((source, obj))
    default_taken = False
    hostless_root = any(
        _claims_root(rule)
        for _, obj in ours
        for rule in dicts(mapping(obj.get("spec")).get("rules"))
    )
    converters = [_IngressConverter(obj, source, snapshot, migration) for source, obj in ours]
    # TLS applies per host, as in the controller: a host one Ingress gives a certificate is
    # served on HTTPS with the routes of every Ingress naming it (the first certificate wins)
    https: dict[str, str] = {}
    for converter in converters:
        for host, listener in converter.tls().items():
            https.setdefault(host, listener)
    candidates = [c for converter in converters for c in converter.convert(https)]
    verdicts = arbitrate(candidates)
    for converter in converters:
        converter.emit(verdicts)
        default = mapping(converter.obj.get("spec")).get("defaultBackend")
        if default is not None:
            if default_taken:
                converter.note(
                    NOT_EXPRESSED,
                    "defaultBackend: another Ingress's default backend "
                    "is already migrated (the first one serves)",
                )
            elif hostless_root:
                converter.note(
                    NOT_EXPRESSED,
                    "defaultBackend: a rule without a host already "
                    "serves every path; the default backend was never reached",
                )
            else:
                default_taken = True
                converter.default_backend(default)
    for converter in converters:  # each Ingress's notes together, in the Ingresses' order
        for kind, message in converter.notes:
            migration.note(converter.source, kind, message)


def _class_skipped(classes: IngressClasses, obj: KubeObject) -> str:
    """Why an Ingress of another class is left out, and the flag that takes it in."""
    ours = ", ".join(sorted(classes.ours))
    cls = classes.effective_class(obj)
    if not cls:
        return (
            f"it has no ingress class and --ingress-class-name ({ours}) selects only classes; "
            "not migrated (give it spec.ingressClassName to migrate it)"
        )
    wanted = ",".join(sorted({*classes.ours, cls}))
    return (
        f"ingress class {cls} is not one of those migrated ({ours}); not migrated "
        f"(to migrate it too: --ingress-class-name {wanted})"
    )


def _claims_root(rule: dict[str, Any]) -> bool:
    if text(rule.get("host")):
        return False
    return any(
        (text(p.get("path")) or "/") == "/" and p.get("pathType") != "Exact"
        for p in dicts(mapping(rule.get("http")).get("paths"))
    )


class _IngressConverter:
    def __init__(
        self, obj: KubeObject, source: str, snapshot: Snapshot, migration: Migration
    ) -> None:
        self.obj = obj
        self.source = source
        self.snapshot = snapshot
        self.migration = migration
        meta = obj["metadata"]
        self.namespace = str(meta.get("namespace") or "default")
        self.name = str(meta["name"])
        self.policy: IngressPolicy = ingress_policy(obj)
        self.noted_services: set[str] = set()
        self.delegations = IngressSecrets(snapshot)
        self.notes: list[tuple[str, str]] = []  # (kind, message), for the migration's notes
        self._tls_notes: list[tuple[str, str]] = []  # noted by convert(), in their place
        self.https: dict[str, str] = {}
        # host -> (its path as a candidate, the HTTPRoute rule)
        self.hosts: dict[str, list[tuple[Candidate, dict[str, Any]]]] = {}

    def note(self, kind: str, message: str) -> None:
        self.notes.append((kind, message))

    def convert(self, https: dict[str, str]) -> list[Candidate]:
        """The Ingress's rules per host, and its paths as candidates for `arbitrate`;
        `https`: hostname -> its HTTPS listener, from every Ingress's `tls()`."""
        self.https = https
        for problem in self.policy.problems:
            self.note(
                NOT_EXPRESSED,
                f"{problem} (as by the controller)",
            )
        for message in retry_notes(self.policy):
            self.note(APPROXIMATED, message)
        self._annotation_notes()
        for kind, message in self._tls_notes:
            self.note(kind, message)
        by_host: dict[str, list[tuple[int, int, PathMatch, dict[str, Any]]]] = {}
        for r_i, rule in enumerate(dicts(mapping(self.obj.get("spec")).get("rules"))):
            host = text(rule.get("host")) or "*"
            if host != "*" and hostname_error(host):
                self.note(NOT_EXPRESSED, f"rules[{r_i}]: invalid host {host!r}; rule skipped")
                continue
            for p_i, path in enumerate(dicts(mapping(rule.get("http")).get("paths"))):
                found = self._path_match(path, f"rules[{r_i}].http.paths[{p_i}]")
                if found is not None:
                    ir_match, match = found
                    by_host.setdefault(host, []).append(
                        (r_i, p_i, ir_match, match | {"_path": path})
                    )
        sides = frozenset({HTTP_SIDE} if self.policy.allow_http else ())
        candidates = []
        for host, paths in by_host.items():
            if is_wildcard(host):
                self.note(
                    APPROXIMATED,
                    f"host {host}: a Gateway API wildcard matches one or more labels, the "
                    "Ingress wildcard exactly one",
                )
            entries = self.hosts[host] = []
            for r_i, p_i, ir_match, match in paths:
                candidate = Candidate(
                    owner=self.source,
                    host=host,
                    # the controller's order (translate/ingress/routes.py)
                    order=(*precedence(ir_match), (self.namespace, self.name), r_i, p_i),
                    path_type=match["type"],
                    value=match["value"],
                    sides=sides | {HTTPS_SIDE} if host in https else sides,
                )
                candidates.append(candidate)
                entries.append((candidate, self._rule(match, r_i, p_i)))
        return candidates

    def emit(self, verdicts: Verdicts) -> None:
        """The HTTPRoutes of every host, without the paths that never answer (`verdicts`)."""
        for host, entries in self.hosts.items():
            rules = []
            for candidate, rule in entries:
                self._tie_notes(candidate, verdicts)
                rules.append((rule, verdicts.kept(candidate)))
            self._host_routes(host, rules, self.https.get(host))

    def _tie_notes(self, candidate: Candidate, verdicts: Verdicts) -> None:
        what = f"host {candidate.host} path {candidate.path_type} {candidate.value}"
        lost = verdicts.shadowed.get(candidate, {})
        if lost:
            winners = sorted({w.owner for w in lost.values()})
            others = [w for w in winners if w != self.source]
            who = " and ".join(others) if others else "an earlier path of this Ingress"
            where = ""
            if lost.keys() != candidate.sides:
                where = " on plain HTTP" if HTTP_SIDE in lost else " on HTTPS"
            self.note(
                SKIPPED,
                f"{what}: {who} has the same path and answers first in the controller's "
                f"order; never reached{where}, so left out{where}",
            )
        earlier = verdicts.ties.get(candidate)
        if earlier is not None:
            self.note(
                APPROXIMATED,
                f"{what} ranks equal with {earlier.owner}'s {earlier.value} (same length): "
                f"where both match, the controller answers with {earlier.owner}, Gateway API "
                "with the older HTTPRoute (creationTimestamp, then namespace/name)",
            )

    def _annotation_notes(self) -> None:
        annotations = mapping(mapping(self.obj.get("metadata")).get("annotations"))
        for key in (TLS_MIN, TLS_MAX):
            if key in annotations:
                self.note(
                    NOT_EXPRESSED,
                    f"annotation {key}: Gateway API listeners have no TLS version setting",
                )
        if WEBSOCKET_ROUTES in annotations:
            self.note(
                NOT_EXPRESSED,
                f"annotation {WEBSOCKET_ROUTES}: HTTPRoute cannot enable websockets per path; "
                "set appProtocol kubernetes.io/ws on the backend Service port instead",
            )

    def tls(self) -> dict[str, str]:
        """hostname -> its HTTPS listener name, for the hosts this Ingress gives a usable
        certificate (the listeners are made here; the notes wait for `convert`)."""
        annotations = mapping(mapping(self.obj.get("metadata")).get("annotations"))
        secret_ns = text(annotations.get(TLS_CERT_NAMESPACE)).strip() or self.namespace
        rule_hosts = self._served_hosts()
        later = self._tls_notes.append
        out: dict[str, str] = {}
        for t_i, entry in enumerate(dicts(mapping(self.obj.get("spec")).get("tls"))):
            secret = text(entry.get("secretName"))
            ns = secret_ns
            if "/" in secret:
                ns, _, secret = secret.partition("/")
            if not secret:
                later((NOT_EXPRESSED, f"tls[{t_i}] has no secretName; skipped"))
                continue
            unusable = self._unusable_secret(ns, secret)
            if unusable:
                later(
                    (
                        NOT_EXPRESSED,
                        f"tls[{t_i}]: {unusable}; the controller serves its hosts on plain "
                        "HTTP only, and so does the migration",
                    )
                )
                continue
            for host in items(entry.get("hosts")):
                if not isinstance(host, str) or host not in rule_hosts:
                    later((NOT_EXPRESSED, f"tls[{t_i}]: host {host} matches no rule; skipped"))
                    continue
                listener, same = self.migration.https_listener(host, ns, secret)
                if not same:
                    later(
                        (
                            APPROXIMATED,
                            f"tls[{t_i}]: host {host} already has a certificate from another "
                            f"Ingress; listener {listener} keeps that one",
                        )
                    )
                out[host] = listener
        return out

    def _served_hosts(self) -> set[str]:
        """The rule hosts the controller serves at least one path of: only those take a
        certificate (translate/ingress/routes.py)."""
        hosts: set[str] = set()
        for rule in dicts(mapping(self.obj.get("spec")).get("rules")):
            host = text(rule.get("host"))
            if not host or hostname_error(host):
                continue
            for path in dicts(mapping(rule.get("http")).get("paths")):
                try:
                    path_match(path.get("pathType"), path.get("path"))
                except PathError:
                    continue
                hosts.add(host)
                break
        return hosts

    def _unusable_secret(self, namespace: str, name: str) -> str | None:
        """Why the controller would not use the Secret: not delegated from another
        namespace, or (when the inputs hold Secrets at all) not there."""
        if namespace != self.namespace and not self.delegations.delegated(
            namespace, name, self.namespace
        ):
            return (
                f"Secret {namespace}/{name} is not delegated to namespace {self.namespace} "
                "by a TLSCertificateDelegation"
            )
        if self.snapshot.count("Secret") and self.snapshot.get("Secret", namespace, name) is None:
            return f"Secret {namespace}/{name} not found"
        return None

    def _path_match(
        self, path: dict[str, Any], where: str
    ) -> tuple[PathMatch, dict[str, Any]] | None:
        try:
            match = path_match(path.get("pathType"), path.get("path"))
        except PathError as err:
            self.note(NOT_EXPRESSED, f"{where}: {err}; skipped (as by the controller)")
            return None
        problem = None if match.kind is PathMatchKind.REGEX else route_path_problem(match.value)
        if len(match.value) > MAX_PATH:
            problem = f"it is longer than HTTPRoute's {MAX_PATH} characters"
        if problem is not None:
            self.note(
                NOT_EXPRESSED,
                f"{where}: HTTPRoute refuses the path {match.value!r}: {problem}; skipped",
            )
            return None
        if match.kind is PathMatchKind.STRING_PREFIX and match.value != "/":
            self.note(
                APPROXIMATED,
                f"{where}: ImplementationSpecific {match.value} was a plain string prefix; as "
                f"a PathPrefix it matches whole segments only ({match.value}x no longer "
                "matches)",
            )
        return match, {"type": _PATH_TYPES[match.kind], "value": match.value}

    def _host_routes(
        self, host: str, rules: list[tuple[dict[str, Any], frozenset[str]]], https: str | None
    ) -> None:
        """The routes of `host`: each rule (with the sides it is kept on) in the route of
        the listeners it is served on ("<ingress>-<host>"; a rule left out of one of two
        listeners goes to "<...>-http" or "<...>-https"), and the redirect route."""
        policy = self.policy
        forwards = policy.allow_http and not policy.force_ssl_redirect
        if https is None and not forwards:
            self.note(
                APPROXIMATED,
                f"host {host}: plain HTTP is redirected to https or off, but the host has no "
                "usable certificate: nothing serves it over HTTPS (as with the controller)",
            )

        def served_on(http: bool, secure: bool) -> tuple[str, ...]:
            plain = [HTTP_LISTENER] if forwards and http else []
            return (*plain, *([https] if https and secure else []))

        usual = served_on(True, True)
        by_sections: dict[tuple[str, ...], list[dict[str, Any]]] = {usual: []}
        redirect_rules = []
        redirect = {
            "type": "RequestRedirect",
            "requestRedirect": {"scheme": "https", "statusCode": 301},
        }
        for rule, kept in rules:
            sections = served_on(HTTP_SIDE in kept, HTTPS_SIDE in kept)
            if sections:
                by_sections.setdefault(sections, []).append(rule)
            if policy.force_ssl_redirect and HTTP_SIDE in kept:
                redirect_rules.append({"matches": rule["matches"], "filters": [redirect]})
        base = f"{self.name}-{slug(host)}"
        hostnames = [] if host == "*" else [host]
        for sections, part in by_sections.items():
            if not sections or not part:
                continue
            if sections == usual:
                self._add_route(base, (host, "routes"), hostnames, list(sections), part)
            else:
                only = "http" if sections == (HTTP_LISTENER,) else "https"
                self._add_route(
                    f"{base}-{only}", (host, f"{only}-only"), hostnames, list(sections), part
                )
        if redirect_rules:
            self._add_route(
                f"{base}-redirect", (host, "redirect"), hostnames, [HTTP_LISTENER], redirect_rules
            )

    def _add_route(
        self,
        name: str,
        serves: tuple[str, str],
        hostnames: list[str],
        sections: list[str],
        rules: list[dict[str, Any]],
    ) -> None:
        """HTTPRoutes named `name` (made unique: `serves` is their host and role), 16 rules
        each ("<name>", "<name>-2", ...: Gateway API orders a hostname's rules by precedence
        across its routes, so the split changes no answer)."""
        parts = chunks(rules, MAX_RULES)
        for number, part in enumerate(parts, start=1):
            spec: dict[str, Any] = {"parentRefs": [self.migration.parent_ref(s) for s in sections]}
            if hostnames:
                spec["hostnames"] = hostnames
            spec["rules"] = part
            route = {
                "apiVersion": GATEWAY_API_VERSION,
                "kind": "HTTPRoute",
                "metadata": {
                    "name": chunk_name(name, number, len(parts)),
                    "namespace": self.namespace,
                },
                "spec": spec,
            }
            owner = ("Ingress", self.namespace, self.name, *serves, number)
            self.migration.add_route(route, owner)

    def _rule(self, match: dict[str, Any], r_i: int, p_i: int) -> dict[str, Any]:
        path = match.pop("_path")
        rule: dict[str, Any] = {"matches": [{"path": match}]}
        backend = self._backend_ref(path.get("backend"), f"rules[{r_i}].http.paths[{p_i}]")
        if backend is not None:
            rule["backendRefs"] = [backend]
        rule.update(route_policies(self.policy))
        return rule

    def default_backend(self, backend: Any) -> None:
        ref = self._backend_ref(backend, "defaultBackend")
        rule: dict[str, Any] = {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}
        if ref is not None:
            rule["backendRefs"] = [ref]
        rule.update(route_policies(self.policy))
        name = f"{self.name}-default-backend"
        self._add_route(name, ("", "default-backend"), [], [HTTP_LISTENER], [rule])

    def _backend_ref(self, backend: Any, where: str) -> dict[str, Any] | None:
        backend = mapping(backend)
        if backend.get("resource") is not None:
            self.note(
                NOT_EXPRESSED,
                f"{where}: resource backends have no HTTPRoute equivalent; the rule has no "
                "backend and answers 500 (the controller answered 503)",
            )
            return None
        service = mapping(backend.get("service"))
        name = text(service.get("name"))
        port = mapping(service.get("port"))
        obj = self.snapshot.get("Service", self.namespace, name)
        number = port.get("number")
        if not isinstance(number, int):
            number = _port_by_name(obj, text(port.get("name")))
        if not name or number is None:
            self.note(
                NOT_EXPRESSED,
                f"{where}: backend {name or '(none)'} port {_port_text(port)} cannot be "
                "resolved to a number; the rule has no backend and answers 500",
            )
            return None
        if obj is None and not self.snapshot.count("Service"):
            return {"name": name, "port": number}  # no Services among the inputs: trusted
        if obj is None:
            self.note(
                APPROXIMATED,
                f"{where}: Service {self.namespace}/{name} not found; the route will answer "
                "500 until it exists (the controller answered 503)",
            )
            return {"name": name, "port": number}
        self._service_notes(obj)
        if not any(p.get("port") == number for p in dicts(mapping(obj.get("spec")).get("ports"))):
            self.note(
                APPROXIMATED,
                f"{where}: Service {self.namespace}/{name} has no port {number}; the route "
                "answers 500 (the controller answered 503)",
            )
        return {"name": name, "port": number}

    def _service_notes(self, service: KubeObject) -> None:
        name = service["metadata"]["name"]
        if name in self.noted_services:
            return
        self.noted_services.add(name)
        annotations = mapping(mapping(service.get("metadata")).get("annotations"))
        where = f"Service {self.namespace}/{name}"
        for key, advice in service_annotation_advice(annotations):
            self.note(
                NOT_EXPRESSED, f"{where}: annotation {key} is not read for HTTPRoutes; {advice}"
            )


def _port_text(port: dict[str, Any]) -> str:
    """A backend's port as the Ingress wrote it, for a note."""
    value = port.get("name", port.get("number"))
    return shown(value) if value is not None else "(none)"


def _port_by_name(service: KubeObject | None, name: str) -> int | None:
    if service is None or not name:
        return None
    for entry in dicts(mapping(service.get("spec")).get("ports")):
        if entry.get("name") == name and isinstance(entry.get("port"), int):
            return int(entry["port"])
    return None
