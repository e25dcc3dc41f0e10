"""Why a provisioned fleet has no Envoy that can serve: read from its Pods.

The controller watches the Pods of the fleets it provisions (by their labels, as the other
provisioned kinds). `fleet_problem` says what keeps every Envoy Pod of one Gateway from
becoming Ready, when nothing will fix it by waiting: an image that cannot be pulled, a
container that keeps crashing or cannot be created, a Pod no node can take. A Pod that is
merely starting (ContainerCreating, PodInitializing, an image being pulled) is no problem,
nor is any failing Pod while another Envoy of the fleet is Ready (a rolling update to a bad
image keeps the old Pods serving; the Gateway still serves).

The provisioner turns the problem into the Gateway's Programmed condition (False, reason
NoResources: the Gateway API reason for infrastructure that cannot be had).
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.data import dicts, mapping, text

# container waiting reasons of the kubelet that waiting does not cure
STUCK_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
MESSAGE_LIMIT = 512  # of each kubelet message quoted (image pull errors can be long)


def pod_ready(pod: KubeObject) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in dicts(mapping(pod.get("status")).get("conditions"))
    )


def pod_problem(pod: KubeObject) -> str | None:
    """Why this Pod cannot become Ready without someone changing something, or None."""
    status = mapping(pod.get("status"))
    for condition in dicts(status.get("conditions")):
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "Unschedulable":
            return f"unschedulable: {text(condition.get('message'))[:MESSAGE_LIMIT]}"
    statuses = [
        *dicts(status.get("initContainerStatuses")),
        *dicts(status.get("containerStatuses")),
    ]
    for container in statuses:
        waiting = mapping(mapping(container.get("state")).get("waiting"))
        reason = text(waiting.get("reason"))
        if reason in STUCK_REASONS:
            message = text(waiting.get("message"))[:MESSAGE_LIMIT]
            said = f"{reason}: {message}" if message else reason
            return f"container {text(container.get('name'))}: {said}"
    return None


def fleet_problem(pods: Iterable[KubeObject]) -> str | None:
    """The first stuck Pod's problem, when no Pod of the fleet is Ready; else None."""
    found: list[tuple[str, str]] = []
    for pod in pods:
        if pod_ready(pod):
            return None
        problem = pod_problem(pod)
        if problem is not None:
            found.append((text(mapping(pod.get("metadata")).get("name")), problem))
    if not found:
        return None
    name, problem = min(found)
    return f"no Envoy of the Gateway is ready: Pod {name}, {problem}"


def gateway_pods(snapshot: Snapshot, namespace: str, labels: dict[str, str]) -> list[KubeObject]:
    """The Pods in `namespace` that carry every one of `labels` (a fleet's selector)."""
    return [
        pod
        for pod in snapshot.in_namespace("Pod", namespace)
        if all(
            mapping(mapping(pod.get("metadata")).get("labels")).get(k) == v
            for k, v in labels.items()
        )
    ]
