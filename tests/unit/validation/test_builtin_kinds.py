"""Built-in kinds' rules (Service, EndpointSlice, Secret, Ingress) and ObjectMeta."""

from __future__ import annotations

from typing import Any

from tests.unit.validation.test_schema_rules import errors_of


def obj(api: str, kind: str, name: str = "x", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, **fields}


def test_service_ports() -> None:
    ports = [{"name": "http", "port": 80}, {"name": "http", "port": 0, "protocol": "FOO"}]
    assert errors_of(obj("v1", "Service", spec={"ports": ports})) == [
        'spec.ports[1].name: Duplicate value: "http"',
        "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        'spec.ports[1].protocol: Unsupported value: "FOO": supported values: "SCTP", "TCP", "UDP"',
    ]
    assert errors_of(obj("v1", "Service", spec={"ports": [{"port": 80}, {"port": 81}]})) == [
        "spec.ports[0].name: Required value",
        "spec.ports[1].name: Required value",
    ]
    assert errors_of(obj("v1", "Service", spec={})) == ["spec.ports: Required value"]
    assert errors_of(obj("v1", "Service", spec={"clusterIP": "None"})) == []
    (error,) = errors_of(obj("v1", "Service", name="1abc", spec={"ports": [{"port": 80}]}))
    assert error.startswith('metadata.name: Invalid value: "1abc": a DNS-1035 label')


def test_endpoint_slice_addresses() -> None:
    slice_ = obj(
        "discovery.k8s.io/v1",
        "EndpointSlice",
        addressType="IPv4",
        endpoints=[{"addresses": ["10.0.0.1", "::1"]}, {"addresses": []}],
    )
    assert errors_of(slice_) == [
        'endpoints[0].addresses[1]: Invalid value: "::1": must be a valid IPv4 address',
        "endpoints[1].addresses: Required value",
    ]
    slice_ = obj("discovery.k8s.io/v1", "EndpointSlice", addressType="IPv5")
    assert errors_of(slice_) == [
        'addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"'
    ]


def test_secret_data() -> None:
    secret = obj("v1", "Secret", type="kubernetes.io/tls", data={"tls.crt": "!!!"})
    errors = errors_of(secret)
    assert errors[0].startswith('data[tls.crt]: Invalid value: "<secret contents redacted>"')
    assert errors[1:] == ["data[tls.key]: Required value"]
    good = obj(
        "v1", "Secret", type="kubernetes.io/tls", data={"tls.crt": "YQ==", "tls.key": "Yg=="}
    )
    assert errors_of(good) == []


def test_ingress_paths_and_backends() -> None:
    backend = {"service": {"name": "web", "port": {"name": "http", "number": 80}}}
    spec = {"rules": [{"host": "1.2.3.4", "http": {"paths": [{"path": "x", "backend": backend}]}}]}
    assert errors_of(obj("networking.k8s.io/v1", "Ingress", spec=spec)) == [
        'spec.rules[0].host: Invalid value: "1.2.3.4": must be a DNS name, not an IP address',
        "spec.rules[0].http.paths[0].pathType: Required value",
        'spec.rules[0].http.paths[0].backend.service.port: Invalid value: {"name":"http",'
        '"number":80}: cannot set both port name & port number',
    ]


def test_metadata_labels_and_unknown_kinds() -> None:
    meta = {"name": "x", "namespace": "Bad", "labels": {"a/b/c": "ok", "k": "bad value"}}
    errors = errors_of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
    assert [e.split(":")[0] for e in errors] == [
        "metadata.namespace",
        "metadata.labels",
        "metadata.labels",
    ]
    unknown = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "A_B"}}
    assert errors_of(unknown) == []
