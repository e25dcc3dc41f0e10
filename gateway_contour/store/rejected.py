"""Placeholders for objects a provider read but could not take (nested deeper than the bound).

A rejected object is not stored under its own kind: the last version that could be taken (if
any) keeps serving there. What the store holds instead, beside it, is a placeholder of kind
`REJECTED_KIND` naming the object (kind, namespace, name, generation, uid, resourceVersion,
its top-level and spec-level scalars such as `spec.ingressClassName`, its status) and why it
was rejected. Translation
turns each placeholder into a status on the object (translate/rejected.py), so the status is
produced by the build and written by the status writer like any other: the provider never
writes status itself, and the pipeline stays one-way.

Placeholders live in their own kind so the kinds translation reads hold only objects it can
read; they are keyed `<Kind>/<name>` in the object's namespace, so one store kind holds the
placeholders of every kind without collisions.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from gateway_contour.store.objects import KubeObject, ObjectKey, key_of

REJECTED_KIND = "RejectedObject"
API_VERSION = "internal.gateway-contour/v1"  # no API server serves it: only providers make it
TOO_DEEP = "too_deep"  # the reason a provider gives for an object nested past its bound
_KEPT_METADATA = ("name", "namespace", "uid", "generation", "resourceVersion", "labels")


class Rejection(NamedTuple):
    """A placeholder read back: the object it stands for and why it was rejected."""

    key: ObjectKey  # the rejected object's own key
    obj: KubeObject  # what survives of it (metadata and shallow scalars)
    reason: str  # a metric label value, e.g. TOO_DEEP
    message: str  # for a status condition


def _scalars(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, str | int | float | bool)}


def placeholder(obj: KubeObject, reason: str, message: str) -> KubeObject:
    """The placeholder that stands for `obj` (which must have kind and metadata.name)."""
    key = key_of(obj)
    meta = obj.get("metadata") or {}
    kept_meta = {k: meta[k] for k in _KEPT_METADATA if k in meta}
    if "annotations" in meta:
        kept_meta["annotations"] = _scalars(meta["annotations"])
    survivor: KubeObject = {**_scalars(obj), "metadata": kept_meta}
    if spec := _scalars(obj.get("spec")):
        survivor["spec"] = spec
    if isinstance(obj.get("status"), dict):  # ours, which the status writer compares with
        survivor["status"] = obj["status"]
    return {
        "apiVersion": API_VERSION,
        "kind": REJECTED_KIND,
        "metadata": {"namespace": key.namespace, "name": placeholder_name(key)},
        "object": survivor,
        "reason": reason,
        "message": message,
    }


def placeholder_name(key: ObjectKey) -> str:
    return f"{key.kind}/{key.name}"


def placeholder_key(key: ObjectKey) -> ObjectKey:
    """Where the placeholder for the object `key` is stored."""
    return ObjectKey(REJECTED_KIND, key.namespace, placeholder_name(key))


def rejection(stored: KubeObject) -> Rejection | None:
    """What the placeholder `stored` says; None for one not made by `placeholder` (in
    standalone mode a file may hold anything, this kind included)."""
    obj = stored.get("object")
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        return None
    if not isinstance(obj["metadata"].get("name"), str):
        return None
    return Rejection(key_of(obj), obj, str(stored.get("reason")), str(stored.get("message")))
