"""TLS to backends on the wire: BackendTLSPolicy (CA from a ConfigMap, SNI, DNS and URI SAN
checks) and the Gateway's backend client certificate, as the conformance tests
BackendTLSPolicy, BackendTLSPolicySANValidation, BackendTLSPolicyInvalidCACertificateRef and
GatewayTLSBackendClientCertificate use them. The backend is a TLS echo server that requires
a client certificate from the same CA, so every 200 also proves the Gateway presented its
own certificate.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from envoy_runner import free_port, request, running_envoy, tls_echo_server

from gateway_contour.envoy.resources import build_resources
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, translate

pytestmark = pytest.mark.e2e

NS = {"namespace": "default"}
Issued = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def issue(subject: str, sans: list[x509.GeneralName], issuer: Issued | None = None) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256()), key


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


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
                "tls.crt": base64.b64encode(pem(client[0]).encode()).decode(),
                "tls.key": base64.b64encode(key_pem(client[1]).encode()).decode(),
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
    (work / "backend.crt").write_text(pem(backend[0]))
    (work / "backend.key").write_text(key_pem(backend[1]))
    (work / "ca.crt").write_text(pem(ca[0]))
    cas = {"ca": pem(ca[0]), "other-ca": pem(other_ca[0])}
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
