"""Leader election on a coordination.k8s.io/v1 Lease.

Every replica serves xDS; only the leader writes status. A candidate takes the Lease when it
does not exist, when its holder released it, or when nobody renewed it for leaseDuration as
observed on our own clock (we time from when we last saw the Lease change, so clock skew
between replicas does not matter). The leader renews every `renew_period`; if it cannot renew
for leaseDuration it steps down before anyone else may take over. Optimistic concurrency
(resourceVersion) settles races: a 409 means another replica won. On shutdown the leader
releases the Lease the way client-go does (empty holderIdentity, leaseDurationSeconds 1), so
another replica takes over at its next attempt instead of after leaseDuration; the release
is bounded in time, since an unreachable API server must not hold the shutdown up.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import anyio

from gateway_contour.providers.kubernetes.client import TRANSPORT_ERRORS, ApiError, KubeClient

log = logging.getLogger(__name__)

RELEASE_TIMEOUT = 5.0


def _micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float = 15.0,
        renew_period: float = 2.0,
    ) -> None:
        self.client = client
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"
        self.collection = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self.namespace, self.name, self.identity = namespace, name, identity
        self.lease_duration = lease_duration
        self.renew_period = renew_period
        self.is_leader = False
        self.elected = anyio.Event()
        self._observed: tuple[str, float] | None = None  # (resourceVersion, when we saw it)
        self._last_renew = 0.0

    def _spec(self, transitions: int, acquire: str | None) -> dict[str, Any]:
        now = _micro_now()
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.lease_duration),
            "acquireTime": acquire or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    async def _attempt(self) -> bool:
        """One acquire-or-renew; True when we hold the Lease afterwards."""
        try:
            lease = await self.client.get(self.path)
        except ApiError as err:
            if err.status != 404:
                raise
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(0, None),
            }
            try:
                await self.client.request("POST", self.collection, body=body)
            except ApiError as create_err:
                if create_err.status == 409:
                    return False
                raise
            return True
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        rv = lease["metadata"]["resourceVersion"]
        now = time.monotonic()
        if self._observed is None or self._observed[0] != rv:
            self._observed = (rv, now)
        if holder and holder != self.identity:
            duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
            if now - self._observed[1] < duration:
                return False  # someone else holds it and keeps renewing
        mine = holder == self.identity
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if mine else 1)
        lease["spec"] = self._spec(transitions, spec.get("acquireTime") if mine else None)
        try:
            await self.client.request("PUT", self.path, body=lease)
        except ApiError as err:
            if err.status == 409:
                return False
            raise
        return True

    def _set(self, leader: bool) -> None:
        if leader and not self.is_leader:
            log.info("%s became the leader (lease %s/%s)", self.identity, self.namespace, self.name)
            self.elected.set()
        elif not leader and self.is_leader:
            log.warning("%s is no longer the leader", self.identity)
            self.elected = anyio.Event()
        self.is_leader = leader

    async def run(self) -> None:
        try:
            while True:
                try:
                    # a hung request must not outlive the lease (TimeoutError is an OSError)
                    with anyio.fail_after(self.lease_duration / 2):
                        held = await self._attempt()
                    if held:
                        self._last_renew = time.monotonic()
                    self._set(held)
                except (ApiError, *TRANSPORT_ERRORS) as err:
                    log.warning("leader election: %s", err)
                    # step down before the lease could have expired for the others
                    if time.monotonic() - self._last_renew > self.lease_duration * 0.8:
                        self._set(False)
                await anyio.sleep(self.renew_period)
        finally:
            with anyio.CancelScope(shield=True):
                await self.release()

    async def release(self) -> None:
        """Give the Lease up on shutdown, so another replica takes over at once."""
        if not self.is_leader:
            return
        log.info("%s steps down: shutting down", self.identity)
        self.is_leader = False
        self.elected = anyio.Event()
        with anyio.move_on_after(RELEASE_TIMEOUT) as scope:
            try:
                lease = await self.client.get(self.path)
                if (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                    lease["spec"]["holderIdentity"] = ""
                    lease["spec"]["leaseDurationSeconds"] = 1
                    await self.client.request("PUT", self.path, body=lease)
                    log.info("%s released the lease", self.identity)
            except (ApiError, *TRANSPORT_ERRORS) as err:
                log.info("could not release the lease: %s", err)
        if scope.cancelled_caught:
            log.info("could not release the lease within %.0f s", RELEASE_TIMEOUT)
