"""Everything `gateway-contour migrate` writes is accepted by a real API server (issue 19):
the output of every golden migrate case, of the bench's 1,000 Ingresses (half with TLS:
ListenerSets, split ReferenceGrants), and of the name collisions, each object created with
a server-side dry run (`dryRun=All`, `fieldValidation=Strict`, as `kubectl apply
--dry-run=server` does) against the k8s tier's kube-apiserver with the Gateway API CRDs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway_contour.migrate import migrate, render
from gateway_contour.providers.files import load_text
from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from tests.bench.migrate_bench import ingress_file

GOLDEN = Path(__file__).parents[1] / "golden"
COLLISIONS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: a, namespace: default}
spec:
  tls: [{hosts: [foo.bar.com, foo-bar.com], secretName: cert}]
  rules:
  - host: foo.bar.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}
  - host: foo-bar.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}
  - host: b-c.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: a-b, namespace: default}
spec:
  rules:
  - host: c.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}
"""
PLURALS = {
    "Gateway": "gateways",
    "ListenerSet": "listenersets",
    "HTTPRoute": "httproutes",
    "TLSRoute": "tlsroutes",
    "ReferenceGrant": "referencegrants",
}


def _outputs() -> dict[str, list[dict[str, Any]]]:
    sources = {p.parent.name: p.read_text() for p in sorted(GOLDEN.glob("migrate-*/source.yaml"))}
    sources["1000-ingresses"] = ingress_file(1000)
    sources["collisions"] = COLLISIONS
    return {
        case: list(yaml.safe_load_all(render(migrate(load_text(text, case).objects))))
        for case, text in sources.items()
    }


def _path(obj: dict[str, Any]) -> str:
    group_version = obj["apiVersion"]
    namespace = obj["metadata"]["namespace"]
    return f"/apis/{group_version}/namespaces/{namespace}/{PLURALS[obj['kind']]}"


async def test_every_migrated_object_is_accepted_by_the_api_server(kube: Any) -> None:
    outputs = _outputs()
    assert len(outputs) >= 10
    api = KubeClient(kube.kubeconfig)
    refused: list[str] = []
    try:
        namespaces = {o["metadata"]["namespace"] for objs in outputs.values() for o in objs}
        for ns in sorted(namespaces):
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            try:
                await api.request("POST", "/api/v1/namespaces", body=body)
            except ApiError as err:
                if err.status != 409:
                    raise
        checked = 0
        for case, objects in outputs.items():
            for obj in objects:
                params = {"dryRun": "All", "fieldValidation": "Strict"}
                try:
                    await api.request("POST", _path(obj), params=params, body=obj)
                except ApiError as err:
                    refused.append(f"{case}: {obj['kind']} {obj['metadata']['name']}: {err}")
                checked += 1
    finally:
        await api.close()
    assert not refused, "\n".join(refused)
    assert checked > 1000
    kinds = {o["kind"] for objs in outputs.values() for o in objs}
    assert kinds == set(PLURALS)
