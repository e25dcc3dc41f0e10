"""HTTPProxy scenarios of the migration round trip (tests/e2e/test_migrate_roundtrip.py):
the same requests through Envoy give the same answers with the HTTPProxies served by the
controller and with the Gateway API objects `gateway-contour migrate` wrote from them.

They cover paths (prefix, exact, regex), inclusion across namespaces with include
conditions, TLS with permitInsecure, a delegated certificate from another namespace, header
and query conditions, weights and prefix rewrites, redirects, retries and timeouts. Each uses
its own hostnames (hp-*.rt.example.com) and the round trip's echo backends; TLS passthrough
also needs `start_passthrough_backend` (an echo backend speaking TLS itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway_contour.certs.authority import CertificateAuthority, issue
from gateway_contour.demo.echo import EchoBackend
from tests.e2e.host_world import start_tls_echo
from tests.e2e.roundtrip_model import P, Scenario

# (Secret namespace, Secret name, hostname the certificate names)
HTTPPROXY_CERTIFICATES = (
    ("default", "hp-tls-cert", "hp-tls.rt.example.com"),
    ("team", "hp-deleg-cert", "hp-deleg.rt.example.com"),
)


def proxy(name: str, spec: dict[str, Any], namespace: str = "default") -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "projectcontour.io/v1",
            "kind": "HTTPProxy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        },
        sort_keys=False,
    )


def root(name: str, fqdn: str, routes: list[dict[str, Any]], **extra: Any) -> str:
    vhost: dict[str, Any] = {"fqdn": fqdn}
    if "tls" in extra:
        vhost["tls"] = extra.pop("tls")
    return proxy(name, {"virtualhost": vhost, "routes": routes, **extra})


def to(*services: str, **policies: Any) -> dict[str, Any]:
    """A route to `services` (port 80) with `policies` (conditions, timeoutPolicy, ...)."""
    return {**policies, "services": [{"name": s, "port": 80} for s in services]}


def prefix(path: str) -> list[dict[str, str]]:
    return [{"prefix": path}]


BASIC = "hp-basic.rt.example.com"
INCLUDE = "hp-include.rt.example.com"
TLS = "hp-tls.rt.example.com"
DELEG = "hp-deleg.rt.example.com"
COND = "hp-cond.rt.example.com"
POLICY = "hp-policy.rt.example.com"
REDIRECT = "hp-redirect.rt.example.com"
PASS = "hp-pass.rt.example.com"
PASS_BACKEND = "pass-echo"


def start_passthrough_backend(ca: CertificateAuthority, directory: Path) -> EchoBackend:
    """The backend of the passthrough scenario: it terminates TLS for `PASS` itself."""
    return start_tls_echo(PASS_BACKEND, *issue(ca, PASS), directory)


HTTPPROXY_SCENARIOS = [
    Scenario(
        "HTTPProxy: prefix, exact and regex paths",
        root(
            "hp-basic",
            BASIC,
            [
                to("app"),
                to("api", conditions=prefix("/api")),
                to("app", conditions=[{"exact": "/api/exact"}]),
                to("api", conditions=[{"regex": "/items/[0-9]+"}]),
            ],
        ),
        (
            P("/", BASIC, "app"),
            P("/api", BASIC, "api"),
            P("/api/v1", BASIC, "api"),
            P("/api/exact", BASIC, "app"),
            P("/api/exact/more", BASIC, "api"),
            P("/items/42", BASIC, "api"),
            P("/items/4x", BASIC, "app"),
        ),
    ),
    Scenario(
        "HTTPProxy: inclusion across namespaces, with include conditions",
        root(
            "hp-include",
            INCLUDE,
            [to("app")],
            includes=[
                {"name": "hp-team-child", "namespace": "team", "conditions": prefix("/team")},
                {
                    "name": "hp-api-child",
                    "conditions": [
                        {"prefix": "/api"},
                        {"header": {"name": "x-tenant", "exact": "blue"}},
                    ],
                },
            ],
        )
        + "---\n"
        + proxy("hp-team-child", {"routes": [to("team-app")]}, namespace="team")
        + "---\n"
        + proxy("hp-api-child", {"routes": [to("api", conditions=prefix("/v1"))]}),
        (
            P("/", INCLUDE, "app"),
            P("/team", INCLUDE, "team-app"),
            P("/team/x", INCLUDE, "team-app"),
            P("/api/v1/items", INCLUDE, "api", headers=(("x-tenant", "blue"),)),
            P("/api/v1/items", INCLUDE, "app"),
        ),
    ),
    Scenario(
        "HTTPProxy: TLS, plain HTTP redirected except permitInsecure routes",
        root(
            "hp-tls",
            TLS,
            [to("app"), to("api", conditions=prefix("/.well-known"), permitInsecure=True)],
            tls={"secretName": "hp-tls-cert"},
        ),
        (
            P("/x", TLS, "app", tls=True),
            P("/x?y=1", TLS, 301),
            P("/.well-known/acme", TLS, "api"),
            P("/.well-known/acme", TLS, "api", tls=True),
        ),
    ),
    Scenario(
        "HTTPProxy: a delegated certificate and an included proxy in another namespace",
        root(
            "hp-deleg",
            DELEG,
            [],
            tls={"secretName": "team/hp-deleg-cert"},
            includes=[{"name": "hp-deleg-child", "namespace": "team"}],
        )
        + "---\n"
        + proxy("hp-deleg-child", {"routes": [to("team-app")]}, namespace="team")
        + "---\n"
        + yaml.safe_dump(
            {
                "apiVersion": "projectcontour.io/v1",
                "kind": "TLSCertificateDelegation",
                "metadata": {"name": "hp-deleg", "namespace": "team"},
                "spec": {
                    "delegations": [
                        {"secretName": "hp-deleg-cert", "targetNamespaces": ["default"]}
                    ]
                },
            }
        ),
        (
            P("/", DELEG, "team-app", tls=True),
            P("/page", DELEG, 301),
        ),
    ),
    Scenario(
        "HTTPProxy: header and query parameter conditions",
        root(
            "hp-cond",
            COND,
            [
                to("app"),
                to("api", conditions=[{"queryParameter": {"name": "v", "exact": "2"}}]),
                to("api", conditions=[{"header": {"name": "x-canary", "present": True}}]),
                to("api", conditions=[{"header": {"name": "x-user", "contains": "admin"}}]),
            ],
        ),
        (
            P("/", COND, "app"),
            P("/?v=2", COND, "api"),
            P("/?v=3", COND, "app"),
            P("/", COND, "api", headers=(("x-canary", "1"),)),
            P("/", COND, "api", headers=(("x-user", "the-admin-1"),)),
            P("/", COND, "app", headers=(("x-user", "guest"),)),
        ),
    ),
    Scenario(
        "HTTPProxy: weighted services and a prefix rewrite",
        root(
            "hp-policy",
            POLICY,
            [
                to("app"),
                to(
                    "app",
                    conditions=prefix("/old"),
                    pathRewritePolicy={"replacePrefix": [{"replacement": "/new"}]},
                ),
                {
                    "conditions": prefix("/split"),
                    "services": [
                        {"name": "app", "port": 80, "weight": 0},
                        {"name": "api", "port": 80, "weight": 100},
                    ],
                },
            ],
        ),
        (
            P("/", POLICY, "app"),
            P("/old/page", POLICY, "app"),
            P("/split/a", POLICY, "api"),
        ),
    ),
    Scenario(
        # a redirect without a port differs off port 80 (noted): Gateway API writes the
        # listener's port, Contour the request's; these name the port or change the scheme
        "HTTPProxy: request redirects (full path, prefix)",
        root(
            "hp-redirect",
            REDIRECT,
            [
                to("app"),
                {
                    "conditions": prefix("/moved"),
                    "requestRedirectPolicy": {
                        "hostname": POLICY,
                        "port": 8080,
                        "path": "/landing",
                        "statusCode": 301,
                    },
                },
                {
                    "conditions": prefix("/docs"),
                    "requestRedirectPolicy": {"scheme": "https", "prefix": "/documentation"},
                },
            ],
        ),
        (
            P("/", REDIRECT, "app"),
            P("/moved", REDIRECT, 301),
            P("/docs/a", REDIRECT, 302),
        ),
    ),
    Scenario(
        "HTTPProxy: retryPolicy and timeoutPolicy.response",
        root(
            "hp-retry",
            "hp-retry.rt.example.com",
            [to("tricky", retryPolicy={"count": 2, "retryOn": ["5xx"]})],
        )
        + "---\n"
        + root(
            "hp-slow",
            "hp-slow.rt.example.com",
            [to("tricky", timeoutPolicy={"response": "300ms"})],
        ),
        (
            P("/hp-r1", "hp-retry.rt.example.com", 200, once=True),
            P("/slow/hp1", "hp-slow.rt.example.com", 504, once=True),
        ),
    ),
    Scenario(
        "HTTPProxy: TLS passthrough to a tcpproxy",
        proxy(
            "hp-pass",
            {
                "virtualhost": {"fqdn": PASS, "tls": {"passthrough": True}},
                "tcpproxy": {"services": [{"name": PASS_BACKEND, "port": 80}]},
            },
        ),
        (
            P("/through", PASS, PASS_BACKEND, tls=True),
            # nothing serves the host on plain HTTP: the default backend answers
            P("/", PASS, "fallback"),
        ),
    ),
]
