"""Object identity and the immutable snapshot translation reads.

Objects are kept as the plain JSON-shaped dicts Kubernetes serves (fast to load, no model
layer between us and the spec's field names). A Snapshot is never mutated after it is made.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

KubeObject = dict[str, Any]


class ObjectKey(NamedTuple):
    kind: str
    namespace: str  # "" for cluster-scoped objects
    name: str

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind} {self.namespace}/{self.name}"
        return f"{self.kind} {self.name}"


def key_of(obj: Mapping[str, Any]) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return ObjectKey(str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta["name"]))


class Snapshot:
    """A read-only view of every object at one moment, indexed by kind then (namespace, name)."""

    __slots__ = ("_by_kind", "_sorted", "version")

    def __init__(
        self, by_kind: Mapping[str, Mapping[tuple[str, str], KubeObject]], version: int = 0
    ) -> None:
        self._by_kind = by_kind
        self._sorted: dict[str, list[KubeObject]] = {}
        self.version = version

    def get(self, kind: str, namespace: str, name: str) -> KubeObject | None:
        return self._by_kind.get(kind, {}).get((namespace, name))

    def objects(self, kind: str) -> list[KubeObject]:
        """Objects of `kind`, sorted by (namespace, name): translation output is deterministic."""
        cached = self._sorted.get(kind)
        if cached is None:
            objs = self._by_kind.get(kind, {})
            cached = [objs[k] for k in sorted(objs)]
            self._sorted[kind] = cached
        return cached

    def in_namespace(self, kind: str, namespace: str) -> Iterator[KubeObject]:
        return (o for o in self.objects(kind) if o["metadata"].get("namespace") == namespace)

    def count(self, kind: str) -> int:
        return len(self._by_kind.get(kind, {}))

    def kinds(self) -> list[str]:
        return sorted(k for k, v in self._by_kind.items() if v)

    @classmethod
    def of(cls, objects: list[KubeObject]) -> Snapshot:
        """A snapshot of a plain list of objects (tests, the files provider)."""
        by_kind: dict[str, dict[tuple[str, str], KubeObject]] = {}
        for obj in objects:
            key = key_of(obj)
            by_kind.setdefault(key.kind, {})[(key.namespace, key.name)] = obj
        return cls(by_kind)
