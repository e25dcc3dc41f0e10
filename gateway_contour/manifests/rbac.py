"""The controller's RBAC, derived from what the code does, verbs listed per resource.

- every kind the Kubernetes provider watches (providers/kubernetes/discovery.WANTED):
  list, watch;
- every kind whose status the status writer writes (STATUS_KINDS): get (a conflict
  refetches the object) and update on its status subresource (a PUT);
- every kind the Kubernetes provisioner applies (provisioner/kube/apply.PLURALS): create
  and patch (server-side apply creates through a PATCH, which the API server authorizes as
  create when the object does not exist yet), delete (a workload that changed kind, a
  Gateway that left our classes), list (the implicit Ingress/HTTPProxy fleet's objects
  have no owner: they are found by label to be deleted) and watch (what someone else
  deletes or changes is applied again: providers/kubernetes/discovery.PROVISIONED);
- the Envoy Pods of the provisioned fleets (providers/kubernetes/discovery.PROVISIONED,
  found by label): list, watch (why a Gateway's Envoys are not Ready, for its status);
- Leases in the controller's namespace only (a Role): get, create, update (leader election).

Nothing else: no Events, no writes to Pods, no wildcard.
"""

from __future__ import annotations

from typing import Any

from gateway_contour.providers.kubernetes.discovery import PROVISIONED as WATCHED_BY_LABEL
from gateway_contour.providers.kubernetes.discovery import WANTED
from gateway_contour.provisioner.kube.apply import PLURALS as PROVISIONED

# watched kinds that never get a status from us (the others do)
NO_STATUS = frozenset(
    {
        "Namespace",
        "Service",
        "Secret",
        "ConfigMap",
        "EndpointSlice",
        "IngressClass",
        "ReferenceGrant",
        "TLSCertificateDelegation",
        "ContourDeployment",
    }
)
STATUS_KINDS = frozenset(k for kinds in WANTED.values() for k in kinds) - NO_STATUS
READ_VERBS = ["list", "watch"]
STATUS_VERBS = ["update"]
APPLY_VERBS = ["create", "delete", "list", "patch", "watch"]
LEASE_VERBS = ["create", "get", "update"]


def plural(kind: str) -> str:
    """The resource name of a kind, by the API's own English (all of ours follow it)."""
    lower = kind.lower()
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    return lower + "s"


def _merge(rules: dict[tuple[str, str], set[str]], group: str, resource: str, verbs: Any) -> None:
    rules.setdefault((group, resource), set()).update(verbs)


def cluster_rules() -> list[dict[str, Any]]:
    """The ClusterRole's rules: one rule per (group, verbs), resources sorted."""
    by_resource: dict[tuple[str, str], set[str]] = {}
    for group, kinds in WANTED.items():
        for kind in kinds:
            _merge(by_resource, group, plural(kind), READ_VERBS)
            if kind in STATUS_KINDS:
                _merge(by_resource, group, plural(kind), ["get"])
                _merge(by_resource, group, f"{plural(kind)}/status", STATUS_VERBS)
    for (api_version, _kind), resource in PROVISIONED.items():
        group = api_version.rpartition("/")[0]
        _merge(by_resource, group, resource, APPLY_VERBS)
    for group, kinds in WATCHED_BY_LABEL.items():
        for kind in kinds:
            _merge(by_resource, group, plural(kind), READ_VERBS)
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (group, resource), verbs in by_resource.items():
        grouped.setdefault((group, tuple(sorted(verbs))), []).append(resource)
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
        for (group, verbs), resources in sorted(grouped.items())
    ]


def lease_rules() -> list[dict[str, Any]]:
    return [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": LEASE_VERBS}]
