"""Noticing that someone else deleted or changed what the provisioner applied.

After each apply the provisioner notes every object as the API server stored it
(`AppliedObjects.note`: its generation). On later reconciles `changed_by_others(snapshot)`
compares with the watched copies (the controller watches what it provisions: Services,
Secrets, and by label ServiceAccounts and workloads): an object missing was deleted; one
whose generation is past ours had its spec changed by another field manager. Either is a
reason to apply the fleet again, which (server-side apply with force) brings the object
back and takes our fields back.

The watch trails the apply: a snapshot taken before the watch delivered our own apply also
lacks the object, and applying once more then changes nothing (no write, no event, so no
loop). Telling the two apart would need the deletion's event, and a deletion right after
the apply must not be missed. A watched copy older than the apply (a lower generation) is
not a change. Changes that do not move `generation` (labels, annotations; a Service's or
Secret's content, which have none) are not noticed; deletions of every kind are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway_contour.store.objects import Snapshot

ObjectId = tuple[str, str, str]  # kind, namespace, name


@dataclass
class AppliedObjects:
    # object -> the generation our last apply left it at (None: the kind has none)
    generations: dict[ObjectId, int | None] = field(default_factory=dict)

    def note(self, stored: dict[str, Any]) -> None:
        """`stored`: what the API server answered an apply with."""
        meta = stored.get("metadata") or {}
        key = (str(stored.get("kind")), str(meta.get("namespace")), str(meta.get("name")))
        generation = meta.get("generation")
        self.generations[key] = generation if isinstance(generation, int) else None

    def changed_by_others(self, snapshot: Snapshot) -> str | None:
        """What someone else did to one of the objects ("DaemonSet ns/x was deleted"), or
        None while they are as applied."""
        for key, ours in self.generations.items():
            kind, namespace, name = key
            live = snapshot.get(kind, namespace, name)
            if live is None:
                return f"{kind} {namespace}/{name} is missing"
            generation = (live.get("metadata") or {}).get("generation")
            if ours is not None and isinstance(generation, int) and generation > ours:
                return f"{kind} {namespace}/{name} was changed (generation {generation})"
        return None
