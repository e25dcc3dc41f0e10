"""Writes the StatusReport to the API server: only differences, once per object per rebuild.

For each object the report names, the desired status is merged with the live one (see
`merge`); nothing is sent when they agree. A write is a PUT of the status subresource with the
object's resourceVersion; a conflict refetches the object and merges again. Writes run
concurrently (bounded) so that a thousand route statuses do not queue behind each other.
Only the leader calls this.

The live version of an object a provider rejected (store/rejected.py) is its placeholder's:
the status written is for the version rejected, with that version's resourceVersion. Answers
(the PUT's, a refetch after a conflict) are decoded with the providers' nesting bound, since
they carry the whole object, however deep its user nested it.

A write that fails for a transient reason (the API server unreachable or restarting, 429 or a
5xx) is counted as `retryable`: the caller writes the report again later, because no watch
event may come to trigger another rebuild. Any other failure (a 4xx) is not retried: the same
body would fail the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio

from gateway_contour.providers import bounded
from gateway_contour.providers.kubernetes.client import TRANSPORT_ERRORS, ApiError, KubeClient
from gateway_contour.providers.kubernetes.discovery import ApiResource
from gateway_contour.status.merge import SHARED_LISTS, merge_status
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import KubeObject, ObjectKey, Snapshot
from gateway_contour.store.rejected import REJECTED_KIND, placeholder_name, rejection

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 5
# objects compared between two yields to the event loop
YIELD_EVERY = 256


def now_rfc3339() -> str:
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteStats:
    writes: int = 0
    skipped: int = 0
    conflicts: int = 0
    failures: int = 0
    retryable: int = 0  # failures worth retrying later (part of `failures`)


def _live(snapshot: Snapshot, key: ObjectKey) -> KubeObject | None:
    """The object as the API server has it now: a rejected version's placeholder over the
    last good version the store keeps serving."""
    stand_in = snapshot.get(REJECTED_KIND, key.namespace, placeholder_name(key))
    if stand_in is not None and (said := rejection(stand_in)) is not None:
        return said.obj
    return snapshot.get(key.kind, key.namespace, key.name)


def _transient(err: ApiError) -> bool:
    return err.status == 429 or err.status >= 500


class StatusWriter:
    def __init__(
        self,
        client: KubeClient,
        resources: dict[str, ApiResource],
        controller_name: str,
        concurrency: int = 16,
    ) -> None:
        self.client = client
        self.resources = resources
        self.controller_name = controller_name
        self.limiter = anyio.CapacityLimiter(concurrency)
        self.total = WriteStats()
        # key -> (resourceVersion our last write replaced, what that write made: its new
        # resourceVersion and status); see `_fresher`
        self._written: dict[ObjectKey, tuple[str, KubeObject]] = {}
        # key -> (desired status, live status) last found in agreement: the same two objects
        # again need no comparison (translation hands out the very same desired status for
        # an unchanged route, the store the very same live object)
        self._settled: dict[ObjectKey, tuple[Any, Any]] = {}

    def _fresher(self, key: ObjectKey, live: KubeObject) -> KubeObject:
        """`live`, or what our own last write made of it when `live` is the version that
        write replaced: the snapshot was taken before the write's watch event came back.
        Without this a write right after a write conflicts (a PUT, a 409, a GET) or repeats."""
        mine = self._written.get(key)
        if mine is None:
            return live
        if mine[0] == (live.get("metadata") or {}).get("resourceVersion"):
            return mine[1]
        del self._written[key]  # the snapshot has caught up: forget it (memory)
        return live

    def _remember(self, key: ObjectKey, before: KubeObject, after: Any) -> None:
        rv = before["metadata"].get("resourceVersion")
        new_rv = ((after or {}).get("metadata") or {}).get("resourceVersion")
        if rv and new_rv:
            slim = {"metadata": {"resourceVersion": new_rv}, "status": after.get("status")}
            self._written[key] = (rv, slim)

    def _stale_route_entries(
        self, report: StatusReport, snapshot: Snapshot
    ) -> dict[ObjectKey, dict[str, Any]]:
        """Routes (and policies) that carry a status entry of ours but are no longer ours:
        clear it."""
        out: dict[ObjectKey, dict[str, Any]] = {}
        for kind, (list_field, _ref) in SHARED_LISTS.items():
            for obj in snapshot.objects(kind):
                meta = obj["metadata"]
                key = ObjectKey(kind, meta.get("namespace") or "", meta["name"])
                if key in report.statuses:
                    continue
                entries = (obj.get("status") or {}).get(list_field) or []
                if any(p.get("controllerName") == self.controller_name for p in entries):
                    out[key] = {list_field: []}
        return out

    async def write(self, report: StatusReport, snapshot: Snapshot) -> WriteStats:
        stats = WriteStats()
        desired_all = {**self._stale_route_entries(report, snapshot), **report.statuses}
        self._written = {k: v for k, v in self._written.items() if k in desired_all}
        if len(self._settled) > len(desired_all):
            self._settled = {k: v for k, v in self._settled.items() if k in desired_all}
        now = now_rfc3339()
        async with anyio.create_task_group() as tg:
            for n, (key, desired) in enumerate(desired_all.items(), 1):
                if n % YIELD_EVERY == 0:
                    await anyio.sleep(0)  # xDS pushes go first: they are what users wait for
                live = _live(snapshot, key)
                if live is None or key.kind not in self.resources:
                    continue
                live = self._fresher(key, live)
                # most objects already say it: skip them here, without a task each
                status = live.get("status")
                settled = self._settled.get(key)
                if settled is not None and settled[0] is desired and settled[1] is status:
                    stats.skipped += 1
                    continue
                if merge_status(key.kind, desired, status, self.controller_name, now) is None:
                    self._settled[key] = (desired, status)
                    stats.skipped += 1
                    continue
                tg.start_soon(self._write_one, key, desired, live, stats)
        for field in ("writes", "skipped", "conflicts", "failures", "retryable"):
            setattr(self.total, field, getattr(self.total, field) + getattr(stats, field))
        return stats

    async def _write_one(
        self, key: ObjectKey, desired: dict[str, Any], live: KubeObject, stats: WriteStats
    ) -> None:
        try:
            await self._write_with_retries(key, desired, live, stats)
        except TRANSPORT_ERRORS as err:
            # the API server is unreachable (restarting, partitioned): try again later
            stats.failures += 1
            stats.retryable += 1
            log.warning("status write for %s failed: %r", key, err)

    async def _write_with_retries(
        self, key: ObjectKey, desired: dict[str, Any], live: KubeObject, stats: WriteStats
    ) -> None:
        resource = self.resources[key.kind]
        path = resource.object_path(key.namespace, key.name) + "/status"
        async with self.limiter:
            for _ in range(MAX_CONFLICT_RETRIES):
                merged = merge_status(
                    key.kind, desired, live.get("status"), self.controller_name, now_rfc3339()
                )
                if merged is None:
                    stats.skipped += 1
                    return
                body = {
                    "apiVersion": resource.api_version,
                    "kind": resource.served_kind,
                    "metadata": {
                        "name": key.name,
                        **({"namespace": key.namespace} if key.namespace else {}),
                        "resourceVersion": live["metadata"].get("resourceVersion"),
                    },
                    "status": merged,
                }
                try:
                    written, _ = await self.client.request_bounded(
                        "PUT", path, bounded.MAX_DEPTH, body=body
                    )
                    stats.writes += 1
                    self._remember(key, live, written)
                    return
                except ApiError as err:
                    if err.status == 404:
                        return  # deleted meanwhile; nothing to report on
                    if err.status != 409:
                        stats.failures += 1
                        stats.retryable += _transient(err)
                        log.warning("status write for %s failed: %s", key, err)
                        return
                    stats.conflicts += 1
                    try:
                        live, _ = await self.client.get_bounded(
                            resource.object_path(key.namespace, key.name), bounded.MAX_DEPTH
                        )
                    except ApiError as get_err:
                        if get_err.status != 404:
                            stats.failures += 1
                            stats.retryable += _transient(get_err)
                            log.warning("refetching %s failed: %s", key, get_err)
                        return
            stats.failures += 1
            stats.retryable += 1
            log.warning("status write for %s kept conflicting; giving up this round", key)
