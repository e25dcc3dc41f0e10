"""List, then watch from the list's resourceVersion, for one kind, into the store.

Semantics: a paginated list replaces everything the store holds of the kind (a relist
reconciles what was missed); the watch resumes from the last resourceVersion seen (events and
bookmarks advance it); 410 Gone -> relist at once; any other failure -> back off and resume.

A 410 comes two ways: as the HTTP status of the watch request, or (more often: the watch
cache answers 200 first) as an ERROR event whose Status has code 410 ("too old resource
version"). A list page whose continue token expired is also 410: the list starts over.

The version to resume from advances with every event applied, so a watch that fails after
an hour of events resumes from its last event, not from the list (whose version etcd has
long compacted: that would force a full relist). A watch the server ends at once, without a
single event, counts as a failure (backoff), so a server that is shutting down is not
hammered.

`synced` is set after the first successful list: no xDS answer is sent before every kind has
synced once, so an Envoy never sees an empty or partial world.

Nothing a user stores stops a watch: each object is decoded with a nesting bound
(`providers.bounded`), and one nested deeper is rejected on its own (a warning naming it,
counted in `rejections` by reason) while the rest of its page or stream is applied. A rejected
object never replaces the version the store holds: the last good one keeps serving (a
deletion, which needs only the name, still applies). Beside it the store gets a placeholder
(`store.rejected`) from which translation makes the object's status; the next version that
can be taken, or the deletion, removes the placeholder. Any other error while applying one
object is logged and the object skipped, never raised out of the loop.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio

from gateway_contour.providers import bounded
from gateway_contour.providers.kubernetes.client import TRANSPORT_ERRORS, ApiError, KubeClient
from gateway_contour.providers.kubernetes.discovery import ApiResource
from gateway_contour.store.objects import KubeObject, key_of
from gateway_contour.store.rejected import REJECTED_KIND, TOO_DEEP, placeholder, placeholder_key
from gateway_contour.store.store import Store

log = logging.getLogger(__name__)

LIST_PAGE = 500
WATCH_SECONDS = 290  # the server ends each watch after this; we resume from the last version
PRODUCTIVE_WATCH_SECONDS = 5.0  # a watch that lasted this long was not a failure
MAX_LIST_RESTARTS = 3  # continue tokens expiring again and again: back off instead
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# a LIST page holds its objects two levels down: {"items": [{...}, ...]}
PAGE_DEPTH = bounded.MAX_DEPTH + 2
APPLY_FAILED = "apply_failed"  # the rejection reason of an object that failed to apply
TOO_DEEP_MESSAGE = f"nests deeper than {bounded.MAX_DEPTH} levels, the controller's decoding bound"


class Gone(Exception):
    """The resourceVersion we watch from was compacted away (HTTP 410)."""


def slim(obj: KubeObject) -> KubeObject:
    """Drop what we never read and that can be large (managed fields, kubectl's copy of the
    whole object); the store's memory is mostly these otherwise."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
    return obj


class Backoff:
    def __init__(self, first: float = 0.2, cap: float = 10.0) -> None:
        self.first, self.cap, self.attempt = first, cap, 0

    async def sleep(self) -> None:
        delay = min(self.cap, self.first * 2**self.attempt) * (0.5 + random.random() / 2)
        self.attempt += 1
        await anyio.sleep(delay)

    def reset(self) -> None:
        self.attempt = 0


class KindWatcher:
    """Keeps one kind (optionally one field-selected part of it) in the store."""

    def __init__(
        self,
        client: KubeClient,
        resource: ApiResource,
        store: Store,
        on_change: Callable[[str], None],
        field_selector: str | None = None,
        selects: Callable[[KubeObject], bool] | None = None,
        label_selector: str | None = None,
    ) -> None:
        self.client = client
        self.resource = resource
        self.store = store
        self.on_change = on_change
        self.field_selector = field_selector
        self.label_selector = label_selector
        self.selects = selects  # what `field_selector` selects, for relists of a part
        self.synced = anyio.Event()
        self.relists = 0  # successful lists, the first one included
        self.gone = 0  # 410s seen (each one is followed by a relist)
        self.events = 0  # ADDED/MODIFIED/DELETED applied
        self.bookmarks = 0
        self.rejections: Counter[str] = Counter()  # objects not taken, by reason
        self.resource_version: str | None = None  # where the next watch starts; None: relist

    def __repr__(self) -> str:
        selectors = [s for s in (self.field_selector, self.label_selector) if s]
        part = f" ({', '.join(selectors)})" if selectors else ""
        return f"<watch {self.resource.kind}{part}>"

    @property
    def rejected(self) -> int:
        """Objects nested deeper than the bound, or that failed to apply."""
        return sum(self.rejections.values())

    def _placeholds_mine(self, stored: KubeObject) -> bool:
        # the placeholders a relist of this watch replaces: of its kind, and of its part
        obj = stored.get("object") or {}
        return obj.get("kind") == self.resource.kind and (self.selects is None or self.selects(obj))

    def _typed(self, obj: KubeObject) -> KubeObject:
        # list items come without kind/apiVersion; the store keys by our kind name
        obj["kind"] = self.resource.kind
        obj["apiVersion"] = self.resource.api_version
        return slim(obj)

    async def _list_pages(self) -> tuple[list[KubeObject], list[KubeObject], str]:
        """Every item, read page by page from one consistent snapshot (no resourceVersion:
        the latest, read from etcd), the placeholders of those rejected, and that snapshot's
        resourceVersion."""
        items: list[KubeObject] = []
        rejected: list[KubeObject] = []
        cont: str | None = None
        while True:
            page, cut = await self.client.get_bounded(
                self.resource.list_path,
                PAGE_DEPTH,
                limit=LIST_PAGE,
                fieldSelector=self.field_selector,
                labelSelector=self.label_selector,
                **{"continue": cont},
            )
            for obj in page.get("items") or []:
                if not cut or not bounded.is_cut(obj):
                    items.append(self._typed(obj))
                else:
                    kept, stand_in = self._reject(obj)
                    rejected.append(stand_in)
                    if kept is not None:
                        items.append(kept)
            cont = page.get("metadata", {}).get("continue")
            if not cont:
                return items, rejected, str(page["metadata"]["resourceVersion"])

    async def relist(self) -> str:
        for attempt in range(MAX_LIST_RESTARTS + 1):
            try:
                items, rejected, rv = await self._list_pages()
                break
            except ApiError as err:
                # the snapshot a continue token points at was compacted: start over
                if err.status != 410 or attempt == MAX_LIST_RESTARTS:
                    raise
                log.info("%r: list continue token expired; listing again", self)
        self.relists += 1
        changed = self.store.replace_kind(self.resource.kind, items, self.selects)
        changed |= self.store.replace_kind(REJECTED_KIND, rejected, self._placeholds_mine)
        if changed:
            self.on_change(self.resource.kind)
        return rv

    async def watch_from(self, rv: str) -> str:
        """Watch from `rv` until the server ends the watch; `resource_version` follows every
        event (also when the watch fails midway). Returns the last version seen."""
        self.resource_version = rv
        params: dict[str, Any] = {
            "watch": "1",
            "resourceVersion": rv,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": WATCH_SECONDS,
            "fieldSelector": self.field_selector,
            "labelSelector": self.label_selector,
        }
        try:
            async for event, cut in self.client.stream_lines(
                self.resource.list_path, params, WATCH_SECONDS
            ):
                rv = self.resource_version = self._handle(event, rv, cut)
        except ApiError as err:
            if err.status == 410:
                raise Gone() from err
            raise
        return rv

    def _reject(self, obj: KubeObject) -> tuple[KubeObject | None, KubeObject]:
        """Count and log an object nested deeper than the bound; the version the store holds
        of it, which keeps serving (None when there is none), and its placeholder."""
        self.rejections[TOO_DEEP] += 1
        obj = self._typed(obj)
        key = key_of(obj)
        log.warning(
            "%r: %s/%s (resourceVersion %s) nests deeper than %d levels: ignored, %s",
            self,
            key.namespace,
            key.name,
            obj.get("metadata", {}).get("resourceVersion"),
            bounded.MAX_DEPTH,
            "its last good version keeps serving" if self.store.get(key) else "not served",
        )
        return self.store.get(key), placeholder(obj, TOO_DEEP, TOO_DEEP_MESSAGE)

    def _handle(self, event: dict[str, Any], rv: str, cut: bool = False) -> str:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise Gone()
            raise ApiError(int(code or 500), obj)
        new_rv = str(obj.get("metadata", {}).get("resourceVersion") or rv)
        if kind == "BOOKMARK":
            self.bookmarks += 1
            return new_rv
        self.events += 1
        obj = self._typed(obj)
        try:
            if kind in ("ADDED", "MODIFIED"):
                if cut and bounded.is_cut(obj):
                    changed = self.store.apply(self._reject(obj)[1])
                else:
                    changed = self.store.apply(obj)
                    changed |= self.store.delete(placeholder_key(key_of(obj)))
            elif kind == "DELETED":
                changed = self.store.delete(key_of(obj))
                changed |= self.store.delete(placeholder_key(key_of(obj)))
            else:
                log.debug("%r: ignoring event type %s", self, kind)
                return new_rv
        except Exception:  # one object's content must never end the watch
            self.rejections[APPLY_FAILED] += 1
            log.exception("%r: could not apply a %s event; skipped", self, kind)
            return new_rv
        if changed:
            log.debug("%s %s changed", kind, key_of(obj))
            self.on_change(self.resource.kind)
        return new_rv

    async def run(self) -> None:
        backoff = Backoff()
        self.resource_version = None
        while True:
            started, seen = time.monotonic(), self.events + self.bookmarks
            try:
                if self.resource_version is None:
                    self.resource_version = await self.relist()
                    self.synced.set()
                await self.watch_from(self.resource_version)
                failed = False
            except Gone:
                self.gone += 1
                log.info("%r: resourceVersion %s is gone; relisting", self, self.resource_version)
                self.resource_version = None
                continue
            except (ApiError, *TRANSPORT_ERRORS, ValueError) as err:
                log.warning("%r: %s; retrying", self, err)
                failed = True
            except Exception:  # a bug must not end the watch of every other object
                log.exception("%r: unexpected failure; retrying", self)
                failed = True
            lasted = time.monotonic() - started >= PRODUCTIVE_WATCH_SECONDS
            productive = lasted or self.events + self.bookmarks > seen
            if productive:
                backoff.reset()  # the watch achieved something: no reason to wait long
            if failed or not productive:
                await backoff.sleep()
