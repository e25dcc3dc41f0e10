"""Ingress end to end: YAML files -> the implicit legacy fleet -> a real Envoy (host mode)
-> real backends, over plain HTTP and TLS (SNI, wildcard certificates, minimum version), with
the Contour annotations a client can observe (force-ssl-redirect, allow-http, websocket
routes, retries, response timeout, upstream TLS from a Service annotation), invalid parts
reported while the rest serves, and Ingress status written with the fleet's address."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gateway_contour.certs.authority import CertificateAuthority, generate_ca, issue, self_signed
from tests.e2e.host_world import (
    HostWorld,
    forget_tricky_paths,
    ingress_yaml,
    start_tls_echo,
    start_tricky_backend,
    tls_secret_yaml,
)
from tests.e2e.http_client import eventually

pytestmark = pytest.mark.e2e

INGRESSES = "---\n".join(
    [
        ingress_yaml(
            "shop",
            [
                (
                    "www.example.com",
                    [
                        ("/", "Prefix", "app"),
                        ("/api", "Prefix", "api"),
                        ("/api/exact", "Exact", "app"),
                        ("/str", "ImplementationSpecific", "api"),
                        ("/re/[0-9]+", "ImplementationSpecific", "api"),
                        ("/gone", "Prefix", "no-such-service"),
                    ],
                ),
                ("docs.example.com", [("/docs", "Exact", "api")]),
            ],
            tls=[(["www.example.com"], "www-cert")],
            default_backend="fallback",
        ),
        ingress_yaml(
            "secure-only",
            [("*.apps.example.com", [("/", "Prefix", "api")])],
            annotations={"kubernetes.io/ingress.allow-http": "false"},
            tls=[(["*.apps.example.com"], "wild-cert")],
        ),
        ingress_yaml(
            "redirected",
            [("login.example.com", [("/", "Prefix", "app")])],
            annotations={
                "ingress.kubernetes.io/force-ssl-redirect": "true",
                "projectcontour.io/tls-minimum-protocol-version": "1.3",
            },
            tls=[(["login.example.com"], "login-cert")],
        ),
        ingress_yaml(
            "chat",
            [("chat.example.com", [("/ws", "Prefix", "api"), ("/plain", "Prefix", "api")])],
            annotations={"projectcontour.io/websocket-routes": "/ws"},
        ),
        ingress_yaml(
            "upstreams",
            [("upstreams.example.com", [("/tls", "Prefix", "secure-backend")])],
        ),
        ingress_yaml(
            "retrying",
            [("retry.example.com", [("/", "Prefix", "tricky")])],
            annotations={
                "projectcontour.io/retry-on": "5xx",
                "projectcontour.io/num-retries": "2",
            },
        ),
        ingress_yaml("not-retrying", [("noretry.example.com", [("/", "Prefix", "tricky")])]),
        ingress_yaml(
            "impatient",
            [("impatient.example.com", [("/", "Prefix", "tricky")])],
            annotations={"projectcontour.io/response-timeout": "300ms"},
        ),
        ingress_yaml(
            "not-ours", [("nginx.example.com", [("/", "Prefix", "app")])], class_name="nginx"
        ),
    ]
)


@dataclass
class Served:
    world: HostWorld
    ca: CertificateAuthority


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    ca = generate_ca("ingress-e2e-ca")
    secrets = [
        tls_secret_yaml(name, "default", *issue(ca, host))
        for name, host in (
            ("www-cert", "www.example.com"),
            ("wild-cert", "*.apps.example.com"),
            ("login-cert", "login.example.com"),
        )
    ]
    world = HostWorld(
        tmp_path,
        ("app", "api", "fallback"),
        annotations={
            "secure-backend": {
                "projectcontour.io/upstream-protocol.tls": "80",
                "projectcontour.io/max-connections": "10",
            }
        },
    )
    world.start_backends()
    world.backends["tricky"] = start_tricky_backend()
    forget_tricky_paths()
    # a backend speaking TLS with a certificate nobody vouches for: the annotation encrypts
    # without verifying, as Contour does
    world.backends["secure-backend"] = start_tls_echo(
        "secure-backend", *self_signed("secure-backend.internal"), tmp_path
    )
    try:
        async with world.running("---\n".join([INGRESSES, *secrets])):
            await eventually(
                lambda: world.get("/", host="www.example.com"), lambda r: r.backend == "app"
            )
            yield Served(world, ca)
    finally:
        world.stop_backends()


async def test_rules_path_types_and_default_backend(served: Served) -> None:
    w = served.world

    async def backend(path: str, host: str = "www.example.com") -> str | None:
        return (await w.get(path, host=host)).backend

    assert await backend("/") == "app"
    assert await backend("/api") == "api"
    assert await backend("/api/") == "api"
    assert await backend("/api/v1/items") == "api"
    # Prefix matches whole segments
    assert await backend("/apix") == "app"
    # Exact beats the longer-living prefix; only the exact path
    assert await backend("/api/exact") == "app"
    assert await backend("/api/exact/more") == "api"
    # ImplementationSpecific without regex characters is a plain string prefix
    assert await backend("/string") == "api"
    # ... and with them a regular expression on the whole path
    assert await backend("/re/42") == "api"
    assert await backend("/re/4x") == "app"
    # a host no rule names falls to the default backend
    assert await backend("/", host="unknown.example.com") == "fallback"
    # the class of another controller is not served: its host gets the default backend too
    assert await backend("/", host="nginx.example.com") == "fallback"


async def test_default_backend_takes_what_no_rule_matches(served: Served) -> None:
    w = served.world
    assert (await w.get("/docs", host="docs.example.com")).backend == "api"
    # a known host whose paths do not match: the default backend (Ingress spec)
    assert (await w.get("/elsewhere", host="docs.example.com")).backend == "fallback"


async def test_missing_service_answers_503_and_the_rest_serves(served: Served) -> None:
    w = served.world
    assert (await w.get("/gone", host="www.example.com")).status == 503
    assert (await w.get("/gone-not", host="www.example.com")).backend == "app"
    status = yaml.safe_load((w.tmp_path / "world-status.yaml").read_text())
    problems = [p for p in status.get("problems", []) if p["source"] == "Ingress default/shop"]
    assert any("no-such-service" in p["reason"] for p in problems), problems


async def test_tls_termination_with_sni_and_wildcard(served: Served) -> None:
    w, ca = served.world, served.ca.cert_pem
    secure = await w.get_tls("/api/x", "www.example.com", ca)
    assert secure.backend == "api"
    # plain HTTP keeps serving the same host
    assert (await w.get("/api/x", host="www.example.com")).backend == "api"
    # a wildcard certificate and host: one label in place of "*"
    assert (await w.get_tls("/", "shop.apps.example.com", ca)).backend == "api"
    with_port = await w.get_tls("/", "shop.apps.example.com:8443", ca, sni="shop.apps.example.com")
    assert with_port.backend == "api"
    # a Host that is not the SNI, under the one wildcard: 421 Misdirected Request, as in
    # Contour (a client that coalesced connections retries on a new one)
    other = await w.get_tls("/", "other.apps.example.com", ca, sni="shop.apps.example.com")
    assert other.status == 421
    deep = await w.get_tls("/", "a.b.apps.example.com", ca, sni="a.apps.example.com")
    assert deep.status == 421
    # allow-http "false": nothing on plain HTTP for that Ingress; its host falls to the
    # default backend like any host without rules
    assert (await w.get("/", host="shop.apps.example.com")).backend == "fallback"


async def test_force_ssl_redirect(served: Served) -> None:
    w, ca = served.world, served.ca.cert_pem
    answer = await w.get("/account?x=1", host="login.example.com")
    assert answer.status == 301
    assert answer.headers["location"] == "https://login.example.com/account?x=1"
    assert (await w.get_tls("/account", "login.example.com", ca)).backend == "app"


async def test_tls_minimum_version_annotation(served: Served) -> None:
    w, ca = served.world, served.ca.cert_pem
    # login.example.com asks for TLS 1.3 at least; www.example.com keeps the default 1.2
    with pytest.raises(ssl.SSLError):
        await w.get_tls("/", "login.example.com", ca, max_version=ssl.TLSVersion.TLSv1_2)
    old = await w.get_tls("/", "www.example.com", ca, max_version=ssl.TLSVersion.TLSv1_2)
    assert old.backend == "app"


async def test_status_carries_the_fleet_address(served: Served) -> None:
    status = yaml.safe_load((served.world.tmp_path / "world-status.yaml").read_text())
    by_object = {entry["object"]: entry["status"] for entry in status["statuses"]}
    expected = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
    for name in ("shop", "secure-only", "redirected"):
        assert by_object[f"Ingress default/{name}"] == expected
    assert "Ingress default/not-ours" not in by_object


async def test_websocket_routes_annotation(served: Served) -> None:
    w = served.world
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket"}
    allowed = await w.get("/ws", host="chat.example.com", headers=upgrade)
    # the upgrade reaches the backend (the echo answers it like any request; Envoy then
    # ends the upgrade attempt, so only the response headers come back)
    assert allowed.status == 200
    assert allowed.headers["x-backend"] == "api"
    refused = await w.get("/plain", host="chat.example.com", headers=upgrade)
    assert refused.status == 403
    assert (await w.get("/plain", host="chat.example.com")).backend == "api"


async def test_upstream_tls_from_the_service_annotation(served: Served) -> None:
    answer = await served.world.get("/tls/x", host="upstreams.example.com")
    assert answer.backend == "secure-backend"
    assert answer.json()["path"] == "/tls/x"


async def test_retry_annotations(served: Served) -> None:
    w = served.world
    # the first try of each path fails with 503: retried, the client sees the second try
    assert (await w.get("/once", host="retry.example.com")).status == 200
    # without the annotations the failure reaches the client
    assert (await w.get("/twice", host="noretry.example.com")).status == 503
    assert (await w.get("/twice", host="noretry.example.com")).status == 200


async def test_response_timeout_annotation(served: Served) -> None:
    w = served.world
    # the backend needs 2 s: Envoy gives up after 300 ms
    answer = await w.get("/slow/1", host="impatient.example.com")
    assert answer.status == 504
    # the same slow backend without the annotation: Envoy's default 15 s lets it answer
    assert (await w.get("/slow/2", host="noretry.example.com")).status == 200
