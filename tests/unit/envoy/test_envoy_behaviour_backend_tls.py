"""TLS to backends on the wire: BackendTLSPolicy (CA from a ConfigMap, SNI, DNS and URI SAN
checks) and the Gateway's backend client certificate, as the conformance tests
BackendTLSPolicy, BackendTLSPolicySANValidation, BackendTLSPolicyInvalidCACertificateRef and
GatewayTLSBackendClientCertificate use them. The backend is a TLS echo server that requires
a client certificate from the same CA, so every 200 also proves the Gateway presented its
own certificate.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from envoy_runner import free_port, request, running_envoy, tls_echo_server

from gateway_contour.envoy.resources import build_resources
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, translate
from tests.support.certs import Issued, cert_pem, issue, key_pem

pytestmark = pytest.mark.e2e

NS = {"namespace": "default"}
# path -> (policy validation, or None for no policy)
POLICIES: dict[str, dict[str, Any] | None] = {
    "ok": {"hostname": "abc.example.com", "ca": "ca"},
    "host-mismatch": {"hostname": "mismatch.example.com", "ca": "ca"},
    "san-uri": {
        "hostname": "abc.example.com",
        "ca": "ca",
        "subjectAltNames": [{"type": "URI", "uri": "spiffe://abc.example.com/test-identity"}],
    },
    "san-mismatch": {
        "hostname": "abc.example.com",
        "ca": "ca",
        "subjectAltNames": [{"type": "Hostname", "hostname": "def.example.com"}],
    },
    "other-ca": {"hostname": "abc.example.com", "ca": "other-ca"},
    "missing-ca": {"hostname": "abc.example.com", "ca": "does-not-exist"},
}


def objects(http_port: int, backend_port: int, client: Issued, cas: dict[str, str]) -> list[dict]:
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "gc"},
            "spec": {"controllerName": "gateway-contour.dev/gateway-controller"},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", **NS},
            "spec": {
                "gatewayClassName": "gc",
                "listeners": [{"name": "http", "port": http_port, "protocol": "HTTP"}],
                "tls": {"backend": {"clientCertificateRef": {"name": "gw-client"}}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "gw-client", **NS},
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": base64.b64encode(cert_pem(client[0])).decode(),
                "tls.key": base64.b64encode(key_pem(client[1])).decode(),
            },
        },
    ]
    out += [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, **NS},
            "data": {"ca.crt": bundle},
        }
        for name, bundle in cas.items()
    ]
    rules = []
    for path, validation in POLICIES.items():
        service = f"svc-{path}"
        rules.append(
            {
                "matches": [{"path": {"type": "PathPrefix", "value": f"/{path}"}}],
                "backendRefs": [{"name": service, "port": 443}],
            }
        )
        out += [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": service, **NS},
                "spec": {"ports": [{"name": "btls", "port": 443}]},
            },
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": service,
                    "labels": {"kubernetes.io/service-name": service},
                    **NS,
                },
                "addressType": "IPv4",
                "ports": [{"name": "btls", "port": backend_port}],
                "endpoints": [{"addresses": ["127.0.0.1"]}],
            },
        ]
        if validation is not None:
            spec_validation = {
                "hostname": validation["hostname"],
                "caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": validation["ca"]}],
            }
            if "subjectAltNames" in validation:
                spec_validation["subjectAltNames"] = validation["subjectAltNames"]
            out.append(
                {
                    "apiVersion": "gateway.networking.k8s.io/v1",
                    "kind": "BackendTLSPolicy",
                    "metadata": {"name": path, **NS},
                    "spec": {
                        "targetRefs": [
                            {"group": "", "kind": "Service", "name": service, "sectionName": "btls"}
                        ],
                        "validation": spec_validation,
                    },
                }
            )
    out.append(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "r", **NS},
            "spec": {"parentRefs": [{"name": "gw"}], "rules": rules},
        }
    )
    return out


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    work: Path = tmp_path_factory.mktemp("backend-tls")
    ca = issue("test-ca", [])
    other_ca = issue("other-ca", [])
    backend = issue(
        "abc.example.com",
        [
            x509.DNSName("abc.example.com"),
            x509.UniformResourceIdentifier("spiffe://abc.example.com/test-identity"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ],
        ca,
    )
    client = issue("gateway", [x509.DNSName("gateway.example.com")], ca)
    (work / "backend.crt").write_text(cert_pem(backend[0]).decode())
    (work / "backend.key").write_text(key_pem(backend[1]).decode())
    (work / "ca.crt").write_text(cert_pem(ca[0]).decode())
    cas = {"ca": cert_pem(ca[0]).decode(), "other-ca": cert_pem(other_ca[0]).decode()}
    with tls_echo_server(work / "backend.crt", work / "backend.key", work / "ca.crt") as tls_port:
        http_port = free_port()
        ir, report = translate(
            Snapshot.of(objects(http_port, tls_port, client, cas)),
            TranslateOptions(default_address="127.0.0.1"),
        )
        assert not report.problems
        with running_envoy(build_resources(ir)["default/gw"], work, http_port):
            yield http_port


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("ok", True),
        ("san-uri", True),
        ("host-mismatch", False),
        ("san-mismatch", False),
        ("other-ca", False),
        ("missing-ca", False),
    ],
)
def test_backend_tls(port: int, path: str, ok: bool) -> None:
    status, _, _ = request(port, f"/{path}")
    if ok:
        assert status == 200
    else:
        assert status in (500, 502, 503)
