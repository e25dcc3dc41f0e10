"""Per-object translation results kept from one translation to the next.

Rebuild cost should follow the change: when one route of 10,000 changes, the other 9,999
need not be defaulted and compiled again. A `TranslationCache` (one per pipeline, passed to
every `translate` call) keeps each route's compiled form with the object it came from, and
reuses it while the object is the same (the same dict, or the same uid and resourceVersion)
and the inputs compilation reads (Services, ReferenceGrants) are unchanged.

Endpoints are read from the current snapshot on every translation, but the endpoint list of a
Service port is kept while its EndpointSlices are the very same objects (`endpoints`): the
store replaces an object on every change, so identity says "unchanged", and a thousand
clusters need not be re-derived from their slices when one route changes.
"""

from __future__ import annotations

from typing import Any

from gateway_contour.store.objects import KubeObject, Snapshot

# kinds whose objects compiled routes depend on; any change to them drops every entry
INPUT_KINDS = ("Service", "ReferenceGrant", "BackendTLSPolicy")


def same_object(old: KubeObject, new: KubeObject) -> bool:
    """True when `new` is certainly `old` unchanged."""
    if old is new:
        return True
    old_meta, new_meta = old.get("metadata"), new.get("metadata")
    if not isinstance(old_meta, dict) or not isinstance(new_meta, dict):
        return False
    version = new_meta.get("resourceVersion")
    return (
        bool(version)
        and version == old_meta.get("resourceVersion")
        and new_meta.get("uid") == old_meta.get("uid")
    )


class EndpointMemo:
    """Endpoint lists by (namespace, service, port name), valid while the EndpointSlices
    they came from are the same objects. Generational like the rest: a translation keeps
    only what it used."""

    __slots__ = ("_current", "_previous")

    def __init__(self) -> None:
        self._previous: dict[tuple[str, str, str], tuple[tuple[KubeObject, ...], Any]] = {}
        self._current: dict[tuple[str, str, str], tuple[tuple[KubeObject, ...], Any]] = {}

    def begin(self) -> None:
        if self._current:
            self._previous = self._current
        self._current = {}

    def get(self, key: tuple[str, str, str], slices: list[KubeObject]) -> Any:
        entry = self._current.get(key) or self._previous.get(key)
        if entry is None or len(entry[0]) != len(slices):
            return None
        if not all(a is b for a, b in zip(entry[0], slices, strict=True)):
            return None
        self._current[key] = entry
        return entry[1]

    def put(self, key: tuple[str, str, str], slices: list[KubeObject], result: Any) -> None:
        self._current[key] = (tuple(slices), result)


class TranslationCache:
    __slots__ = ("_derived", "_inputs", "endpoints", "entries")

    def __init__(self) -> None:
        # (kind, namespace, name) -> (source object, cached result); the source object is
        # held so that its identity stays meaningful
        self.entries: dict[tuple[str, str, str], tuple[KubeObject, Any]] = {}
        self._inputs: dict[str, list[KubeObject]] = {}
        self._derived: dict[str, Any] = {}
        self.endpoints = EndpointMemo()

    def begin(self, snapshot: Snapshot) -> None:
        """Start a translation of `snapshot`: forget everything if an input kind changed."""
        self.endpoints.begin()
        changed = False
        for kind in INPUT_KINDS:
            current = snapshot.objects(kind)
            previous = self._inputs.get(kind)
            if (
                previous is None
                or len(previous) != len(current)
                or not all(same_object(a, b) for a, b in zip(previous, current, strict=True))
            ):
                changed = True
            self._inputs[kind] = current
        if changed:
            self.entries.clear()

    def depend(self, name: str, value: Any) -> None:
        """A derived input of compilation (e.g. which BackendTLSPolicies are usable, which
        depends on ConfigMaps no route names): forget everything when it changed. Cheaper
        than watching a whole kind that changes for unrelated reasons."""
        if name in self._derived and self._derived[name] != value:
            self.entries.clear()
        self._derived[name] = value

    def get(self, key: tuple[str, str, str], obj: KubeObject) -> Any:
        entry = self.entries.get(key)
        if entry is not None and same_object(entry[0], obj):
            return entry[1]
        return None

    def put(self, key: tuple[str, str, str], obj: KubeObject, result: Any) -> None:
        self.entries[key] = (obj, result)

    def retain(self, keys: set[tuple[str, str, str]]) -> None:
        """Drop the entries of objects that are gone."""
        for key in [k for k in self.entries if k not in keys]:
            del self.entries[key]
