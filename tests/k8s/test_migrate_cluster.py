"""`gateway-contour migrate --from-cluster` reads HTTPProxies (and what they use) from a
real API server: a root proxy including a proxy of another namespace becomes one HTTPRoute
with the child's Service referenced across namespaces and granted by a ReferenceGrant; the
command line writes the same objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import yaml

from gateway_contour.cli import main
from gateway_contour.migrate import migrate
from gateway_contour.migrate.sources import load_cluster
from gateway_contour.providers.kubernetes.client import KubeClient
from tests.k8s import manifests as m

PROXIES = "/apis/projectcontour.io/v1/namespaces/{ns}/httpproxies"


def proxy(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "projectcontour.io/v1",
        "kind": "HTTPProxy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


async def test_migrate_reads_httpproxies_from_the_cluster(
    kube: Any, namespace: str, tmp_path: Path
) -> None:
    api = KubeClient(kube.kubeconfig)
    child_ns = f"{namespace}-docs"
    fqdn = f"{namespace}.migrate.test"
    try:
        await api.request(
            "POST",
            "/api/v1/namespaces",
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": child_ns}},
        )
        for ns, name in ((namespace, "app"), (child_ns, "docs")):
            service = m.service(ns, name)
            await api.request("POST", m.collection_path(service), body=service)
        root = proxy(
            namespace,
            "root",
            {
                "virtualhost": {"fqdn": fqdn},
                "routes": [{"services": [{"name": "app", "port": 80}]}],
                "includes": [
                    {"name": "docs", "namespace": child_ns, "conditions": [{"prefix": "/docs"}]}
                ],
            },
        )
        docs = proxy(child_ns, "docs", {"routes": [{"services": [{"name": "docs", "port": 80}]}]})
        for obj in (root, docs):
            await api.request("POST", PROXIES.format(ns=obj["metadata"]["namespace"]), body=obj)

        loaded = await load_cluster(kube.kubeconfig, None)
        assert not loaded.problems, loaded.problems
        objects = migrate(loaded.objects).objects()
        routes = [
            o
            for o in objects
            if o["kind"] == "HTTPRoute" and o["metadata"]["namespace"] == namespace
        ]
        assert [r["metadata"]["name"] for r in routes] == ["root"]
        assert routes[0]["spec"]["hostnames"] == [fqdn]
        rules = routes[0]["spec"]["rules"]
        assert rules[1]["backendRefs"] == [{"name": "docs", "namespace": child_ns, "port": 80}]
        grants = [
            o
            for o in objects
            if o["kind"] == "ReferenceGrant" and o["metadata"]["namespace"] == child_ns
        ]
        assert [g["spec"]["to"] for g in grants] == [
            [{"group": "", "kind": "Service", "name": "docs"}]
        ]

        out = tmp_path / "out.yaml"
        args = ["migrate", "--from-cluster", "--kubeconfig", str(kube.kubeconfig), "-o", str(out)]
        assert await anyio.to_thread.run_sync(main, args) == 0  # main runs its own loop
        written = list(yaml.safe_load_all(out.read_text()))
        assert routes[0] in written
    finally:
        await api.request("DELETE", f"/api/v1/namespaces/{child_ns}")
        await api.close()
