"""Issue 22: a kubernetes.io/tls Secret Envoy cannot load (a key of another certificate, a
certificate block that is not a certificate) used to be sent over SDS, Envoy NACKed it, and
the listener still said ResolvedRefs True. Now the listener naming it is ResolvedRefs False /
InvalidCertificateRef, nothing of it reaches Envoy (no NACK), and the Gateway's other HTTPS
listener, with a good Secret on the same port, answers."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from gateway_contour.certs import self_signed
from gateway_contour.demo.echo import start_echo
from gateway_contour.provisioner.host import free_port
from tests.e2e.host_controller import host_config
from tests.e2e.host_controller import running as host_mode_running
from tests.e2e.host_world import https_request, service_yaml
from tests.e2e.http_client import eventually

pytestmark = pytest.mark.e2e


def secret_yaml(name: str, cert: bytes, key: bytes) -> str:
    crt, k = base64.b64encode(cert).decode(), base64.b64encode(key).decode()
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: default}}\n"
        f"type: kubernetes.io/tls\ndata:\n  tls.crt: {crt}\n  tls.key: {k}\n"
    )


def gateway_yaml(port: int) -> str:
    """A Gateway with one HTTPS listener per Secret, all on `port`, and a route to "app"."""
    listeners = [
        {
            "name": name,
            "protocol": "HTTPS",
            "port": port,
            "hostname": f"{name}.example.com",
            "tls": {"certificateRefs": [{"name": name}]},
        }
        for name in ("good", "mismatch", "fake")
    ]
    gateway_api = "gateway.networking.k8s.io/v1"
    objects = [
        {
            "apiVersion": gateway_api,
            "kind": "GatewayClass",
            "metadata": {"name": "gc"},
            "spec": {"controllerName": "gateway-contour.dev/gateway-controller"},
        },
        {
            "apiVersion": gateway_api,
            "kind": "Gateway",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"gatewayClassName": "gc", "listeners": listeners},
        },
        {
            "apiVersion": gateway_api,
            "kind": "HTTPRoute",
            "metadata": {"name": "app", "namespace": "default"},
            "spec": {
                "parentRefs": [{"name": "web"}],
                "rules": [{"backendRefs": [{"name": "app", "port": 80}]}],
            },
        },
    ]
    return yaml.safe_dump_all(objects)


def listener_conditions(status: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    for entry in status["statuses"]:
        if entry["object"] == "Gateway default/web":
            for listener in entry["status"]["listeners"]:
                if listener["name"] == name:
                    return {c["type"]: c for c in listener["conditions"]}
    raise AssertionError(f"no listener {name} in {status}")


async def test_malformed_secret_is_reported_not_sent(tmp_path: Path) -> None:
    good_cert, good_key = self_signed("good.example.com")
    _, other_key = self_signed("other.example.com")
    fake = b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    app = start_echo("app")
    port = free_port()
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "objects.yaml").write_text(
        "---\n".join(
            [
                gateway_yaml(port),
                service_yaml("app", app),
                secret_yaml("good", good_cert, good_key),
                secret_yaml("mismatch", good_cert, other_key),
                secret_yaml("fake", fake, good_key),
            ]
        )
    )
    status_file = tmp_path / "status.yaml"
    config = host_config(config_dir, tmp_path / "envoy", status_file=status_file)
    try:
        async with host_mode_running(config) as mode:

            async def good() -> Any:
                return await anyio.to_thread.run_sync(
                    lambda: https_request(port, "/", "good.example.com", good_cert)
                )

            response = await eventually(good, lambda r: r.status == 200)
            assert response.backend == "app"
            status = yaml.safe_load(await anyio.to_thread.run_sync(status_file.read_text))
            assert listener_conditions(status, "good")["ResolvedRefs"]["status"] == "True"
            for name, why in (("mismatch", "does not match"), ("fake", "not a PEM")):
                refs = listener_conditions(status, name)["ResolvedRefs"]
                assert (refs["status"], refs["reason"]) == ("False", "InvalidCertificateRef")
                assert f"Secret default/{name}" in refs["message"] and why in refs["message"]
            # Envoy accepted everything it was sent: listeners, routes and the one Secret
            assert mode.nack_count() == 0
            assert mode.server is not None
            assert mode.server.stats.nacks_by_type == {}
    finally:
        app.stop()
