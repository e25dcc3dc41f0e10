"""Envoy messages kept from one build to the next, keyed by the IR value they came from.

IR objects are frozen, hashable values: an IR Cluster (or ClusterEndpoints, or Secret) equal
to one built last time gives the same Envoy message, so `build_resources` reuses that message
object instead of building it again. Reusing the very object also lets the xDS cache skip
serializing it (it remembers which message each serialized record came from).

Generational: a build keeps only what it used, so entries for IR values that went away are
dropped at the next build and the memo never grows past one build's worth. Messages handed
out are shared: nobody may mutate them (nothing in the envoy layer does after building).
One build at a time may use a memo.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


class BuildMemo:
    __slots__ = ("_current", "_previous", "hits", "misses")

    def __init__(self) -> None:
        self._previous: dict[tuple[str, Hashable], Message] = {}
        self._current: dict[tuple[str, Hashable], Message] = {}
        self.hits = 0
        self.misses = 0

    def begin(self) -> None:
        """Start a build: what the last build used stays available, the rest is dropped."""
        if self._current:
            self._previous = self._current
        self._current = {}

    def get(self, kind: str, value: Hashable, make: Callable[[], M]) -> M:
        """The message for `value` (an IR object), made by `make` unless already known."""
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
        return found

    def __len__(self) -> int:
        return len(self._current)
