"""The list/watch, status and Lease semantics where no API server is needed: a scripted client
plays the API server's side of each exchange (pages with continue tokens, bookmarks, a 410 as
an ERROR event or as the HTTP status, an expired continue token, a watch ended at once,
transport errors), and the tests check what the provider asked for and what it stored.

They back up the real-API-server tests of tests/k8s; they start no process.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import anyio
import pytest

from gateway_contour.providers import bounded
from gateway_contour.providers.kubernetes import leader as leader_module
from gateway_contour.providers.kubernetes import watch as watch_module
from gateway_contour.providers.kubernetes.client import EVENT_DEPTH, ApiError, KubeClient
from gateway_contour.providers.kubernetes.discovery import ApiResource
from gateway_contour.providers.kubernetes.leader import LeaderElector
from gateway_contour.providers.kubernetes.watch import KindWatcher
from gateway_contour.status import writer as writer_module
from gateway_contour.status.report import StatusReport
from gateway_contour.status.writer import StatusWriter
from gateway_contour.store.objects import ObjectKey, Snapshot
from gateway_contour.store.rejected import (
    REJECTED_KIND,
    placeholder,
    placeholder_key,
    rejection,
)
from gateway_contour.store.store import Store

ROUTES = ApiResource(
    "HTTPRoute", "HTTPRoute", "gateway.networking.k8s.io", "v1", "httproutes", True
)


class ScriptDone(BaseException):
    """The script ran out: ends the watcher's loop (it is no error the loop catches: the
    loop retries after any Exception)."""


def route(name: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}}


def page(items: list[dict[str, Any]], rv: int, cont: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if cont:
        meta["continue"] = cont
    return {"items": items, "metadata": meta}


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": obj}


def gone_event() -> dict[str, Any]:
    status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    return event("ERROR", status)


def as_json(value: Any) -> bytes:
    """The API server's JSON text of `value`; a string DEEP<n> stands for a list nested n
    levels deep (json.dumps itself cannot write one past ~1,000)."""
    text = json.dumps(value)
    for levels in {int(m) for m in re.findall(r'"DEEP(\d+)"', text)}:
        text = text.replace(f'"DEEP{levels}"', "[" * levels + "1" + "]" * levels)
    return text.encode()


class ScriptedApi:
    """Answers lists from `lists` and watches from `watches`, in order; an answer that is an
    exception is raised instead. Records every call."""

    def __init__(self, lists: list[Any], watches: list[Any]) -> None:
        self.lists, self.watches = lists, watches
        self.list_calls: list[dict[str, Any]] = []
        self.watch_calls: list[dict[str, Any]] = []

    async def get_bounded(self, path: str, depth: int, **params: Any) -> tuple[Any, bool]:
        # through JSON text and the real bounded decoder, as KubeClient answers
        return bounded.loads(as_json(await self.get(path, **params)), depth)

    async def get(self, path: str, **params: Any) -> Any:
        self.list_calls.append(params)
        if not self.lists:
            raise ScriptDone()
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def stream_lines(
        self, path: str, params: dict[str, Any], timeout: float
    ) -> AsyncIterator[tuple[dict[str, Any], bool]]:
        self.watch_calls.append(dict(params))
        if not self.watches:
            raise ScriptDone()
        answer = self.watches.pop(0)
        if isinstance(answer, Exception):
            raise answer
        for item in answer:
            if isinstance(item, Exception):
                raise item
            yield bounded.loads(as_json(item), EVENT_DEPTH)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Backoff sleeps recorded (by attempt), not slept."""
    slept: list[int] = []

    async def record(self: watch_module.Backoff) -> None:
        slept.append(self.attempt)
        self.attempt += 1

    monkeypatch.setattr(watch_module.Backoff, "sleep", record)
    return slept


def watcher_for(api: ScriptedApi, store: Store, changes: list[str]) -> KindWatcher:
    return KindWatcher(cast(KubeClient, api), ROUTES, store, changes.append)


async def run_script(watcher: KindWatcher) -> None:
    with pytest.raises(ScriptDone):
        await watcher.run()


def names(store: Store) -> list[str]:
    return sorted(key.name for key in store.keys("HTTPRoute"))


async def test_paginated_list_then_watch_from_the_lists_version(no_backoff: list[int]) -> None:
    api = ScriptedApi(
        lists=[page([route("a", 5)], 10, cont="tok1"), page([route("b", 6)], 10)],
        watches=[[event("ADDED", route("c", 11))]],
    )
    store, changes = Store(), []
    await run_script(watcher_for(api, store, changes))
    assert [c.get("continue") for c in api.list_calls] == [None, "tok1"]
    assert all("resourceVersion" not in c for c in api.list_calls)  # a consistent read
    first_watch = api.watch_calls[0]
    assert first_watch["resourceVersion"] == "10"
    assert first_watch["allowWatchBookmarks"] == "true"
    # the clean end of the watch after an event resumes from that event's version
    assert api.watch_calls[1]["resourceVersion"] == "11"
    assert names(store) == ["a", "b", "c"]
    assert changes == ["HTTPRoute", "HTTPRoute"]
    assert no_backoff == []


async def test_bookmarks_advance_the_version_without_touching_the_store(
    no_backoff: list[int],
) -> None:
    bookmark = {"kind": "HTTPRoute", "metadata": {"resourceVersion": "42"}}
    api = ScriptedApi(lists=[page([route("a", 5)], 10)], watches=[[event("BOOKMARK", bookmark)]])
    store, changes = Store(), []
    watcher = watcher_for(api, store, changes)
    await run_script(watcher)
    assert api.watch_calls[1]["resourceVersion"] == "42"
    assert (watcher.bookmarks, watcher.events) == (1, 0)
    assert names(store) == ["a"]
    assert no_backoff == []


@pytest.mark.parametrize("how", ["error-event", "http-status"])
async def test_410_relists_and_reconciles_what_was_missed(how: str, no_backoff: list[int]) -> None:
    gone: Any = [gone_event()] if how == "error-event" else ApiError(410, {"code": 410})
    api = ScriptedApi(
        lists=[page([route("a", 5), route("b", 6)], 10), page([route("b", 6), route("c", 30)], 31)],
        watches=[gone],
    )
    store, changes = Store(), []
    watcher = watcher_for(api, store, changes)
    await run_script(watcher)
    # relisted at once (no backoff), and what happened meanwhile is in the store:
    # "a" deleted, "c" created
    assert (watcher.gone, watcher.relists) == (1, 2)
    assert no_backoff == []
    assert names(store) == ["b", "c"]
    assert api.watch_calls[1]["resourceVersion"] == "31"


async def test_other_errors_back_off_and_resume_from_the_last_version(
    no_backoff: list[int],
) -> None:
    server_error = event("ERROR", {"kind": "Status", "code": 500, "message": "etcd hiccup"})
    api = ScriptedApi(
        lists=[page([route("a", 5)], 10)],
        watches=[
            [],  # ended at once, without an event: a failure too
            [event("MODIFIED", route("a", 12)), server_error],
            aiohttp.ClientConnectionError("refused"),
            [],
        ],
    )
    watcher = watcher_for(api, Store(), [])
    await run_script(watcher)
    # resumed from the last event seen, even though its watch failed afterwards
    assert [c["resourceVersion"] for c in api.watch_calls] == ["10", "10", "12", "12", "12"]
    assert watcher.relists == 1  # nothing was gone: no relist
    # backoff grows while watches achieve nothing, and starts over after one that did
    assert no_backoff == [0, 0, 1, 2]


async def test_an_expired_continue_token_restarts_the_list(no_backoff: list[int]) -> None:
    expired = ApiError(410, {"code": 410, "reason": "Expired"})
    api = ScriptedApi(
        lists=[
            page([route("a", 5)], 10, cont="tok1"),
            expired,
            page([route("a", 5)], 20, cont="tok2"),
            page([route("b", 15)], 20),
        ],
        watches=[],
    )
    store = Store()
    await run_script(watcher_for(api, store, []))
    assert [c.get("continue") for c in api.list_calls] == [None, "tok1", None, "tok2"]
    assert names(store) == ["a", "b"]
    assert no_backoff == []


# --------------------------------------------------------------------------- status writer


class UnreachableApi:
    async def request_bounded(self, *args: Any, **kwargs: Any) -> Any:
        raise aiohttp.ClientConnectionError("connection refused")


async def test_an_unreachable_api_server_is_a_retryable_failure_not_a_crash() -> None:
    writer = StatusWriter(cast(KubeClient, UnreachableApi()), {"HTTPRoute": ROUTES}, "ctl")
    live = {"kind": "HTTPRoute", **route("a", 5)}
    snapshot = Snapshot({"HTTPRoute": {("ns", "a"): live}})
    parent = {"parentRef": {"name": "gw"}, "controllerName": "ctl", "conditions": []}
    report = StatusReport({ObjectKey("HTTPRoute", "ns", "a"): {"parents": [parent]}})
    stats = await writer.write(report, snapshot)
    assert (stats.writes, stats.failures, stats.retryable) == (0, 1, 1)
    assert writer.total.retryable == 1


class RecordingStatusApi:
    """Accepts every status PUT and answers with a new resourceVersion."""

    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    async def request_bounded(
        self, method: str, path: str, depth: int, body: Any = None
    ) -> tuple[Any, bool]:
        assert method == "PUT" and path.endswith("/status")
        assert depth == bounded.MAX_DEPTH  # the answer is the whole (user) object
        self.puts.append(body)
        rv = str(100 + len(self.puts))
        return {**body, "metadata": {**body["metadata"], "resourceVersion": rv}}, False


async def test_a_settled_status_is_not_compared_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the live status says what is desired, the same desired object and the same live
    object are skipped without merging them again (a thousand unchanged routes cost no
    comparison per rebuild); anything else is compared and written as before."""
    api = RecordingStatusApi()
    writer = StatusWriter(cast(KubeClient, api), {"HTTPRoute": ROUTES}, "ctl")
    merges: list[ObjectKey] = []
    real_merge = writer_module.merge_status

    def counting_merge(kind: str, *args: Any) -> Any:
        merges.append(kind)
        return real_merge(kind, *args)

    monkeypatch.setattr(writer_module, "merge_status", counting_merge)
    key = ObjectKey("HTTPRoute", "ns", "a")
    parent = {"parentRef": {"name": "gw"}, "controllerName": "ctl", "conditions": []}
    desired = {"parents": [parent]}
    report = StatusReport({key: desired})
    live = {"kind": "HTTPRoute", **route("a", 5)}

    stats = await writer.write(report, Snapshot({"HTTPRoute": {("ns", "a"): live}}))
    assert (stats.writes, len(api.puts)) == (1, 1)
    # the watch brings our write back: one comparison finds it settled
    written = {**live, "metadata": {**live["metadata"], "resourceVersion": "101"}}
    written["status"] = api.puts[0]["status"]
    settled = Snapshot({"HTTPRoute": {("ns", "a"): written}})
    merges.clear()
    assert (await writer.write(report, settled)).skipped == 1
    assert len(merges) == 1
    merges.clear()
    stats = await writer.write(report, settled)
    assert (stats.skipped, stats.writes, merges) == (1, 0, [])
    # an equal but new desired status is compared (and still needs no write)
    stats = await writer.write(StatusReport({key: {"parents": [dict(parent)]}}), settled)
    assert (stats.skipped, stats.writes, len(merges)) == (1, 0, 1)
    # a different desired status is written
    moved = {"parents": [{**parent, "parentRef": {"name": "other"}}]}
    stats = await writer.write(StatusReport({key: moved}), settled)
    assert (stats.writes, len(api.puts)) == (1, 2)


async def test_the_status_of_a_rejected_version_is_written_over_its_placeholder() -> None:
    """A rejected object's live version is its placeholder's (the store serves the last good
    one, or none): the PUT carries the rejected version's resourceVersion."""
    parent = {"parentRef": {"name": "gw"}, "controllerName": "ctl", "conditions": []}
    desired = {"parents": [parent]}
    kept = {"kind": "HTTPRoute", **route("a", 5)}
    rejected = {"kind": "HTTPRoute", **route("a", 9)}
    for served in ({("ns", "a"): kept}, {}):
        api = RecordingStatusApi()
        writer = StatusWriter(cast(KubeClient, api), {"HTTPRoute": ROUTES}, "ctl")
        stand_in = placeholder(rejected, "too_deep", "too deep")
        by_kind = {"HTTPRoute": served, REJECTED_KIND: {("ns", "HTTPRoute/a"): stand_in}}
        key = ObjectKey("HTTPRoute", "ns", "a")
        stats = await writer.write(StatusReport({key: desired}), Snapshot(by_kind))
        assert stats.writes == 1
        assert api.puts[-1]["metadata"]["resourceVersion"] == "9"


# --------------------------------------------------------------------------- Lease


class LeaseApi:
    """One Lease, with resourceVersion checks like the API server's; `hang` makes every
    call wait forever (an API server that accepts connections but never answers)."""

    def __init__(self, lease: dict[str, Any] | None = None) -> None:
        self.lease = lease
        self.rv = 1
        self.hang = False

    async def get(self, path: str, **params: Any) -> Any:
        if self.hang:
            await anyio.sleep_forever()
        if self.lease is None:
            raise ApiError(404, {"code": 404})
        return {
            **self.lease,
            "metadata": {**self.lease["metadata"]},
            "spec": {**self.lease["spec"]},
        }

    async def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        if self.hang:
            await anyio.sleep_forever()
        if method == "POST" and self.lease is not None:
            raise ApiError(409, {"code": 409})
        if method == "PUT":
            assert self.lease is not None
            if body["metadata"]["resourceVersion"] != self.lease["metadata"]["resourceVersion"]:
                raise ApiError(409, {"code": 409})
        self.rv += 1
        self.lease = {**body, "metadata": {**body["metadata"], "resourceVersion": str(self.rv)}}
        return self.lease


def elector(api: LeaseApi, identity: str) -> LeaderElector:
    return LeaderElector(cast(KubeClient, api), "ns", "lease", identity, lease_duration=15.0)


async def test_a_lease_held_by_a_live_holder_is_not_taken() -> None:
    api = LeaseApi()
    one, two = elector(api, "one"), elector(api, "two")
    assert await one._attempt()  # created
    assert not await two._attempt()  # held, and renewed as far as "two" can tell
    assert await one._attempt()  # renewal
    assert api.lease is not None and api.lease["spec"]["holderIdentity"] == "one"
    assert api.lease["spec"]["leaseTransitions"] == 0


async def test_release_hands_over_at_once_and_counts_a_transition() -> None:
    api = LeaseApi()
    one, two = elector(api, "one"), elector(api, "two")
    assert await one._attempt()
    one._set(True)
    await one.release()
    assert api.lease is not None
    assert api.lease["spec"]["holderIdentity"] == ""
    assert api.lease["spec"]["leaseDurationSeconds"] == 1
    assert not one.is_leader
    assert await two._attempt()  # no need to wait for leaseDuration
    assert api.lease["spec"]["holderIdentity"] == "two"
    assert api.lease["spec"]["leaseTransitions"] == 1


async def test_a_holder_that_stopped_renewing_is_replaced_after_lease_duration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(leader_module.time, "monotonic", lambda: now[0])
    api = LeaseApi()
    one, two = elector(api, "one"), elector(api, "two")
    assert await one._attempt()
    assert not await two._attempt()  # "two" starts its clock on this version
    now[0] += 14.0
    assert not await two._attempt()
    now[0] += 2.0  # no renewal seen for longer than leaseDuration (on our own clock)
    assert await two._attempt()
    assert not await one._attempt()  # the old holder learns it lost; 409 or held
    assert api.lease is not None and api.lease["spec"]["holderIdentity"] == "two"


async def test_release_on_shutdown_is_bounded_when_the_api_server_hangs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(leader_module, "RELEASE_TIMEOUT", 0.2)
    api = LeaseApi()
    one = elector(api, "one")
    assert await one._attempt()
    one._set(True)
    api.hang = True
    with anyio.fail_after(5):
        await one.release()
    assert not one.is_leader


def deep_route(name: str, rv: int, levels: int) -> dict[str, Any]:
    obj = route(name, rv)
    obj["spec"] = {"authorization": f"DEEP{levels}"}
    return obj


async def test_an_object_nested_5000_deep_is_rejected_alone_in_a_list_and_a_watch(
    no_backoff: list[int],
) -> None:
    """The crash loop of issue 22: json.loads raises RecursionError at ~1,000 levels, which
    ended the watch and the controller, on every restart. Now only that object is left out;
    its neighbours in the page and the stream are applied."""
    api = ScriptedApi(
        lists=[page([route("a", 5), deep_route("evil", 6, 5000), route("b", 7)], 10)],
        watches=[[event("ADDED", deep_route("evil-2", 11, 5000)), event("ADDED", route("c", 12))]],
    )
    store, changes = Store(), []
    watcher = watcher_for(api, store, changes)
    await run_script(watcher)
    assert names(store) == ["a", "b", "c"]
    assert watcher.rejected == 2
    assert api.watch_calls[1]["resourceVersion"] == "12"  # the stream went on past it
    assert no_backoff == []


async def test_a_modification_too_deep_keeps_the_last_good_version(no_backoff: list[int]) -> None:
    good = route("a", 5)
    api = ScriptedApi(
        lists=[page([good], 10), page([deep_route("a", 13, 200)], 14)],
        watches=[[event("MODIFIED", deep_route("a", 11, 200))], ApiError(410, {"code": 410})],
    )
    store, changes = Store(), []
    watcher = watcher_for(api, store, changes)
    await run_script(watcher)
    kept = store.get(ObjectKey("HTTPRoute", "ns", "a"))
    assert kept is not None and "spec" not in kept  # still the version before both
    assert watcher.rejected == 2  # once in the watch, once in the relist after the 410
    # a just-deep-enough object is kept whole
    shallow = deep_route("ok", 1, bounded.MAX_DEPTH - 2)  # object > spec > authorization
    value, cut = bounded.loads(as_json(event("ADDED", shallow)), EVENT_DEPTH)
    assert not cut and not bounded.is_cut(value)


def placeholders(store: Store) -> dict[str, str]:
    """Rejected object name -> the generation its placeholder names."""
    found = {}
    for key in store.keys(REJECTED_KIND):
        stored = store.get(key)
        assert stored is not None
        said = rejection(stored)
        assert said is not None
        found[said.key.name] = said.obj["metadata"]["resourceVersion"]
    return found


async def test_a_rejected_object_leaves_a_placeholder_until_a_good_version_or_deletion(
    no_backoff: list[int],
) -> None:
    """The placeholder is what translation makes the rejected object's status from: it names
    the version rejected (metadata survives the cut), and goes once the object is taken or
    deleted; a relist reconciles the placeholders as it does the objects."""
    api = ScriptedApi(
        lists=[
            page([deep_route("a", 5, 5000), deep_route("b", 6, 5000)], 10),
            page([deep_route("b", 14, 300)], 15),
        ],
        watches=[
            [
                event("MODIFIED", route("a", 11)),  # a good version replaces the rejected one
                event("DELETED", deep_route("b", 12, 5000)),
                event("ADDED", deep_route("c", 13, 5000)),
            ],
            ApiError(410, {"code": 410}),
        ],
    )
    store, changes = Store(), []
    watcher = watcher_for(api, store, changes)
    seen: list[dict[str, str]] = []
    watcher.on_change = lambda kind: (changes.append(kind), seen.append(placeholders(store)))
    await run_script(watcher)
    assert seen[0] == {"a": "5", "b": "6"}  # the first list: nothing served, both named
    assert {"b": "6"} in seen and {"b": "6", "c": "13"} not in seen
    assert {"c": "13"} in seen  # after the modification of a and the deletion of b
    assert placeholders(store) == {"b": "14"}  # the relist replaced c's with b's
    assert names(store) == []  # a was deleted by the relist too
    assert watcher.rejections == {"too_deep": 4}
    stored = store.get(placeholder_key(ObjectKey("HTTPRoute", "ns", "b")))
    said = rejection(stored) if stored is not None else None
    assert said is not None and said.message == watch_module.TOO_DEEP_MESSAGE
    assert str(bounded.MAX_DEPTH) in watch_module.TOO_DEEP_MESSAGE


async def test_an_error_applying_one_object_does_not_end_the_watch(no_backoff: list[int]) -> None:
    nameless = {"metadata": {"namespace": "ns", "resourceVersion": "11"}}
    api = ScriptedApi(
        lists=[page([route("a", 5)], 10)],
        watches=[[event("ADDED", nameless), event("ADDED", route("c", 12))]],
    )
    store, changes = Store(), []
    watcher = watcher_for(api, store, changes)
    await run_script(watcher)
    assert names(store) == ["a", "c"]
    assert watcher.rejected == 1
