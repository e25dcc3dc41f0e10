"""HTTPS listeners on the wire: the Gateway API objects of the conformance tests
HTTPRouteHTTPSListenerDetectMisdirectedRequests and GatewayFrontendClientCertificate-
Validation(+InsecureFallback), translated, built and served by a real Envoy.

Four HTTPS listeners share one port: no hostname, second-example.org, *.wildcard.org and
fourth-example.wildcard.org. The SNI picks the listener; a Host that belongs to another
listener is answered 421, an unknown Host on the SNI's own listener 404. Two more ports
validate client certificates against a CA from a ConfigMap, strictly and with the insecure
fallback.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from envoy_runner import echo_server, free_port, running_envoy

from gateway_contour.envoy.resources import build_resources
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, translate
from tests.support.certs import cert_pem, issue, key_pem

pytestmark = pytest.mark.e2e

SERVER_NAMES = ["*.org", "*.wildcard.org", "example.org"]
NS = {"namespace": "default"}


class PKI:
    def __init__(self) -> None:
        self.server = issue("example.org", SERVER_NAMES)
        self.ca = issue("client-ca", [])
        self.client = issue("client", ["client.example.com"], self.ca)
        self.stranger = issue("stranger", ["stranger.example.com"])  # not from the CA


def https(name: str, port: int, hostname: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "port": port,
        "protocol": "HTTPS",
        "tls": {"certificateRefs": [{"name": "server"}]},
    }
    if hostname:
        out["hostname"] = hostname
    return out


def route(name: str, gateway: str, section: str, backend: str, hostnames: list[str]) -> dict:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, **NS},
        "spec": {
            "parentRefs": [{"name": gateway, "sectionName": section}],
            "hostnames": hostnames,
            "rules": [
                {
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {
                                "set": [{"name": "x-route", "value": backend}]
                            },
                        }
                    ],
                    "backendRefs": [{"name": "echo", "port": 80}],
                }
            ],
        },
    }


def objects(pki: PKI, ports: dict[str, int], echo_port: int) -> list[dict[str, Any]]:
    main = ports["main"]
    listeners = [
        https("https", main),
        https("https-with-hostname", main, "second-example.org"),
        https("https-with-wildcard-hostname", main, "*.wildcard.org"),
        https("https-with-hostname-matching-wildcard", main, "fourth-example.wildcard.org"),
    ]
    ca_ref = {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "client-ca"}]}
    gateways = [
        ("main", listeners, None),
        ("strict", [https("https", ports["strict"])], {"default": {"validation": ca_ref}}),
        (
            "fallback",
            [https("https", ports["fallback"])],
            {"default": {"validation": {**ca_ref, "mode": "AllowInsecureFallback"}}},
        ),
    ]
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "gc"},
            "spec": {"controllerName": "gateway-contour.dev/gateway-controller"},
        }
    ]
    for name, gw_listeners, frontend in gateways:
        spec: dict[str, Any] = {"gatewayClassName": "gc", "listeners": gw_listeners}
        if frontend:
            spec["tls"] = {"frontend": frontend}
        out.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "metadata": {"name": name, **NS},
                "spec": spec,
            }
        )
    out += [
        route("r1", "main", "https", "v1", ["example.org"]),
        route("r2", "main", "https-with-hostname", "v2", []),
        route("r3", "main", "https-with-wildcard-hostname", "v3", []),
        route("r4", "main", "https-with-hostname-matching-wildcard", "v4", []),
        route("strict", "strict", "https", "strict", []),
        route("fallback", "fallback", "https", "fallback", []),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "server", **NS},
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": base64.b64encode(cert_pem(pki.server[0])).decode(),
                "tls.key": base64.b64encode(key_pem(pki.server[1])).decode(),
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "client-ca", **NS},
            "data": {"ca.crt": cert_pem(pki.ca[0]).decode()},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "echo", **NS},
            "spec": {"ports": [{"name": "http", "port": 80}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "echo-1", "labels": {"kubernetes.io/service-name": "echo"}, **NS},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": echo_port}],
            "endpoints": [{"addresses": ["127.0.0.1"]}],
        },
    ]
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PKI, dict[str, int]]]:
    pki = PKI()
    ports = {"main": free_port(), "strict": free_port(), "fallback": free_port()}
    with echo_server() as echo_port:
        ir, report = translate(
            Snapshot.of(objects(pki, ports, echo_port)),
            TranslateOptions(default_address="127.0.0.1"),
        )
        assert not report.problems
        resources = build_resources(ir)
        # one Envoy for the three fleets: merge their resources (listeners are named by
        # protocol and port, every port differs, so no two resources share a name)
        merged: dict[str, dict[str, Any]] = {}
        for fleet in resources.values():
            for type_url, by_name in fleet.items():
                merged.setdefault(type_url, {}).update(by_name)
        workdir: Path = tmp_path_factory.mktemp("envoy")
        with running_envoy(merged, workdir, *ports.values()):
            yield pki, ports


def get(
    port: int,
    server_name: str,
    host: str,
    pki: PKI,
    client: tuple[x509.Certificate, Any] | None = None,
    tmp: Path | None = None,
) -> tuple[int, str]:
    """(status, x-route the backend saw) of GET / over TLS with SNI `server_name`."""
    context = ssl.create_default_context(cadata=cert_pem(pki.server[0]).decode())
    context.check_hostname = False
    if client is not None and tmp is not None:
        cert_file, key_file = tmp / "c.pem", tmp / "k.pem"
        cert_file.write_bytes(cert_pem(client[0]))
        key_file.write_bytes(key_pem(client[1]))
        context.load_cert_chain(cert_file, key_file)
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
    conn.sock = context.wrap_socket(
        socket.create_connection(("127.0.0.1", port), 5), server_hostname=server_name
    )
    conn.request("GET", "/", headers={"Host": host})
    resp = conn.getresponse()
    body = resp.read()
    routed = json.loads(body)["headers"].get("x-route", "") if resp.status == 200 else ""
    return resp.status, routed


@pytest.mark.parametrize(
    ("server_name", "host", "status", "backend"),
    [
        ("example.org", "example.org", 200, "v1"),
        ("example.org", "second-example.org", 421, ""),
        ("example.org", "unknown-example.org", 404, ""),
        ("second-example.org", "second-example.org", 200, "v2"),
        ("second-example.org", "example.org", 421, ""),
        ("second-example.org", "unknown-example.org", 421, ""),
        ("third-example.wildcard.org", "third-example.wildcard.org", 200, "v3"),
        ("third-example.wildcard.org", "fith-example.wildcard.org", 200, "v3"),
        ("third-example.wildcard.org", "fourth-example.wildcard.org", 421, ""),
        ("third-example.wildcard.org", "second-example.org", 421, ""),
        ("fourth-example.wildcard.org", "fourth-example.wildcard.org", 200, "v4"),
        ("fourth-example.wildcard.org", "fith-example.wildcard.org", 421, ""),
        ("unknown-example.org", "example.org", 200, "v1"),
        ("unknown-example.org", "unknown-example.org", 404, ""),
    ],
)
def test_misdirected_requests(
    setup: tuple[PKI, dict[str, int]], server_name: str, host: str, status: int, backend: str
) -> None:
    pki, ports = setup
    assert get(ports["main"], server_name, host, pki) == (status, backend)


def test_strict_client_validation(setup: tuple[PKI, dict[str, int]], tmp_path: Path) -> None:
    pki, ports = setup
    assert get(ports["strict"], "example.org", "example.org", pki, pki.client, tmp_path) == (
        200,
        "strict",
    )
    for client in (None, pki.stranger):
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            get(ports["strict"], "example.org", "example.org", pki, client, tmp_path)


def test_insecure_fallback_lets_anyone_in(
    setup: tuple[PKI, dict[str, int]], tmp_path: Path
) -> None:
    pki, ports = setup
    for client in (pki.client, pki.stranger, None):
        assert get(ports["fallback"], "example.org", "example.org", pki, client, tmp_path) == (
            200,
            "fallback",
        )
