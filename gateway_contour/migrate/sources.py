"""Where `migrate` reads objects from a cluster (YAML files and directories are read by the
files provider's `load_paths`, as `run` reads them).

From a cluster it lists what the conversion reads (Ingresses, HTTPProxies, IngressClasses,
Services, TLSCertificateDelegations; never Secrets: their names are enough) with the same client the
controller uses; the kind each list item lacks is filled in. A kind the cluster does not
serve (no Contour CRDs) is a warning, not a failure. A 429 (the API server asks to come back
later, e.g. while a CRD's storage initializes) is retried a few times with backoff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from gateway_contour.providers.files import Loaded
from gateway_contour.providers.kubernetes.client import ApiError, KubeClient
from gateway_contour.status.report import Problem
from gateway_contour.store.objects import KubeObject

# kind -> list path (all namespaces)
CLUSTER_KINDS = {
    "Ingress": "/apis/networking.k8s.io/v1/ingresses",
    "HTTPProxy": "/apis/projectcontour.io/v1/httpproxies",
    "IngressClass": "/apis/networking.k8s.io/v1/ingressclasses",
    "Service": "/api/v1/services",
    "TLSCertificateDelegation": "/apis/projectcontour.io/v1/tlscertificatedelegations",
}


async def load_cluster(kubeconfig: Path | None, context: str | None) -> Loaded:
    loaded = Loaded()
    client = KubeClient(kubeconfig, context)
    try:
        for kind, path in CLUSTER_KINDS.items():
            try:
                listing = await _get(client, path)
            except ApiError as err:
                loaded.problems.append(Problem(path, f"listing {kind} failed: {err}"))
                continue
            for item in listing.get("items") or []:
                obj: KubeObject = {"kind": kind, **item}
                loaded.objects.append(obj)
    finally:
        await client.close()
    return loaded


async def _get(client: KubeClient, path: str, attempts: int = 5) -> Any:
    for attempt in range(attempts):
        try:
            return await client.get(path)
        except ApiError as err:
            if err.status != 429 or attempt == attempts - 1:
                raise
            await anyio.sleep(0.2 * 2**attempt)  # the server's own "come back later"
    raise AssertionError("unreachable")
