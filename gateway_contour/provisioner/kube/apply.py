"""Server-side apply of the objects the provisioner owns, and their deletion.

An apply is a PATCH with `application/apply-patch+yaml` (JSON is YAML), field manager
`gateway-contour` and `force=true`: we own every field we send and take it back from
anyone who changed it (the fleet is ours to shape; other field managers keep the fields we
do not send, e.g. an autoscaler's replicas when we send none). The API server creates the
object when it does not exist, and answers with the object as stored.
"""

from __future__ import annotations

from typing import Any

from gateway_contour.providers.kubernetes.client import ApiError, KubeClient

FIELD_MANAGER = "gateway-contour"
APPLY_PATCH = "application/apply-patch+yaml"

# (apiVersion, kind) -> plural, for the kinds the provisioner writes (all namespaced)
PLURALS: dict[tuple[str, str], str] = {
    ("v1", "ServiceAccount"): "serviceaccounts",
    ("v1", "Secret"): "secrets",
    ("v1", "Service"): "services",
    ("apps/v1", "Deployment"): "deployments",
    ("apps/v1", "DaemonSet"): "daemonsets",
}


def object_path(api_version: str, kind: str, namespace: str, name: str) -> str:
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    return f"{base}/namespaces/{namespace}/{PLURALS[(api_version, kind)]}/{name}"


def path_of(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return object_path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])


class Applier:
    def __init__(self, client: KubeClient, field_manager: str = FIELD_MANAGER) -> None:
        self.client = client
        self.field_manager = field_manager

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply `obj`; returns the object as the API server stored it."""
        answer = await self.client.request(
            "PATCH",
            path_of(obj),
            params={"fieldManager": self.field_manager, "force": "true"},
            body=obj,
            content_type=APPLY_PATCH,
        )
        return dict(answer or {})

    async def list_labeled(self, api_version: str, kind: str, selector: str) -> list[Any]:
        """The objects of `kind` in every namespace that match the label `selector`."""
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        answer = await self.client.get(
            f"{base}/{PLURALS[(api_version, kind)]}", labelSelector=selector
        )
        return list((answer or {}).get("items") or [])

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        """Delete the object (its dependents go with it); False when it was not there."""
        try:
            await self.client.request(
                "DELETE",
                object_path(api_version, kind, namespace, name),
                body={
                    "kind": "DeleteOptions",
                    "apiVersion": "v1",
                    "propagationPolicy": "Background",
                },
            )
        except ApiError as err:
            if err.status == 404:
                return False
            raise
        return True
