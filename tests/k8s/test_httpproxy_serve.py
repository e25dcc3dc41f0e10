"""HTTPProxy against a real API server: our CRDs (manifests/crds, rendered from
gateway_contour/api) validate what they can, and `serve` (host provisioning) turns a root
proxy including a proxy of another namespace into traffic through a real Envoy, writing
Contour's status (currentStatus, description, the Valid condition with its errors) on
every proxy: valid (with a warning for a field it does not implement), orphaned and invalid
ones."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.translate import TranslateOptions
from tests.e2e.http_client import arequest, eventually
from tests.k8s import manifests as m
from tests.k8s.controller import running, serve_config
from tests.support.hostnet import HostNetwork

PROXIES = "/apis/projectcontour.io/v1/namespaces/{ns}/httpproxies"


def proxy(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "projectcontour.io/v1",
        "kind": "HTTPProxy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def current(status_of: str) -> Any:
    def accept(obj: dict[str, Any]) -> bool:
        return (obj.get("status") or {}).get("currentStatus") == status_of

    return accept


async def test_httpproxy_schema_traffic_and_status(
    kube: Any, namespace: str, tmp_path: Path
) -> None:
    api = KubeClient(kube.kubeconfig)
    child_ns = f"{namespace}-child"
    # the schema refuses what it can tell is wrong on its own
    with pytest.raises(ApiError) as refused:
        bad = proxy(
            namespace,
            "bad",
            {
                "routes": [
                    {
                        "loadBalancerPolicy": {"strategy": "Fastest"},
                        "services": [{"name": "a", "port": 80}],
                    }
                ]
            },
        )
        await api.request("POST", PROXIES.format(ns=namespace), body=bad)
    assert refused.value.status == 422

    net = HostNetwork(workdir=tmp_path).up()
    backend = net.start_echo("proxy-backend")
    child_backend = net.start_echo("child-backend")
    config = serve_config(kube, namespace, provision="host", envoy_work_dir=tmp_path / "envoy")
    try:
        async with running(config):
            await api.request(
                "POST",
                "/api/v1/namespaces",
                body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": child_ns}},
            )
            for ns, name, echo in ((namespace, "app", backend), (child_ns, "docs", child_backend)):
                for obj in (
                    m.service(ns, name),
                    m.endpoint_slice(ns, name, echo.address, echo.port),
                ):
                    await api.request("POST", m.collection_path(obj), body=obj)
            objects = [
                proxy(
                    namespace,
                    "root",
                    {
                        "virtualhost": {"fqdn": "proxy.test"},
                        # a field we do not implement: kept by the schema, warned about
                        "routes": [
                            {
                                "services": [{"name": "app", "port": 80}],
                                "authPolicy": {"disabled": True},
                            }
                        ],
                        "includes": [
                            {
                                "name": "docs",
                                "namespace": child_ns,
                                "conditions": [{"prefix": "/docs"}],
                            }
                        ],
                    },
                ),
                proxy(child_ns, "docs", {"routes": [{"services": [{"name": "docs", "port": 80}]}]}),
                proxy(
                    child_ns, "orphan", {"routes": [{"services": [{"name": "docs", "port": 80}]}]}
                ),
                proxy(
                    namespace,
                    "broken",
                    {
                        "virtualhost": {"fqdn": "broken.test"},
                        "routes": [{"services": [{"name": "missing", "port": 80}]}],
                    },
                ),
            ]
            for obj in objects:
                ns = obj["metadata"]["namespace"]
                await api.request("POST", PROXIES.format(ns=ns), body=obj)

            root_path = PROXIES.format(ns=namespace) + "/root"
            root = await eventually(lambda: api.get(root_path), current("valid"))
            condition = root["status"]["conditions"][0]
            assert (condition["type"], condition["status"], condition["reason"]) == (
                "Valid",
                "True",
                "Valid",
            )
            assert condition["lastTransitionTime"]
            assert [w["reason"] for w in condition["warnings"]] == ["FieldNotSupported"]
            assert "authPolicy" in condition["warnings"][0]["message"]
            address = root["status"]["loadBalancer"]["ingress"][0]["ip"]
            assert address.startswith("127.")

            port = TranslateOptions.legacy_http_port
            home = await eventually(
                lambda: arequest(address, port, "/", host="proxy.test"), lambda r: r.status == 200
            )
            assert home.backend == "proxy-backend"
            docs = await arequest(address, port, "/docs/intro", host="proxy.test")
            assert docs.backend == "child-backend"

            orphan = await eventually(
                lambda: api.get(PROXIES.format(ns=child_ns) + "/orphan"), current("orphaned")
            )
            assert orphan["status"]["conditions"][0]["errors"][0]["reason"] == "Orphaned"
            broken = await eventually(
                lambda: api.get(PROXIES.format(ns=namespace) + "/broken"), current("invalid")
            )
            errors = broken["status"]["conditions"][0]["errors"]
            assert [(e["type"], e["reason"]) for e in errors] == [
                ("ServiceError", "ServiceUnresolvedReference")
            ]
            assert (await arequest(address, port, "/", host="broken.test")).status == 404
    finally:
        with contextlib.suppress(ApiError):
            await api.request("DELETE", f"/api/v1/namespaces/{child_ns}")
        await api.close()
        net.down()
