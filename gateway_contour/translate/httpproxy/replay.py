"""One root HTTPProxy's translation as a recording, applied now and replayed later while
nothing it read has changed.

Translating a root touches more than the root: it marks the proxies it includes reached and
gives them errors and warnings, adds clusters and Secrets to the IR, and, when valid, claims
its fqdn on the implicit fleet and adds its virtual hosts. So a root is translated inside a
`RootScope`: it works on copies of the statuses it touches (taken at first touch, noting
whether the proxy was valid then), looks proxies up through a view that records what it found
(or did not), and collects the clusters and Secrets it adds; the virtual hosts are returned,
not added. `RootOutcome` holds all of that, and `apply` makes it take effect: status
changes merged, clusters and Secrets added, the fqdn claimed and, if the claim succeeds, the
hosts added (with their certificates). A fresh translation and a replayed one take that same
path.

A kept outcome (translate/cache.py `LegacyMemo`: the root unchanged, and Services, Secrets,
delegations and the fallback certificate too) is replayed only while `still_valid`: every
proxy it looked up is the same object (or still missing), and every proxy whose status it
touched is as valid as it was then. The second is an input because an error that an earlier
root gave a shared child makes that child contribute no routes to later roots. The claim is
never recorded: Ingresses and earlier roots decide it anew each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from gateway_contour.ir.model import Cluster, Secret, VirtualHost
from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.builder import IRBuilder
from gateway_contour.translate.cache import same_object
from gateway_contour.translate.httpproxy import status as st
from gateway_contour.translate.legacy import LegacyFleet

Key = tuple[str, str]
Entry = tuple[str, str, str]  # (type, reason, message) of a status error or warning


# NamedTuples, not frozen dataclasses: one outcome is made per root, and a frozen
# dataclass's __init__ costs several times a tuple's


class RootHosts(NamedTuple):
    """What a valid root serves once its fqdn is its own."""

    fqdn: str
    owner: str  # "HTTPProxy namespace/name"
    http: VirtualHost | None
    https: VirtualHost | None
    secrets: tuple[Secret, ...]  # its certificates, added with the hosts


class StatusChange(NamedTuple):
    reached: bool
    errors: tuple[Entry, ...]
    warnings: tuple[Entry, ...]


class RootOutcome(NamedTuple):
    looked_up: tuple[tuple[Key, KubeObject | None], ...]
    valid_before: tuple[tuple[Key, bool], ...]
    changes: tuple[tuple[Key, StatusChange], ...]
    clusters: tuple[Cluster, ...]
    secrets: tuple[Secret, ...]  # CA bundles: added whether or not the hosts are
    hosts: RootHosts | None

    def still_valid(
        self, proxies: Mapping[Key, KubeObject], statuses: Mapping[Key, st.ProxyStatus]
    ) -> bool:
        for key, then in self.looked_up:
            now = proxies.get(key)
            if now is not then and (now is None or then is None or not same_object(then, now)):
                return False
        return all(statuses[key].valid == valid for key, valid in self.valid_before)


class LookedUp(Mapping[Key, KubeObject]):
    """The proxies, remembering every lookup and what it found. Translation only looks
    proxies up by key; iterating would read them all, so it is refused."""

    __slots__ = ("_proxies", "seen")

    def __init__(self, proxies: Mapping[Key, KubeObject]) -> None:
        self._proxies = proxies
        self.seen: dict[Key, KubeObject | None] = {}

    def get(self, key: Key, default: Any = None) -> Any:
        found = self._proxies.get(key)
        if key not in self.seen:
            self.seen[key] = found
        return default if found is None else found

    def __getitem__(self, key: Key) -> KubeObject:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[Key]:
        raise TypeError("a root's translation may look proxies up, not list them")

    def __len__(self) -> int:
        return len(self._proxies)


class StatusCopies(Mapping[Key, st.ProxyStatus]):
    """The statuses, each copied at first touch (noting what it had then): a root's
    translation changes only its copies."""

    __slots__ = ("_shared", "base", "touched")

    def __init__(self, shared: Mapping[Key, st.ProxyStatus]) -> None:
        self._shared = shared
        self.touched: dict[Key, st.ProxyStatus] = {}
        # key -> (errors, warnings) the shared status had at first touch, and its validity
        self.base: dict[Key, tuple[int, int, bool]] = {}

    def __getitem__(self, key: Key) -> st.ProxyStatus:
        mine = self.touched.get(key)
        if mine is None:
            shared = self._shared[key]
            mine = st.ProxyStatus(shared.generation)
            mine.errors, mine.warnings = list(shared.errors), list(shared.warnings)
            mine.reached = shared.reached
            self.base[key] = (len(shared.errors), len(shared.warnings), shared.valid)
            self.touched[key] = mine
        return mine

    def __iter__(self) -> Iterator[Key]:
        return iter(self.touched)

    def __len__(self) -> int:
        return len(self.touched)


class RootScope:
    """What one root's translation reads and writes (see the module docstring). Nothing in
    it points back at it: a scope is freed by reference counting, never left to the
    cyclic collector."""

    __slots__ = ("clusters", "proxies", "secrets", "statuses")

    def __init__(
        self, proxies: Mapping[Key, KubeObject], statuses: Mapping[Key, st.ProxyStatus]
    ) -> None:
        self.proxies = LookedUp(proxies)
        self.statuses = StatusCopies(statuses)
        self.clusters: list[Cluster] = []
        self.secrets: list[Secret] = []

    def status(self, key: Key) -> st.ProxyStatus:
        return self.statuses[key]

    def outcome(self, hosts: RootHosts | None) -> RootOutcome:
        base = self.statuses.base
        changes = []
        for key, mine in self.statuses.touched.items():
            errors, warnings, _ = base[key]
            change = StatusChange(
                mine.reached, tuple(mine.errors[errors:]), tuple(mine.warnings[warnings:])
            )
            changes.append((key, change))
        return RootOutcome(
            looked_up=tuple(self.proxies.seen.items()),
            valid_before=tuple((key, entry[2]) for key, entry in base.items()),
            changes=tuple(changes),
            clusters=tuple(self.clusters),
            secrets=tuple(self.secrets),
            hosts=hosts,
        )


def apply(
    outcome: RootOutcome,
    root: Key,
    statuses: Mapping[Key, st.ProxyStatus],
    add_cluster: Callable[[Cluster], None],
    builder: IRBuilder,
    legacy: LegacyFleet,
) -> None:
    for key, change in outcome.changes:
        shared = statuses[key]
        shared.reached = shared.reached or change.reached
        for entry in change.errors:
            shared.error(*entry)
        for entry in change.warnings:
            shared.warn(*entry)
    for cluster in outcome.clusters:
        add_cluster(cluster)
    for secret in outcome.secrets:
        builder.add_secret(secret)
    hosts = outcome.hosts
    if hosts is None:
        return
    held = legacy.claim(hosts.fqdn, hosts.owner)
    if held is not None:
        statuses[root].error(
            st.VIRTUAL_HOST_ERROR,
            "DuplicateVhost",
            f"fqdn {hosts.fqdn!r} is already served by {held}",
        )
        return
    for secret in hosts.secrets:
        builder.add_secret(secret)
    if hosts.https is not None:
        legacy.add_https(hosts.https)
    if hosts.http is not None:
        legacy.add_http(hosts.http)
