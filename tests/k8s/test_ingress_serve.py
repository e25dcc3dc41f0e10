"""Ingress against a real API server: `serve` (host provisioning) gives the implicit fleet
its own address, sends traffic through a real Envoy, and writes that address into
status.loadBalancer of the Ingresses of its class only; `migrate` reads the same Ingresses
from the cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway_contour.migrate import MigrateOptions, migrate
from gateway_contour.migrate.sources import load_cluster
from gateway_contour.providers.kubernetes.client import KubeClient
from gateway_contour.translate import TranslateOptions
from tests.e2e.http_client import arequest, eventually
from tests.k8s import manifests as m
from tests.k8s.controller import running, serve_config
from tests.support.hostnet import HostNetwork

INGRESSES = "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses"


def ingress(ns: str, name: str, class_name: str, host: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "ingressClassName": class_name,
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/app",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "app", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


async def test_ingress_traffic_status_and_migration(
    kube: Any, namespace: str, tmp_path: Path
) -> None:
    net = HostNetwork(workdir=tmp_path).up()
    backend = net.start_echo("ingress-backend")
    class_name = f"ic-{namespace}"
    api = KubeClient(kube.kubeconfig)
    config = serve_config(
        kube,
        namespace,
        provision="host",
        envoy_work_dir=tmp_path / "envoy",
        ingress_class_names=(class_name,),
    )
    try:
        async with running(config):
            for obj in (
                m.service(namespace, "app"),
                m.endpoint_slice(namespace, "app", backend.address, backend.port),
            ):
                await api.request("POST", m.collection_path(obj), body=obj)
            path = INGRESSES.format(ns=namespace)
            ours = ingress(namespace, "web", class_name, "ingress.test")
            theirs = ingress(namespace, "other", "someone-else", "other.test")
            for obj in (ours, theirs):
                await api.request("POST", path, body=obj)

            def has_address(o: dict[str, Any]) -> bool:
                return bool(((o.get("status") or {}).get("loadBalancer") or {}).get("ingress"))

            live = await eventually(lambda: api.get(f"{path}/web"), has_address)
            address = live["status"]["loadBalancer"]["ingress"][0]["ip"]
            assert address.startswith("127.")
            port = TranslateOptions.legacy_http_port
            answer = await eventually(
                lambda: arequest(address, port, "/app/x", host="ingress.test"),
                lambda r: r.status == 200,
            )
            assert answer.backend == "ingress-backend"
            assert (await arequest(address, port, "/app/x", host="other.test")).status == 404
            # the other class's Ingress is not ours: no status written
            assert not has_address(await api.get(f"{path}/other"))

            loaded = await load_cluster(kube.kubeconfig, None)
            migration = migrate(loaded.objects, MigrateOptions(ingress_class_names=(class_name,)))
            routes = [
                o
                for o in migration.objects()
                if o["kind"] == "HTTPRoute" and o["metadata"]["namespace"] == namespace
            ]
            assert [r["metadata"]["name"] for r in routes] == ["web-ingress-test"]
            assert routes[0]["spec"]["rules"][0]["backendRefs"] == [{"name": "app", "port": 80}]
            skipped = {n.source for n in migration.notes if n.kind == "skipped"}
            assert f"Ingress {namespace}/other" in skipped
    finally:
        await api.close()
        net.down()
