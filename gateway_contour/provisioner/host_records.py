"""Host mode's record of each Gateway's Envoy in the cluster: one ServiceAccount per Gateway.

A host-mode Envoy is a local process, not a Pod, yet the Gateway's infrastructure should be
as visible as in Kubernetes mode: for each Gateway of ours the provisioner applies the same
ServiceAccount the Kubernetes provisioner gives its Envoys (`kube.objects.service_account`):
named `envoy-<gateway>`, labeled with gateway.networking.k8s.io/gateway-name, carrying the
Gateway's spec.infrastructure labels and annotations, owned by the Gateway (the garbage
collector removes it with the Gateway). A Gateway that leaves our classes loses its record.

Applies happen only when a record's rendering changed since the last apply; failures are
logged and retried at the next change of that Gateway (or a restart).
"""

from __future__ import annotations

import hashlib
import json
import logging

from gateway_contour.ir.model import IR
from gateway_contour.providers.kubernetes.client import TRANSPORT_ERRORS, ApiError, KubeClient
from gateway_contour.provisioner.kube.apply import Applier
from gateway_contour.provisioner.kube.objects import FleetSpec, service_account, workload_name
from gateway_contour.store.objects import Snapshot

log = logging.getLogger(__name__)


class HostRecords:
    def __init__(self, client: KubeClient) -> None:
        self.applier = Applier(client)
        # Gateway "ns/name" -> digest of the record last applied for it
        self.applied: dict[str, str] = {}

    @staticmethod
    def desired(snapshot: Snapshot, ir: IR) -> dict[str, dict[str, object]]:
        """Gateway "ns/name" -> its ServiceAccount, for every Gateway in the IR."""
        uids = {
            f"{gw['metadata'].get('namespace', '')}/{gw['metadata']['name']}": gw["metadata"].get(
                "uid", ""
            )
            for gw in snapshot.objects("Gateway")
        }
        out = {}
        for gateway in ir.gateways:
            uid = uids.get(gateway.name)
            if not uid:
                continue  # an implicit fleet (Ingress, HTTPProxy) or not in the API server
            namespace, name = gateway.name.split("/", 1)
            spec = FleetSpec(
                namespace=namespace,
                name=name,
                uid=str(uid),
                ports=(),
                labels=gateway.labels,
                annotations=gateway.annotations,
            )
            out[gateway.name] = service_account(spec)
        return out

    async def reconcile(self, snapshot: Snapshot, ir: IR) -> None:
        wanted = self.desired(snapshot, ir)
        for gateway, record in wanted.items():
            digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
            if self.applied.get(gateway) == digest:
                continue
            try:
                await self.applier.apply(record)
            except (ApiError, *TRANSPORT_ERRORS) as err:
                log.warning("recording the host-mode Envoy of Gateway %s failed: %s", gateway, err)
                self.applied.pop(gateway, None)
                continue
            self.applied[gateway] = digest
        for gateway in sorted(set(self.applied) - set(wanted)):
            del self.applied[gateway]
            namespace, name = gateway.split("/", 1)
            try:
                await self.applier.delete("v1", "ServiceAccount", namespace, workload_name(name))
            except (ApiError, *TRANSPORT_ERRORS) as err:
                log.warning("removing the host-mode record of Gateway %s failed: %s", gateway, err)
