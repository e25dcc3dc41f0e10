"""Host mode's record of each Gateway's Envoy (provisioner/host_records.py) against a real API
server: a ServiceAccount per Gateway carrying the gateway-name label and the Gateway's
spec.infrastructure labels and annotations, owned by the Gateway, re-applied only when it
changes and removed when the Gateway is no longer ours (Gateway API
GatewayInfrastructurePropagation)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway_contour.ir.model import IR
from gateway_contour.ir.model import Gateway as IRGateway
from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.provisioner.host_records import HostRecords
from gateway_contour.store.objects import Snapshot
from tests.k8s import manifests as m

SA_PATH = "/api/v1/namespaces/{ns}/serviceaccounts/envoy-{name}"


@pytest.fixture
async def api(kube: Any) -> AsyncIterator[KubeClient]:
    client = KubeClient(kube.kubeconfig)
    try:
        yield client
    finally:
        await client.close()


async def _record(api: KubeClient, ns: str, name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await api.get(SA_PATH.format(ns=ns, name=name))
    except ApiError as err:
        if err.status == 404:
            return None
        raise
    return found


async def test_record_carries_infrastructure_metadata_and_follows_changes(
    api: KubeClient, namespace: str
) -> None:
    gw = m.gateway(namespace, "edge", "some-class", 8080)
    gw["spec"]["infrastructure"] = {"labels": {"team": "a"}, "annotations": {"note": "x"}}
    created = await api.request("POST", m.collection_path(gw), body=gw)
    snapshot = Snapshot.of([created])
    full = f"{namespace}/edge"
    records = HostRecords(api)

    await records.reconcile(
        snapshot,
        IR(gateways=(IRGateway(full, labels=(("team", "a"),), annotations=(("note", "x"),)),)),
    )
    sa = await _record(api, namespace, "edge")
    assert sa is not None
    meta = sa["metadata"]
    assert meta["labels"]["gateway.networking.k8s.io/gateway-name"] == "edge"
    assert meta["labels"]["team"] == "a"
    assert meta["annotations"]["note"] == "x"
    (owner,) = meta["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "Gateway",
        "edge",
        created["metadata"]["uid"],
    )

    # the same world again: nothing is sent, the object is untouched
    version = meta["resourceVersion"]
    await records.reconcile(
        snapshot,
        IR(gateways=(IRGateway(full, labels=(("team", "a"),), annotations=(("note", "x"),)),)),
    )
    again = await _record(api, namespace, "edge")
    assert again is not None and again["metadata"]["resourceVersion"] == version

    # new infrastructure labels reach the record (server-side apply drops the old one)
    await records.reconcile(snapshot, IR(gateways=(IRGateway(full, labels=(("team", "b"),)),)))
    changed = await _record(api, namespace, "edge")
    assert changed is not None
    assert changed["metadata"]["labels"]["team"] == "b"
    assert "note" not in (changed["metadata"].get("annotations") or {})

    # the Gateway is no longer ours (not in the IR): its record goes
    await records.reconcile(snapshot, IR())
    assert await _record(api, namespace, "edge") is None


async def test_gateways_not_in_the_api_server_get_no_record(
    api: KubeClient, namespace: str
) -> None:
    records = HostRecords(api)
    # an implicit fleet (Ingress/HTTPProxy) or a Gateway from files: no uid to own a record
    await records.reconcile(Snapshot.of([]), IR(gateways=(IRGateway(f"{namespace}/ghost"),)))
    assert await _record(api, namespace, "ghost") is None
    assert records.applied == {}
