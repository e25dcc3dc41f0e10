"""Everything the controller consumes from one API server, kept in the store.

Discovers the kinds the server has (retrying with backoff while the server is unreachable:
a controller may start before its API server answers), runs one watcher per kind (two for
Secrets: only TLS and Opaque Secrets are ever read, so Helm release Secrets and tokens are
never fetched; and, when the controller provisions in Kubernetes, one per kind it makes,
for the objects it labeled), says when every kind has synced once, and counts the objects
its watches rejected.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable

import anyio

from gateway_contour.providers.kubernetes.client import TRANSPORT_ERRORS, ApiError, KubeClient
from gateway_contour.providers.kubernetes.discovery import (
    PROVISIONED,
    PROVISIONED_SELECTOR,
    WANTED,
    ApiResource,
    discover,
)
from gateway_contour.providers.kubernetes.watch import Backoff, KindWatcher
from gateway_contour.store.objects import KubeObject
from gateway_contour.store.store import Store

log = logging.getLogger(__name__)

SECRET_TYPES = ("kubernetes.io/tls", "Opaque")


def _of_type(secret_type: str) -> Callable[[KubeObject], bool]:
    return lambda obj: obj.get("type") == secret_type


class KubernetesSource:
    def __init__(
        self,
        client: KubeClient,
        store: Store,
        on_change: Callable[[str], None],
        provisioned: bool = False,
    ) -> None:
        """`provisioned`: also watch what the Kubernetes provisioner makes (our labels only)."""
        self.client = client
        self.store = store
        self.on_change = on_change
        self.wanted = dict(WANTED)
        self.labeled: set[str] = set()  # kinds watched by PROVISIONED_SELECTOR
        if provisioned:
            for group, kinds in PROVISIONED.items():
                self.wanted[group] = (*self.wanted.get(group, ()), *kinds)
                self.labeled.update(kinds)
        self.watchers: list[KindWatcher] = []
        self.resources: dict[str, ApiResource] = {}
        self.synced = anyio.Event()

    async def _discover(self) -> dict[str, ApiResource]:
        backoff = Backoff()
        while True:
            try:
                return await discover(self.client, self.wanted)
            except (ApiError, *TRANSPORT_ERRORS, ValueError) as err:
                log.warning("discovery failed: %s; retrying", err)
                await backoff.sleep()

    async def _make_watchers(self) -> list[KindWatcher]:
        self.resources = resources = await self._discover()
        watchers = []
        for kind in sorted(resources):
            watch = functools.partial(
                KindWatcher, self.client, resources[kind], self.store, self.on_change
            )
            if kind == "Secret":
                for secret_type in SECRET_TYPES:
                    selector = f"type={secret_type}"
                    watchers.append(watch(field_selector=selector, selects=_of_type(secret_type)))
            elif kind in self.labeled:
                watchers.append(watch(label_selector=PROVISIONED_SELECTOR))
            else:
                watchers.append(watch())
        return watchers

    def rejections(self) -> dict[tuple[str, str], int]:
        """Objects the watches could not take since start, by (kind, reason)."""
        totals: Counter[tuple[str, str]] = Counter()
        for watcher in self.watchers:
            for reason, count in watcher.rejections.items():
                totals[(watcher.resource.kind, reason)] += count
        return dict(totals)

    async def run(self) -> None:
        self.watchers = await self._make_watchers()
        async with anyio.create_task_group() as tg:
            for watcher in self.watchers:
                tg.start_soon(watcher.run)
            for watcher in self.watchers:
                await watcher.synced.wait()
            log.info("every kind synced (%d watches)", len(self.watchers))
            self.synced.set()
