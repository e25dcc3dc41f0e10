"""The versioned snapshot cache the xDS server serves from.

Owns, per fleet (an Envoy `node.cluster`, i.e. an IR Gateway name), the resources of each
xDS type, and the change notifications streams wait on.

- Each resource is serialized once per content. A `CachedResource` holds the bytes, a
  short content hash used as its version, and its wire encodings (built lazily, once);
  records are interned by (type, name, hash) so a resource shared by several fleets, or
  unchanged across rebuilds, is one object serialized once. A record remembers the message
  it was last made from: handed the very same message object again (the envoy layer reuses
  the messages of unchanged IR objects; messages are never mutated once handed over), it is
  not serialized again at all.
- Per fleet and type a `TypeSnapshot` carries a version over its sorted (name, version)
  pairs: the SotW `version_info`. Unchanged types keep their snapshot object, so streams
  compare by identity first.
- Nothing is served before `mark_ready()`: the controller calls it once every source has
  synced (never an empty or partial world). Streams simply wait.
- `remove_fleet` forgets a fleet: connected Envoys of it keep their last config and get no
  more updates. To empty a fleet on purpose, `set_fleet(fleet, {})`.

All methods are meant to be called from the event loop thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import any_pb2
from google.protobuf.message import Message

from gateway_contour.xds import types, wire

Resources = Mapping[str, Mapping[str, Message]]  # type_url -> name -> message


def content_hash(data: bytes) -> str:
    """Short content hash (16 hex digits) used as a resource version."""
    return hashlib.blake2b(data, digest_size=8).hexdigest()


class CachedResource:
    """One serialized resource version, shared by every fleet and stream that serves it."""

    __slots__ = (
        "__weakref__",
        "_delta_field",
        "_sotw_field",
        "name",
        "source",
        "type_url",
        "value",
        "version",
    )

    def __init__(self, type_url: str, name: str, value: bytes, version: str) -> None:
        self.type_url = type_url
        self.name = name
        self.value = value  # the serialized message
        self.version = version
        self._sotw_field: bytes | None = None
        self._delta_field: bytes | None = None
        # the message last serialized into this record: the same (unmutated) object next
        # time needs no serializing (builders reuse messages of unchanged IR objects)
        self.source: Message | None = None

    @property
    def any(self) -> any_pb2.Any:
        """The resource packed in an Any (a new message each call)."""
        return any_pb2.Any(type_url=self.type_url, value=self.value)

    def sotw_field(self) -> bytes:
        """Encoded DiscoveryResponse.resources entry, built on first use."""
        if self._sotw_field is None:
            self._sotw_field = wire.sotw_resource_field(wire.encode_any(self.type_url, self.value))
        return self._sotw_field

    def delta_field(self) -> bytes:
        """Encoded DeltaDiscoveryResponse.resources entry, built on first use."""
        if self._delta_field is None:
            any_bytes = wire.encode_any(self.type_url, self.value)
            self._delta_field = wire.delta_resource_field(self.name, self.version, any_bytes)
        return self._delta_field

    def __repr__(self) -> str:
        return f"CachedResource({self.type_url.rsplit('.', 1)[-1]} {self.name!r} {self.version})"


def type_version(resources: Mapping[str, CachedResource]) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for name in sorted(resources):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(resources[name].version.encode())
        digest.update(b"\n")
    return digest.hexdigest()


class TypeSnapshot:
    """The resources of one type for one fleet. Treat as immutable."""

    __slots__ = ("resources", "type_url", "version")

    def __init__(self, type_url: str, resources: dict[str, CachedResource]) -> None:
        self.type_url = type_url
        self.resources: Mapping[str, CachedResource] = resources
        self.version = type_version(resources)

    def same_as(self, resources: Mapping[str, CachedResource]) -> bool:
        mine = self.resources
        return len(mine) == len(resources) and all(
            mine.get(name) is record for name, record in resources.items()
        )


_EMPTY: dict[str, TypeSnapshot] = {}


def _empty(type_url: str) -> TypeSnapshot:
    """The shared empty snapshot of a type (stable identity: streams compare by `is`)."""
    found = _EMPTY.get(type_url)
    if found is None:
        found = _EMPTY[type_url] = TypeSnapshot(type_url, {})
    return found


class FleetSnapshot:
    """Every type of one fleet at one generation. Treat as immutable."""

    __slots__ = ("fleet", "generation", "types")

    def __init__(self, fleet: str, types_: dict[str, TypeSnapshot], generation: int) -> None:
        self.fleet = fleet
        self.types: Mapping[str, TypeSnapshot] = types_
        self.generation = generation

    def get(self, type_url: str) -> TypeSnapshot:
        found = self.types.get(type_url)
        return found if found is not None else _empty(type_url)

    def version(self, type_url: str) -> str:
        return self.get(type_url).version


class SnapshotCache:
    """Fleet snapshots, interned serialized resources and change notification."""

    def __init__(self) -> None:
        self._records: weakref.WeakValueDictionary[tuple[str, str, str], CachedResource] = (
            weakref.WeakValueDictionary()
        )
        self._fleets: dict[str, FleetSnapshot] = {}
        self._generations: dict[str, int] = {}  # survives remove_fleet
        self._counter = 0
        self._listeners: dict[str, set[asyncio.Event]] = {}
        self._ready = False
        self.serializations = 0  # messages serialized (a figure for tests and benchmarks)

    # -- readiness -------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._ready

    def mark_ready(self) -> None:
        """Allow serving. Call once every watched source has synced."""
        if self._ready:
            return
        self._ready = True
        for events in self._listeners.values():
            for event in events:
                event.set()

    # -- reading ---------------------------------------------------------------------------

    def fleets(self) -> list[str]:
        return sorted(self._fleets)

    def snapshot(self, fleet: str) -> FleetSnapshot | None:
        return self._fleets.get(fleet)

    def generation(self, fleet: str) -> int:
        """A number that grows each time the fleet changes (0: never set)."""
        return self._generations.get(fleet, 0)

    # -- writing ---------------------------------------------------------------------------

    def intern(self, type_url: str, name: str, message: Message) -> CachedResource:
        """The shared record for this resource content, serializing the message once."""
        full_name = message.DESCRIPTOR.full_name
        if types.type_url_of(full_name) != type_url:
            raise ValueError(f"{name!r}: a {full_name} cannot be served as {type_url}")
        data = message.SerializeToString(deterministic=True)
        self.serializations += 1
        return self._intern_bytes(type_url, name, data)

    def _intern_bytes(self, type_url: str, name: str, data: bytes) -> CachedResource:
        version = content_hash(data)
        key = (type_url, name, version)
        record = self._records.get(key)
        if record is not None and record.value == data:
            return record
        if record is not None:  # a hash collision: fall back to the full digest
            version = hashlib.blake2b(data).hexdigest()
            key = (type_url, name, version)
            record = self._records.get(key)
            if record is not None:
                return record
        record = CachedResource(type_url, name, data, version)
        self._records[key] = record
        return record

    def _records_for(
        self,
        type_url: str,
        messages: Mapping[str, Message],
        current: Mapping[str, CachedResource],
    ) -> dict[str, CachedResource]:
        out: dict[str, CachedResource] = {}
        for name, message in messages.items():
            previous = current.get(name)
            if previous is not None:
                if previous.source is message:
                    out[name] = previous
                    continue
                data = message.SerializeToString(deterministic=True)
                self.serializations += 1
                if data == previous.value:
                    previous.source = message
                    out[name] = previous
                    continue
                out[name] = self._intern_bytes(type_url, name, data)
            else:
                out[name] = self.intern(type_url, name, message)
            out[name].source = message
        return out

    def set_fleet(self, fleet: str, resources: Resources) -> bool:
        """Replace everything a fleet serves. Returns whether anything changed."""
        old = self._fleets.get(fleet)
        new_types: dict[str, TypeSnapshot] = {}
        for type_url, messages in resources.items():
            old_type = old.types.get(type_url) if old else None
            current = old_type.resources if old_type else {}
            records = self._records_for(type_url, messages, current)
            if old_type is not None and old_type.same_as(records):
                new_types[type_url] = old_type
            else:
                new_types[type_url] = TypeSnapshot(type_url, records)
        return self._commit(fleet, old, new_types)

    def set_resources(self, fleet: str, type_url: str, messages: Mapping[str, Message]) -> bool:
        """Replace the resources of one type in one fleet, leaving its other types alone."""
        old = self._fleets.get(fleet)
        new_types = dict(old.types) if old else {}
        old_type = new_types.get(type_url)
        records = self._records_for(type_url, messages, old_type.resources if old_type else {})
        if old_type is not None and old_type.same_as(records):
            return False
        new_types[type_url] = TypeSnapshot(type_url, records)
        return self._commit(fleet, old, new_types)

    def update_resources(
        self,
        type_url: str,
        changes: Mapping[str, Message | None],
        fleets: Iterable[str] | None = None,
    ) -> set[str]:
        """Patch named resources of one type: a message sets it, None deletes it.

        With `fleets=None` a change applies to every fleet that already has a resource of
        that name (the EDS fast path: new endpoints for clusters wherever they are used).
        Each message is serialized once for all fleets. Returns the fleets that changed.
        """
        records: dict[str, CachedResource | None] = {
            name: None if message is None else self.intern(type_url, name, message)
            for name, message in changes.items()
        }
        targets = list(self._fleets) if fleets is None else list(fleets)
        changed: set[str] = set()
        for fleet in targets:
            old = self._fleets.get(fleet)
            old_type = old.types.get(type_url) if old else None
            current: Mapping[str, CachedResource] = old_type.resources if old_type else {}
            patched = dict(current)
            for name, record in records.items():
                if fleets is None and name not in current:
                    continue
                if record is None:
                    patched.pop(name, None)
                else:
                    patched[name] = record
            if old_type is not None and old_type.same_as(patched):
                continue
            if old_type is None and not patched:
                continue
            new_types = dict(old.types) if old else {}
            new_types[type_url] = TypeSnapshot(type_url, patched)
            if self._commit(fleet, old, new_types):
                changed.add(fleet)
        return changed

    def set_endpoints(self, assignments: Mapping[str, Message | None]) -> set[str]:
        """EDS fast path: new ClusterLoadAssignments for every fleet that serves them."""
        return self.update_resources(types.ENDPOINT, assignments)

    def remove_fleet(self, fleet: str) -> bool:
        """Forget a fleet (see the module docstring). Returns whether it existed."""
        if self._fleets.pop(fleet, None) is None:
            return False
        self._bump(fleet)
        return True

    def _commit(
        self, fleet: str, old: FleetSnapshot | None, new_types: dict[str, TypeSnapshot]
    ) -> bool:
        if (
            old is not None
            and old.types.keys() == new_types.keys()
            and all(old.types[t] is snap for t, snap in new_types.items())
        ):
            return False
        self._fleets[fleet] = FleetSnapshot(fleet, new_types, self._bump(fleet))
        return True

    def _bump(self, fleet: str) -> int:
        self._counter += 1
        self._generations[fleet] = self._counter
        for event in self._listeners.get(fleet, ()):
            event.set()
        return self._counter

    # -- watching --------------------------------------------------------------------------

    def add_listener(self, fleet: str, event: asyncio.Event) -> None:
        """Set `event` whenever the fleet changes or the cache becomes ready."""
        self._listeners.setdefault(fleet, set()).add(event)

    def remove_listener(self, fleet: str, event: asyncio.Event) -> None:
        events = self._listeners.get(fleet)
        if events is not None:
            events.discard(event)
            if not events:
                del self._listeners[fleet]

    async def wait_for_change(self, fleet: str, after: int) -> int:
        """Wait until the cache is ready and the fleet's generation is past `after`."""
        event = asyncio.Event()
        self.add_listener(fleet, event)
        try:
            while not (self._ready and self.generation(fleet) > after):
                event.clear()
                await event.wait()
            return self.generation(fleet)
        finally:
            self.remove_listener(fleet, event)

    def stats(self) -> dict[str, Any]:
        """Sizes for logs and metrics."""
        return {
            "fleets": len(self._fleets),
            "records": len(self._records),
            "serializations": self.serializations,
        }
