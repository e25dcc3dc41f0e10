"""Per-object translation results kept from one translation to the next.

Rebuild cost should follow the change: when one route of 10,000 changes, the other 9,999
need not be defaulted, compiled and attached again. A `TranslationCache` (one per pipeline,
passed to every `translate` call) keeps each route's compiled form with the object it came
from, and reuses it while the object is the same (`same_object`) and the inputs compilation
reads (Services, ReferenceGrants) are unchanged. While nothing routes attach to has changed
either (the same `attachment_epoch`), a route's recorded attachment is replayed instead of
computed (translate/gatewayapi/replay.py). Ingresses and root HTTPProxies are kept the same
way in `legacy` (a `LegacyMemo`); a root HTTPProxy's result is a recording replayed while the
proxies it includes are unchanged too (translate/httpproxy/replay.py).

Endpoints are read from the current snapshot on every translation, but the endpoint list of a
Service port is kept while its EndpointSlices are the very same objects (`endpoints`): the
store replaces an object on every change, so identity says "unchanged", and a thousand
clusters need not be re-derived from their slices when one route changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway_contour.ir.model import ClusterEndpoints
from gateway_contour.store.objects import KubeObject, Snapshot

# kinds whose objects compiled routes depend on; any change to them drops every entry
INPUT_KINDS = ("Service", "ReferenceGrant", "BackendTLSPolicy")
# kinds that decide where routes attach (listeners, their certificates, allowedRoutes
# namespace selectors): a change to one starts a new `attachment_epoch`
ATTACHMENT_KINDS = ("GatewayClass", "Gateway", "ListenerSet", "Namespace", "Secret", "ConfigMap")
# kinds an Ingress's or a root HTTPProxy's translation reads besides the objects themselves
# (Services and their annotations, certificates, who may use which certificate)
LEGACY_INPUT_KINDS = ("Service", "Secret", "TLSCertificateDelegation")


def same_object(old: KubeObject, new: KubeObject) -> bool:
    """True when `new` is certainly `old` unchanged, for translation: the same object, the
    same resourceVersion, or (objects with a status subresource, whose status we write) the
    same generation, labels and annotations. The API server bumps `generation` on every
    change of everything but metadata and status, so a status write of ours, which changes
    the resourceVersion, does not make a route or Gateway count as changed."""
    if old is new:
        return True
    old_meta, new_meta = old.get("metadata"), new.get("metadata")
    if not isinstance(old_meta, dict) or not isinstance(new_meta, dict):
        return False
    uid = new_meta.get("uid")
    if not uid or uid != old_meta.get("uid"):
        return False
    version = new_meta.get("resourceVersion")
    if version and version == old_meta.get("resourceVersion"):
        return True
    generation = new_meta.get("generation")
    return (
        generation is not None
        and generation == old_meta.get("generation")
        and new_meta.get("labels") == old_meta.get("labels")
        and new_meta.get("annotations") == old_meta.get("annotations")
        and new_meta.get("deletionTimestamp") == old_meta.get("deletionTimestamp")
    )


def same_objects(old: list[KubeObject] | None, new: list[KubeObject]) -> bool:
    """`same_object` for two lists of objects of one kind in the same (sorted) order."""
    return (
        old is not None
        and len(old) == len(new)
        and all(same_object(a, b) for a, b in zip(old, new, strict=True))
    )


def take_inputs(
    remembered: dict[str, list[KubeObject]], snapshot: Snapshot, kinds: Iterable[str]
) -> bool:
    """Remember the objects of `kinds` in `snapshot`; whether any kind changed since last."""
    changed = False
    for kind in kinds:
        current = snapshot.objects(kind)
        if not same_objects(remembered.get(kind), current):
            changed = True
        remembered[kind] = current
    return changed


def _same_items(old: tuple[KubeObject, ...], new: list[KubeObject]) -> bool:
    return len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True))


class EndpointMemo:
    """Endpoint lists by (namespace, service, port name), valid while the EndpointSlices
    they came from are the same objects. Generational like the rest: a translation keeps
    only what it used."""

    __slots__ = ("_assignments", "_assignments_previous", "_current", "_previous")

    def __init__(self) -> None:
        self._previous: dict[tuple[str, str, str], tuple[tuple[KubeObject, ...], Any]] = {}
        self._current: dict[tuple[str, str, str], tuple[tuple[KubeObject, ...], Any]] = {}
        # cluster name -> (Service, EndpointSlices, ClusterEndpoints made from them)
        self._assignments: dict[str, tuple[Any, tuple[KubeObject, ...], ClusterEndpoints]] = {}
        self._assignments_previous: dict[
            str, tuple[Any, tuple[KubeObject, ...], ClusterEndpoints]
        ] = {}

    def begin(self) -> None:
        if self._current:
            self._previous = self._current
        self._current = {}
        if self._assignments:
            self._assignments_previous = self._assignments
        self._assignments = {}

    def for_cluster(
        self, cluster: str, service: KubeObject | None, slices: list[KubeObject]
    ) -> ClusterEndpoints | None:
        """The ClusterEndpoints made for `cluster` from the very same Service and
        EndpointSlice objects, if this or the last translation made it. Handing out the
        same object also tells the envoy layer it is unchanged (envoy/memo.py)."""
        entry = self._assignments.get(cluster) or self._assignments_previous.get(cluster)
        if entry is None or entry[0] is not service or not _same_items(entry[1], slices):
            return None
        self._assignments[cluster] = entry
        return entry[2]

    def keep_for_cluster(
        self,
        cluster: str,
        service: KubeObject | None,
        slices: list[KubeObject],
        result: ClusterEndpoints,
    ) -> None:
        self._assignments[cluster] = (service, tuple(slices), result)

    def get(self, key: tuple[str, str, str], slices: list[KubeObject]) -> Any:
        entry = self._current.get(key) or self._previous.get(key)
        if entry is None or not _same_items(entry[0], slices):
            return None
        self._current[key] = entry
        return entry[1]

    def put(self, key: tuple[str, str, str], slices: list[KubeObject], result: Any) -> None:
        self._current[key] = (tuple(slices), result)


class LegacyMemo:
    """Translation results of Ingresses and root HTTPProxies, by object: kept while the
    object is the same (`same_object`), no object of LEGACY_INPUT_KINDS changed and neither
    did `fallback_certificate`, the one option they read. What else a result depends on
    (the proxies a root includes) its user checks. Generational, like `EndpointMemo`: a
    translation keeps only the entries it used."""

    __slots__ = ("_current", "_inputs", "_options", "_previous")

    def __init__(self) -> None:
        self._current: dict[tuple[str, str, str], tuple[KubeObject, Any]] = {}
        self._previous: dict[tuple[str, str, str], tuple[KubeObject, Any]] = {}
        self._inputs: dict[str, list[KubeObject]] = {}
        self._options: object = None

    def begin(self, snapshot: Snapshot, fallback_certificate: str | None) -> None:
        changed = take_inputs(self._inputs, snapshot, LEGACY_INPUT_KINDS)
        changed |= fallback_certificate != self._options
        self._options = fallback_certificate
        self._previous = {} if changed else self._current
        self._current = {}

    def get(self, key: tuple[str, str, str], obj: KubeObject) -> Any:
        entry = self._current.get(key) or self._previous.get(key)
        if entry is None or not same_object(entry[0], obj):
            return None
        self._current[key] = entry
        return entry[1]

    def put(self, key: tuple[str, str, str], obj: KubeObject, result: Any) -> None:
        self._current[key] = (obj, result)


class TranslationCache:
    __slots__ = ("_derived", "_inputs", "attachment_epoch", "endpoints", "entries", "legacy")

    def __init__(self) -> None:
        # (kind, namespace, name) -> (source object, cached result); the source object is
        # held so that its identity stays meaningful
        self.entries: dict[tuple[str, str, str], tuple[KubeObject, Any]] = {}
        self._inputs: dict[str, list[KubeObject]] = {}
        self._derived: dict[str, Any] = {}
        self.endpoints = EndpointMemo()
        self.legacy = LegacyMemo()
        # changes whenever something routes attach to may have changed: a route's recorded
        # attachment (translate/gatewayapi/replay.py) is valid only within its epoch
        self.attachment_epoch = 0

    def begin(self, snapshot: Snapshot) -> None:
        """Start a translation of `snapshot`: forget everything if an input kind changed."""
        self.endpoints.begin()
        if take_inputs(self._inputs, snapshot, INPUT_KINDS):
            self.entries.clear()
        if take_inputs(self._inputs, snapshot, ATTACHMENT_KINDS):
            self.attachment_epoch += 1

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
