"""The corpus of tests/data/invalid_objects.yaml created on a real API server (the Gateway API
CRDs and ours installed by the `kube` fixture) and read by the files provider: both refuse
exactly the same objects. Where the words differ, both answers are printed (the set is what
is asserted; the messages are compared by eye)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway_contour.providers.files import load_directory
from tests.unit.validation.test_corpus import corpus

PLURALS = {
    "Gateway": "gateways",
    "HTTPRoute": "httproutes",
    "GRPCRoute": "grpcroutes",
    "TLSRoute": "tlsroutes",
    "ListenerSet": "listenersets",
    "HTTPProxy": "httpproxies",
    "Ingress": "ingresses",
    "Service": "services",
    "EndpointSlice": "endpointslices",
}


def collection(obj: dict[str, Any], namespace: str) -> str:
    group_version = obj["apiVersion"]
    root = "/api" if "/" not in group_version else "/apis"
    return f"{root}/{group_version}/namespaces/{namespace}/{PLURALS[obj['kind']]}"


async def test_api_server_and_files_refuse_the_same_set(
    kube: Any, namespace: str, tmp_path: Path
) -> None:
    objects = corpus()
    assert {o["kind"] for o in objects} <= set(PLURALS)
    by_server: dict[tuple[str, str], str] = {}
    for obj in objects:
        body = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
        # strict field validation, as kubectl create and apply ask for: an unknown field is
        # refused rather than pruned
        path = f"{collection(obj, namespace)}?fieldValidation=Strict"
        status, answer = kube.request("POST", path, body)
        assert status in (201, 400, 422), (obj["kind"], obj["metadata"]["name"], status, answer)
        if status != 201:
            message = answer.get("message") if isinstance(answer, dict) else answer
            by_server[(obj["kind"], obj["metadata"]["name"])] = str(message)

    placed = [{**o, "metadata": {**o["metadata"], "namespace": namespace}} for o in objects]
    (tmp_path / "corpus.yaml").write_text(yaml.safe_dump_all(placed))
    loaded = load_directory(tmp_path)
    served = {(o["kind"], o["metadata"]["name"]) for o in loaded.objects}
    by_files = {
        (o["kind"], o["metadata"]["name"])
        for o in objects
        if (o["kind"], o["metadata"]["name"]) not in served
    }
    reasons = {p.source: p.reason for p in loaded.problems}
    for i, obj in enumerate(objects):
        key = (obj["kind"], obj["metadata"]["name"])
        ours = reasons.get(f"corpus.yaml#{i}")
        if key in by_server and ours is not None and ours != by_server[key]:
            print(f"{key}:\n  API server: {by_server[key]}\n  files:      {ours}")
    assert by_files == set(by_server), (
        f"refused by the API server only: {sorted(set(by_server) - by_files)}; "
        f"by the files provider only: {sorted(by_files - set(by_server))}"
    )
    assert len(by_server) >= 40
