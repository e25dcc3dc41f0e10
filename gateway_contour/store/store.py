"""The mutable store providers write into; it hands out immutable Snapshots.

`apply` and `delete` say whether the change can matter, so a provider can skip a rebuild
for a no-op update (a resync that changes nothing, a status-only write of our own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway_contour.store.objects import KubeObject, ObjectKey, Snapshot, key_of

# metadata fields that change on every write but never change what we serve
_VOLATILE_METADATA = ("resourceVersion", "managedFields")


def _content(obj: KubeObject) -> tuple[Any, ...]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    body = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    # status matters only for the kinds whose status we read (none of ours write it back in):
    # a Service's load balancer addresses become its Gateway's (provisioner/kube)
    if obj.get("kind") == "Service":
        body["status"] = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")
    # and an Envoy Pod's readiness and what keeps it from starting (provisioner/kube/health)
    elif obj.get("kind") == "Pod":
        body["status"] = _pod_state(obj.get("status") or {})
    return (meta, body)


def _pod_state(status: dict[str, Any]) -> tuple[Any, ...]:
    """A Pod's conditions and container states without their timestamps and messages: the
    kubelet rewrites those on every probe and restart count, and they never change what a
    Pod's fleet status says."""
    conditions = tuple(
        (c.get("type"), c.get("status"), c.get("reason"))
        for c in status.get("conditions") or ()
        if isinstance(c, dict)
    )
    containers = tuple(
        (
            c.get("name"),
            c.get("ready"),
            repr(sorted(state)),
            (state.get("waiting") or {}).get("reason"),
        )
        for part in ("initContainerStatuses", "containerStatuses")
        for c in status.get(part) or ()
        if isinstance(c, dict) and isinstance(state := c.get("state") or {}, dict)
    )
    return (conditions, containers)


class Store:
    def __init__(self) -> None:
        self._by_kind: dict[str, dict[tuple[str, str], KubeObject]] = {}
        self._version = 0
        self._snapshot: Snapshot | None = None

    def apply(self, obj: KubeObject) -> bool:
        """Insert or replace `obj`; True when its content changed."""
        key = key_of(obj)
        objs = self._by_kind.setdefault(key.kind, {})
        old = objs.get((key.namespace, key.name))
        objs[(key.namespace, key.name)] = obj
        if old is not None and _content(old) == _content(obj):
            return False
        self._changed()
        return True

    def get(self, key: ObjectKey) -> KubeObject | None:
        return self._by_kind.get(key.kind, {}).get((key.namespace, key.name))

    def delete(self, key: ObjectKey) -> bool:
        """Remove the object; True when it was there."""
        objs = self._by_kind.get(key.kind, {})
        if objs.pop((key.namespace, key.name), None) is None:
            return False
        self._changed()
        return True

    def replace_kind(
        self,
        kind: str,
        objects: list[KubeObject],
        where: Callable[[KubeObject], bool] | None = None,
    ) -> bool:
        """Make `kind` hold exactly `objects` (a relist); True when anything changed.

        With `where`, only the stored objects it selects are replaced (the relist of a
        filtered watch, e.g. Secrets of one type); the others stay.
        """
        new = {(key_of(o).namespace, key_of(o).name): o for o in objects}
        current = self._by_kind.get(kind, {})
        old = {k: o for k, o in current.items() if where is None or where(o)}
        changed = old.keys() != new.keys() or any(_content(old[k]) != _content(new[k]) for k in new)
        kept = {k: o for k, o in current.items() if k not in old}
        self._by_kind[kind] = {**kept, **new}
        if changed:
            self._changed()
        return changed

    def keys(self, kind: str) -> list[ObjectKey]:
        return [ObjectKey(kind, ns, name) for ns, name in self._by_kind.get(kind, {})]

    def snapshot(self) -> Snapshot:
        """An immutable view; cheap when nothing changed since the last call."""
        if self._snapshot is None:
            frozen = {kind: dict(objs) for kind, objs in self._by_kind.items()}
            self._snapshot = Snapshot(frozen, self._version)
        return self._snapshot

    def _changed(self) -> None:
        self._version += 1
        self._snapshot = None
