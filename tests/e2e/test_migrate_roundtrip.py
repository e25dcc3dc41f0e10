"""The migration round trip: the same requests through Envoy give the same answers before
(the controller serving the source objects, e.g. Ingresses) and after migration (serving the
Gateway API objects `gateway-contour migrate` wrote from them).

A `Scenario` is a piece of source YAML and the probes that exercise it; each uses its own
hostnames so that all of them share one world. Every probe also states what the source world
must answer (`expect`), so that "the same answer" cannot be "404 twice". To cover another
source API, append scenarios to `SCENARIOS` (HTTPProxy's are in `roundtrip_httpproxy`; the
echo backends `app`, `api`, `fallback`,
`team-app` in namespace team, the `tricky` backend that fails each path's first request and
answers /slow/... late, and the certificates of `CERTIFICATES` are there for all). Probes
whose answer depends on the backend's memory are marked `once`. A Location header is compared
without a default port (https://h:443/x is https://h/x).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gateway_contour.certs.authority import CertificateAuthority, generate_ca, issue
from gateway_contour.migrate import MigrateOptions, migrate, render
from gateway_contour.providers.files import load_text
from gateway_contour.translate import DEFAULT_CONTROLLER_NAME
from tests.e2e.host_world import (
    HostWorld,
    forget_tricky_paths,
    ingress_yaml,
    start_tricky_backend,
    tls_secret_yaml,
)
from tests.e2e.http_client import Response, eventually
from tests.e2e.roundtrip_httpproxy import (
    HTTPPROXY_CERTIFICATES,
    HTTPPROXY_SCENARIOS,
    start_passthrough_backend,
)
from tests.e2e.roundtrip_model import P, Probe, Scenario

pytestmark = pytest.mark.e2e

BACKENDS = ("app", "api", "fallback", "team-app")  # echo backends; and "tricky"
NAMESPACES = {"team-app": "team"}
# (Secret namespace, Secret name, hostname the certificate names)
CERTIFICATES = (
    ("default", "tls-cert", "tls.rt.example.com"),
    ("default", "redirect-cert", "redirect.rt.example.com"),
    ("default", "secure-cert", "secure.rt.example.com"),
    ("default", "wild-cert", "*.wild.rt.example.com"),
    ("team", "team-cert", "team.rt.example.com"),
    ("default", "dot-cert", "dot.rt.example.com"),
    ("default", "dash-cert", "dot-rt.example.com"),
    ("default", "share-cert", "share.rt.example.com"),
    ("default", "split-cert", "split.rt.example.com"),
    *HTTPPROXY_CERTIFICATES,
)


SCENARIOS: list[Scenario] = [
    Scenario(
        "path types: exact, segment prefix, root",
        ingress_yaml(
            "paths",
            [
                (
                    "paths.rt.example.com",
                    [
                        ("/", "Prefix", "app"),
                        ("/api", "Prefix", "api"),
                        ("/api/exact", "Exact", "app"),
                    ],
                )
            ],
        ),
        (
            P("/", "paths.rt.example.com", "app"),
            P("/api", "paths.rt.example.com", "api"),
            P("/api/", "paths.rt.example.com", "api"),
            P("/api/v1/items", "paths.rt.example.com", "api"),
            P("/apix", "paths.rt.example.com", "app"),
            P("/api/exact", "paths.rt.example.com", "app"),
            P("/api/exact/more", "paths.rt.example.com", "api"),
        ),
    ),
    Scenario(
        "a path that is not routed on a known host",
        ingress_yaml("only-docs", [("docs.rt.example.com", [("/docs", "Exact", "api")])]),
        (
            P("/docs", "docs.rt.example.com", "api"),
            P("/other", "docs.rt.example.com", "fallback"),
        ),
    ),
    Scenario(
        "default backend for unknown hosts",
        ingress_yaml(
            "with-default",
            [("known.rt.example.com", [("/", "Prefix", "app")])],
            default_backend="fallback",
        ),
        (
            P("/", "known.rt.example.com", "app"),
            P("/anything", "unknown.rt.example.org", "fallback"),
        ),
    ),
    Scenario(
        "rule without a host",
        ingress_yaml("hostless", [("", [("/hostless-ping", "Exact", "api")])]),
        (
            P("/hostless-ping", "any.rt.example.org", "api"),
            P("/hostless-ping/x", "any.rt.example.org", "fallback"),
        ),
    ),
    Scenario(
        "two Ingresses share a host",
        ingress_yaml("share-a", [("shared.rt.example.com", [("/a", "Prefix", "app")])])
        + "---\n"
        + ingress_yaml("share-b", [("shared.rt.example.com", [("/b", "Prefix", "api")])]),
        (
            P("/a/1", "shared.rt.example.com", "app"),
            P("/b/1", "shared.rt.example.com", "api"),
            P("/c", "shared.rt.example.com", "fallback"),
        ),
    ),
    Scenario(
        "regular expression path (ImplementationSpecific)",
        ingress_yaml(
            "regex",
            [
                (
                    "regex.rt.example.com",
                    [("/items/[0-9]+", "ImplementationSpecific", "api"), ("/", "Prefix", "app")],
                )
            ],
        ),
        (
            P("/items/42", "regex.rt.example.com", "api"),
            P("/items/4x", "regex.rt.example.com", "app"),
        ),
    ),
    Scenario(
        "prefix with a trailing slash",
        ingress_yaml("slash", [("slash.rt.example.com", [("/docs/", "Prefix", "api")])]),
        (
            P("/docs", "slash.rt.example.com", "api"),
            P("/docs/page", "slash.rt.example.com", "api"),
            P("/docsx", "slash.rt.example.com", "fallback"),
        ),
    ),
    Scenario(
        "TLS termination, plain HTTP still served",
        ingress_yaml(
            "tls",
            [("tls.rt.example.com", [("/", "Prefix", "app")])],
            tls=[(["tls.rt.example.com"], "tls-cert")],
        ),
        (
            P("/secure", "tls.rt.example.com", "app", tls=True),
            P("/plain", "tls.rt.example.com", "app"),
        ),
    ),
    Scenario(
        "force-ssl-redirect",
        ingress_yaml(
            "redirect",
            [("redirect.rt.example.com", [("/", "Prefix", "api")])],
            annotations={"ingress.kubernetes.io/force-ssl-redirect": "true"},
            tls=[(["redirect.rt.example.com"], "redirect-cert")],
        ),
        (
            P("/login?next=/x", "redirect.rt.example.com", 301),
            P("/login", "redirect.rt.example.com", "api", tls=True),
        ),
    ),
    Scenario(
        "allow-http false",
        ingress_yaml(
            "secure-only",
            [("secure.rt.example.com", [("/", "Prefix", "api")])],
            annotations={"kubernetes.io/ingress.allow-http": "false"},
            tls=[(["secure.rt.example.com"], "secure-cert")],
        ),
        (
            P("/", "secure.rt.example.com", "fallback"),
            P("/", "secure.rt.example.com", "api", tls=True),
        ),
    ),
    Scenario(
        "wildcard host with a wildcard certificate",
        ingress_yaml(
            "wildcard",
            [("*.wild.rt.example.com", [("/", "Prefix", "api")])],
            tls=[(["*.wild.rt.example.com"], "wild-cert")],
        ),
        (
            P("/", "a.wild.rt.example.com", "api", tls=True),
            P("/", "b.wild.rt.example.com", "api"),
        ),
    ),
    Scenario(
        "an Ingress and its certificate in another namespace than the Gateway",
        ingress_yaml(
            "team",
            [("team.rt.example.com", [("/", "Prefix", "team-app")])],
            namespace="team",
            tls=[(["team.rt.example.com"], "team-cert")],
        ),
        (
            P("/", "team.rt.example.com", "team-app", tls=True),
            P("/", "team.rt.example.com", "team-app"),
        ),
    ),
    Scenario(
        "retries (retry-on, num-retries) against a backend failing each first request",
        ingress_yaml(
            "retrying",
            [("retry.rt.example.com", [("/", "Prefix", "tricky")])],
            annotations={
                "projectcontour.io/retry-on": "5xx",
                "projectcontour.io/num-retries": "2",
            },
        )
        + "---\n"
        + ingress_yaml("not-retrying", [("noretry.rt.example.com", [("/", "Prefix", "tricky")])]),
        (
            P("/r1", "retry.rt.example.com", 200, once=True),
            P("/n1", "noretry.rt.example.com", 503, once=True),
        ),
    ),
    Scenario(
        "response-timeout against a slow backend",
        ingress_yaml(
            "impatient",
            [("slow.rt.example.com", [("/", "Prefix", "tricky")])],
            annotations={"projectcontour.io/response-timeout": "300ms"},
        ),
        (P("/slow/1", "slow.rt.example.com", 504, once=True),),
    ),
    Scenario(
        "an Ingress of another class is neither served nor migrated",
        ingress_yaml(
            "nginx", [("nginx.rt.example.com", [("/", "Prefix", "app")])], class_name="nginx"
        ),
        (P("/", "nginx.rt.example.com", "fallback"),),
    ),
    Scenario(
        # listener names "https-dot-rt-example-com" twice; route names "coll-a-coll-rt-..." twice
        "names that collide when derived: hosts x.y and x-y; Ingress a, host b.c and a-b, host c",
        ingress_yaml(
            "dots",
            [("dot.rt.example.com", [("/", "Prefix", "app")])],
            tls=[(["dot.rt.example.com"], "dot-cert")],
        )
        + "---\n"
        + ingress_yaml(
            "dashes",
            [("dot-rt.example.com", [("/", "Prefix", "api")])],
            tls=[(["dot-rt.example.com"], "dash-cert")],
        )
        + "---\n"
        + ingress_yaml("coll", [("a.coll.rt.example.com", [("/", "Prefix", "app")])])
        + "---\n"
        + ingress_yaml("coll-a", [("coll.rt.example.com", [("/", "Prefix", "api")])]),
        (
            P("/", "dot.rt.example.com", "app", tls=True),
            P("/", "dot-rt.example.com", "api", tls=True),
            P("/", "dot.rt.example.com", "app"),
            P("/", "dot-rt.example.com", "api"),
            P("/", "a.coll.rt.example.com", "app"),
            P("/", "coll.rt.example.com", "api"),
        ),
    ),
    Scenario(
        # TLS applies per host: the migration attached only tls-owner's route to HTTPS
        "TLS of one Ingress serves every Ingress of its host (no tls section, other namespace)",
        ingress_yaml(
            "tls-owner",
            [("share.rt.example.com", [("/", "Prefix", "app"), ("/same", "Prefix", "app")])],
            tls=[(["share.rt.example.com"], "share-cert")],
        )
        + "---\n"
        + ingress_yaml(
            # before tls-owner by name: the controller's answer for /same
            "tls-borrower",
            [("share.rt.example.com", [("/bar", "Prefix", "api"), ("/same", "Prefix", "api")])],
        )
        + "---\n"
        + ingress_yaml(
            "tls-team",
            [("share.rt.example.com", [("/team", "Prefix", "team-app")])],
            namespace="team",
        ),
        (
            P("/", "share.rt.example.com", "app", tls=True),
            P("/bar", "share.rt.example.com", "api", tls=True),
            P("/same", "share.rt.example.com", "api", tls=True),
            P("/team", "share.rt.example.com", "team-app", tls=True),
            P("/bar", "share.rt.example.com", "api"),
            P("/same", "share.rt.example.com", "api"),
            P("/team", "share.rt.example.com", "team-app"),
        ),
    ),
    Scenario(
        # the controller takes Ingress "tie"; "default/tie-b-tie-rt-..." is the first HTTPRoute
        "two Ingresses with one host and path: the first by (namespace, name) answers",
        ingress_yaml("tie", [("tie.rt.example.com", [("/x", "Prefix", "app")])])
        + "---\n"
        + ingress_yaml("tie-b", [("tie.rt.example.com", [("/x", "Prefix", "api")])]),
        (
            P("/x", "tie.rt.example.com", "app"),
            P("/x/1", "tie.rt.example.com", "app"),
        ),
    ),
    Scenario(
        # "split" is off plain HTTP: there split-b answers /x, over HTTPS split does
        "a tie decided per listener (the first Ingress is HTTPS only)",
        ingress_yaml(
            "split",
            [("split.rt.example.com", [("/x", "Prefix", "app")])],
            annotations={"kubernetes.io/ingress.allow-http": "false"},
            tls=[(["split.rt.example.com"], "split-cert")],
        )
        + "---\n"
        + ingress_yaml("split-b", [("split.rt.example.com", [("/x", "Prefix", "api")])]),
        (
            P("/x", "split.rt.example.com", "api"),
            P("/x", "split.rt.example.com", "app", tls=True),
        ),
    ),
    Scenario(
        # the controller ranks "/docs/" first (longer); Gateway API sees one segment prefix
        "a tie between Prefix /docs and /docs/ of two Ingresses",
        ingress_yaml("slashtie-a", [("slashtie.rt.example.com", [("/docs", "Prefix", "app")])])
        + "---\n"
        + ingress_yaml("slashtie-b", [("slashtie.rt.example.com", [("/docs/", "Prefix", "api")])]),
        (
            P("/docs", "slashtie.rt.example.com", "api"),
            P("/docs/x", "slashtie.rt.example.com", "api"),
        ),
    ),
    *HTTPPROXY_SCENARIOS,
]


@dataclass(frozen=True)
class Answer:
    status: int
    backend: str | None
    location: str | None
    path_seen: str | None

    @classmethod
    def of(cls, r: Response) -> Answer:
        path = r.json().get("path") if r.backend is not None else None
        return cls(r.status, r.backend, _normalized_url(r.headers.get("location")), path)


def _normalized_url(url: str | None) -> str | None:
    """`url` without the port when it is its scheme's default: https://h:443/x and https://h/x
    are the same address (RFC 3986, 6.2.3)."""
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.port is not None and parts.port == {"http": 80, "https": 443}.get(parts.scheme):
        parts = parts._replace(netloc=parts.hostname or "")
    return urllib.parse.urlunsplit(parts)


def _support_objects(ca: CertificateAuthority) -> str:
    namespaces = "---\n".join(
        f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
        for ns in ("team", "projectcontour")
    )
    secrets = [tls_secret_yaml(name, ns, *issue(ca, host)) for ns, name, host in CERTIFICATES]
    return "---\n".join([namespaces, *secrets])


async def _ask(world: HostWorld, probe: Probe, ca: CertificateAuthority) -> Answer:
    headers = dict(probe.headers)
    if probe.tls:
        return Answer.of(await world.get_tls(probe.path, probe.host, ca.cert_pem, headers=headers))
    return Answer.of(await world.get(probe.path, host=probe.host, headers=headers))


def _meets(answer: Answer, expect: str | int) -> bool:
    return answer.backend == expect if isinstance(expect, str) else answer.status == expect


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[HostWorld]:
    w = HostWorld(tmp_path, BACKENDS, namespaces=NAMESPACES)
    w.start_backends()
    w.backends["tricky"] = start_tricky_backend()
    try:
        yield w
    finally:
        w.stop_backends()


def test_scenarios_are_enough() -> None:
    assert len(SCENARIOS) >= 10
    assert len(HTTPPROXY_SCENARIOS) >= 6
    assert all(s.probes for s in SCENARIOS)


async def test_same_answers_before_and_after_migration(world: HostWorld) -> None:
    ca = generate_ca("roundtrip-ca")
    world.backends["pass-echo"] = start_passthrough_backend(ca, world.tmp_path)
    support = _support_objects(ca)
    source = "---\n".join(s.objects for s in SCENARIOS)

    async with world.running("---\n".join([support, source]), name="before"):
        before = await _answers_when_ready(world, ca)
    unmet = {p: a for p, a in before.items() if not _meets(a, p.expect)}
    assert not unmet, f"the source world does not answer as expected: {unmet}"

    loaded = load_text(source, "source.yaml")
    assert not loaded.problems
    options = MigrateOptions(http_port=world.http_port, https_port=world.https_port)
    migration = migrate(loaded.objects, options)
    # the only notes: the skipped class, and what is known to differ but no probe observes
    kinds = {(n.kind, n.source) for n in migration.notes}
    assert ("skipped", "Ingress default/nginx") in kinds, migration.notes
    gateway_class = yaml.safe_dump(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": options.gateway_class},
            "spec": {"controllerName": DEFAULT_CONTROLLER_NAME},
        }
    )
    migrated = render(migration)
    async with world.running("---\n".join([support, gateway_class, migrated]), name="after"):
        after = await _answers_when_ready(world, ca)

    differ = {
        f"{p.host}{p.path} tls={p.tls}": (before[p], after[p])
        for p in before
        if before[p] != after[p]
    }
    assert not differ, f"answers changed by the migration:\n{differ}\n\n{migrated}"


async def _answers_when_ready(world: HostWorld, ca: CertificateAuthority) -> dict[Probe, Answer]:
    """Every probe's answer, once the world serves every scenario: the repeatable probes
    are asked until each meets its expectation (or the deadline passes, then their last
    answers are taken), then the `once` probes, each exactly once, on a backend that has
    forgotten what it saw."""
    probes = [p for s in SCENARIOS for p in s.probes if not p.once]

    async def all_answers() -> dict[Probe, Answer]:
        return {p: await _ask(world, p, ca) for p in probes}

    try:
        answers = await eventually(
            all_answers, lambda got: all(_meets(a, p.expect) for p, a in got.items()), timeout=20
        )
    except AssertionError:
        answers = await all_answers()
    forget_tricky_paths()
    for probe in (p for s in SCENARIOS for p in s.probes if p.once):
        answers[probe] = await _ask(world, probe, ca)
    return answers
