"""Envoy messages kept from one build to the next, keyed by the IR value they came from.

IR objects are frozen, hashable values: an IR Cluster (or ClusterEndpoints, or Secret) equal
to one built last time gives the same Envoy message, so `build_resources` reuses that message
object instead of building it again. Reusing the very object also lets the xDS cache skip
serializing it (it remembers which message each serialized record came from).

The very same IR object is found by identity first, without hashing it (translation hands
out the same objects for unchanged sources). An equal but new object is found by value only
if the last build looked its twin up by value, not by identity: then it is built again, which
costs a build, never a wrong message. Routes (`find`/`keep`) are kept by identity only.

Generational: a build keeps only what it used, so entries for IR values that went away are
dropped at the next build and the memo never grows past one build's worth. Messages handed
out are shared: nobody may mutate them (nothing in the envoy layer does after building).
One build at a time may use a memo.

Only standalone messages may be kept, never a part of a bigger message: with upb (the
protobuf backend) a sub-message shares its parent's arena and keeps all of it alive. A route
built in place inside its RouteConfiguration and kept here held every superseded
configuration in memory for as long as that route stayed unchanged (issue 23: 66 -> 1,162
MiB over 500 route changes); routes are now built alone and copied into the configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


class BuildMemo:
    __slots__ = ("_current", "_ids", "_ids_previous", "_previous", "hits", "misses")

    def __init__(self) -> None:
        self._previous: dict[tuple[str, Hashable], Message] = {}
        self._current: dict[tuple[str, Hashable], Message] = {}
        # (kind, id(value)) -> (value, message): the very same IR object again (the usual
        # case: translation reuses the IR of unchanged objects) is found without hashing
        # it, which for a frozen dataclass means hashing every field, recursively
        self._ids: dict[tuple[str, int], tuple[object, Message]] = {}
        self._ids_previous: dict[tuple[str, int], tuple[object, Message]] = {}
        self.hits = 0
        self.misses = 0

    def begin(self) -> None:
        """Start a build: what the last build used stays available, the rest is dropped."""
        if self._current or self._ids:
            self._previous = self._current
            self._ids_previous = self._ids
        self._current = {}
        self._ids = {}

    def _known(self, id_key: tuple[str, int], value: object) -> Message | None:
        known = self._ids.get(id_key) or self._ids_previous.get(id_key)
        if known is None or known[0] is not value:
            return None
        self.hits += 1
        self._ids[id_key] = known
        return known[1]

    def get(self, kind: str, value: Hashable, make: Callable[[], M]) -> M:
        """The message for `value` (an IR object), made by `make` unless already known."""
        id_key = (kind, id(value))
        known = self._known(id_key, value)
        if known is not None:
            return known
        key = (kind, value)
        try:
            found = self._current.get(key)
        except TypeError:  # an IR value holding something unhashable: build it every time
            return make()
        if found is None:
            found = self._previous.get(key)
            if found is None:
                found = make()
                self.misses += 1
            else:
                self.hits += 1
            self._current[key] = found
        self._ids[id_key] = (value, found)
        return found

    def find(self, kind: str, value: object) -> Message | None:
        """For values cheap to build but costly to hash (routes): the message kept for the
        very same object by this or the last build, or None (then build it and `keep`)."""
        return self._known((kind, id(value)), value)

    def keep(self, kind: str, value: object, message: Message) -> None:
        self.misses += 1
        self._ids[(kind, id(value))] = (value, message)

    def __len__(self) -> int:
        """IR objects this build asked for."""
        return len(self._ids)
