"""Which of the kinds we consume the API server serves, and where.

Versions differ across Gateway API releases (TCPRoute is still v1alpha2 when HTTPRoute is v1)
and CRDs may be missing altogether, so we ask the server instead of hard-coding paths: for
each group, versions are tried preferred-first and the first that serves a kind wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gateway_contour.providers.kubernetes.client import ApiError, KubeClient

log = logging.getLogger(__name__)

# group -> kinds we consume from it
WANTED: dict[str, tuple[str, ...]] = {
    "": ("Namespace", "Service", "Secret", "ConfigMap"),
    "discovery.k8s.io": ("EndpointSlice",),
    "networking.k8s.io": ("Ingress", "IngressClass"),
    "gateway.networking.k8s.io": (
        "GatewayClass",
        "Gateway",
        "HTTPRoute",
        "GRPCRoute",
        "TLSRoute",
        "TCPRoute",
        "UDPRoute",
        "ReferenceGrant",
        "BackendTLSPolicy",
        "ListenerSet",
    ),
    "gateway.networking.x-k8s.io": ("XListenerSet",),
    "projectcontour.io": ("HTTPProxy", "TLSCertificateDelegation"),
    "gateway-contour.dev": ("ContourDeployment",),  # GatewayClass parameters (api/)
}

# what the Kubernetes provisioner makes (provisioner/kube/) besides Services and Secrets,
# watched only when it provisions, and only the objects it labeled (`PROVISIONED_SELECTOR`):
# a fleet object deleted or changed by someone else is applied again. And the Envoy Pods
# its workloads make (they carry the same label): why a fleet has no Ready Envoy.
PROVISIONED: dict[str, tuple[str, ...]] = {
    "": ("ServiceAccount", "Pod"),
    "apps": ("DaemonSet", "Deployment"),
}
PROVISIONED_SELECTOR = "app.kubernetes.io/managed-by=gateway-contour"

# kinds served under another name that the store knows by ours
KIND_ALIASES = {"XListenerSet": "ListenerSet"}


@dataclass(frozen=True, slots=True)
class ApiResource:
    kind: str  # the kind the store uses
    served_kind: str  # the kind the server returns
    group: str
    version: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_path(self) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{base}/{self.plural}"

    def object_path(self, namespace: str, name: str) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced:
            return f"{base}/namespaces/{namespace}/{self.plural}/{name}"
        return f"{base}/{self.plural}/{name}"


async def _group_versions(client: KubeClient, group: str) -> list[str]:
    if group == "":
        return ["v1"]
    try:
        info = await client.get(f"/apis/{group}")
    except ApiError as err:
        if err.status == 404:
            return []
        raise
    preferred = info.get("preferredVersion", {}).get("version")
    versions = [v["version"] for v in info.get("versions", [])]
    return ([preferred] if preferred else []) + [v for v in versions if v != preferred]


async def discover(
    client: KubeClient, wanted: dict[str, tuple[str, ...]] | None = None
) -> dict[str, ApiResource]:
    """Kind -> where it is served, for every wanted kind (default: WANTED) the server has."""
    wanted = WANTED if wanted is None else wanted
    found: dict[str, ApiResource] = {}
    for group, kinds in wanted.items():
        for version in await _group_versions(client, group):
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                listing = await client.get(path)
            except ApiError as err:
                if err.status == 404:
                    continue
                raise
            for res in listing.get("resources", []):
                served = res.get("kind")
                kind = KIND_ALIASES.get(served, served)
                if "/" in res["name"] or served not in kinds or kind in found:
                    continue
                found[kind] = ApiResource(
                    kind, served, group, version, res["name"], bool(res.get("namespaced"))
                )
    missing = sorted({KIND_ALIASES.get(k, k) for ks in wanted.values() for k in ks} - set(found))
    if missing:
        log.info("not served by this API server (CRD not installed?): %s", ", ".join(missing))
    return found
