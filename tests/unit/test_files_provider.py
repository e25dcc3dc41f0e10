"""The files provider: parsing, problem reports, and the directory watcher."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pytest

from gateway_contour.providers import files
from gateway_contour.providers.background_parses import BackgroundParses
from gateway_contour.providers.fast_documents import Stopped
from gateway_contour.providers.files import (
    DirectoryReader,
    Loaded,
    load_directory,
    load_text,
    split_documents,
    watch_directory,
)

# a kind whose only checks are its metadata, so that these tests are about files and YAML
SERVICE = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"


def test_good_documents_around_broken_ones_are_kept() -> None:
    text = "---\n".join(
        [
            SERVICE % "a",
            "- just\n- a list\n",
            "kind: Service\nmetadata: {name: no-api-version}\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: unclosed\n",
            SERVICE % "d",
        ]
    )
    loaded = load_text(text, "f.yaml")
    assert [o["metadata"]["name"] for o in loaded.objects] == ["a", "d"]
    assert [(p.source, p.reason.split(":")[0]) for p in loaded.problems] == [
        ("f.yaml#1", "document is a list, not a mapping"),
        ("f.yaml#2", "missing apiVersion"),
        ("f.yaml#3", "invalid YAML at line 14"),
    ]


def test_blank_and_comment_only_documents_are_not_counted() -> None:
    text = "# header\n---\n" + SERVICE % "a" + "---\n# nothing\n---\n" + "kind: [\n"
    loaded = load_text(text, "f.yaml")
    assert [o["metadata"]["name"] for o in loaded.objects] == ["a"]
    assert [p.source for p in loaded.problems] == ["f.yaml#1"]


def test_namespace_and_generation_defaults() -> None:
    text = SERVICE % "a" + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n"
    svc, ns = load_text(text, "f.yaml").objects
    assert svc["metadata"]["namespace"] == "default"
    assert svc["metadata"]["generation"] == 1
    assert "namespace" not in ns["metadata"]


def test_list_documents_are_unpacked() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- " + (SERVICE % "a").replace("\n", "\n  ")
    assert [o["metadata"]["name"] for o in load_text(text, "f.yaml").objects] == ["a"]


def test_directory_reports_files_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.yaml").write_text("apiVersion: v1\nkind: Service\n")
    (tmp_path / "good.yml").write_text(SERVICE % "a")
    (tmp_path / "notes.txt").write_text("not yaml: [")
    loaded = load_directory(tmp_path)
    assert [o["metadata"]["name"] for o in loaded.objects] == ["a"]
    assert [(p.source, p.reason) for p in loaded.problems] == [
        ("sub/bad.yaml#0", "missing metadata")
    ]


async def test_watch_yields_initial_content_then_each_change(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SERVICE % "a")
    seen: list[list[str]] = []
    with anyio.fail_after(10):
        async for loaded in watch_directory(tmp_path, interval=0.01):
            seen.append(sorted(o["metadata"]["name"] for o in loaded.objects))
            if len(seen) == 1:
                (tmp_path / "b.yaml").write_text(SERVICE % "b")
            elif len(seen) == 2:
                (tmp_path / "a.yaml").unlink()
            else:
                break
    assert seen == [["a"], ["a", "b"], ["b"]]


def test_documents_nested_too_deep_are_reported_and_the_rest_kept() -> None:
    """600 levels made the controller exit with RecursionError (issue 20, 22); libyaml
    itself refuses 1,000+ flow levels. Block nesting is bounded the same way."""
    head = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: "
    flow = head % "flow" + "[" * 600 + "]" * 600 + "\n"
    block = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: block}\ndata:\n"
        + "".join("  " * i + f"k{i}:\n" for i in range(1, 300))
        + "  " * 300
        + "k: v\n"
    )
    beyond = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    shallow = head % "ok" + "[" * 40 + "]" * 40 + "\n"
    text = "---\n".join([SERVICE % "a", flow, block, beyond, shallow, SERVICE % "b"])
    loaded = load_text(text, "f.yaml")
    assert [o["metadata"]["name"] for o in loaded.objects] == ["a", "ok", "b"]
    reasons = [(p.source, p.reason) for p in loaded.problems]
    assert reasons[:2] == [
        ("f.yaml#1", "nested deeper than 64 levels"),
        ("f.yaml#2", "nested deeper than 64 levels"),
    ]
    assert reasons[2][0] == "f.yaml#3" and reasons[2][1].startswith("invalid YAML")


def test_a_duplicate_object_is_reported_with_both_files_and_the_first_kept(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yaml").write_text(SERVICE % "x" + "data: {first: one}\n")
    (tmp_path / "b.yaml").write_text(SERVICE % "y" + "---\n" + SERVICE % "x")
    loaded = load_directory(tmp_path)
    assert [(o["metadata"]["name"], o.get("data")) for o in loaded.objects] == [
        ("x", {"first": "one"}),
        ("y", None),
    ]
    assert [(p.source, p.reason) for p in loaded.problems] == [
        ("b.yaml#1", "ConfigMap default/x is defined again; a.yaml#0 kept")
    ]


def test_a_reread_parses_only_the_files_that_changed(tmp_path: Path) -> None:
    for name in "abc":
        (tmp_path / f"{name}.yaml").write_text(SERVICE % name)
    reader = DirectoryReader(tmp_path)
    first = reader.read()
    assert reader.parsed == 3
    (tmp_path / "b.yaml").write_text(SERVICE % "b2")
    second = reader.read()
    assert reader.parsed == 4
    assert [o["metadata"]["name"] for o in second.objects] == ["a", "b2", "c"]
    assert second.objects[0] is first.objects[0]  # a.yaml was not parsed again
    (tmp_path / "c.yaml").unlink()
    assert [o["metadata"]["name"] for o in reader.read().objects] == ["a", "b2"]


ROUTE = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %s}
spec:
  rules: [{backendRefs: [{name: web, port: %s}]}]
"""


def test_a_reread_validates_only_the_documents_that_changed(tmp_path: Path) -> None:
    routes = [ROUTE % ("a", 80), ROUTE % ("b", 80), ROUTE % ("bad", 70000)]
    path = tmp_path / "routes.yaml"
    path.write_text("---\n".join(routes))
    reader = DirectoryReader(tmp_path)
    first = reader.read()
    assert reader.validated == 3
    routes[1] = ROUTE % ("b", 81)
    path.write_text("---\n".join([*routes, ROUTE % ("c", 0)]))
    second = reader.read()
    assert reader.validated == 3 + 2  # b changed, c is new; a and bad keep their verdicts
    cold = load_directory(tmp_path)
    assert second.objects == cold.objects
    assert second.problems == cold.problems
    assert [p.source for p in second.problems] == ["routes.yaml#2", "routes.yaml#3"]
    assert first.problems[0].reason == second.problems[0].reason


def test_document_splitting_is_linear_and_counts_lines() -> None:
    """It was quadratic (every document counted the lines from the top): 8 MB took 78 s.
    Checked by line numbers here; the time is `make bench`'s files row."""
    docs = [SERVICE % f"s{i}" for i in range(20_000)]
    parts = split_documents("---\n".join(docs))
    assert len(parts) == 20_000
    assert [line for line, _ in parts[:3]] == [0, 4, 8]
    assert parts[-1][0] == 4 * 19_999


class HeldLoad:
    """files._load_file, except that reading the file named `held` waits for `release` (or
    for its parse to be stopped) once `hold` is set; `loaded` lists the files read."""

    def __init__(self, held: str) -> None:
        self.held = held
        self.hold = False
        self.started, self.release = threading.Event(), threading.Event()
        self.loaded: list[str] = []
        self.real = files._load_file

    def __call__(
        self,
        path: Path,
        source: str,
        stop: threading.Event | None = None,
        previous: Loaded | None = None,
    ) -> Loaded:
        if path.name == self.held and self.hold:
            self.started.set()
            while not self.release.wait(0.01):
                if stop is not None and stop.is_set():
                    raise Stopped
        loaded = self.real(path, source, stop, previous)
        self.loaded.append(path.name)
        return loaded


async def test_a_small_change_is_served_while_a_large_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22: the config loop keeps applying changes while a big file loads. The big
    file's second read is held until the small file's change has been served; read one after
    the other, the change could not come first and this test would time out."""
    (tmp_path / "big.yaml").write_text(SERVICE % "big1")
    (tmp_path / "small.yaml").write_text(SERVICE % "a")
    load = HeldLoad("big.yaml")
    monkeypatch.setattr(files, "_load_file", load)
    seen: list[list[str]] = []

    async def edit_small_once_big_is_held() -> None:
        await anyio.to_thread.run_sync(load.started.wait)
        (tmp_path / "small.yaml").write_text(SERVICE % "bb")

    try:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                async for loaded in watch_directory(tmp_path, interval=0.01):
                    names = sorted(o["metadata"]["name"] for o in loaded.objects)
                    if seen and names == seen[-1]:
                        continue  # the same content again (a write seen half done)
                    seen.append(names)
                    if len(seen) == 1:
                        load.hold = True
                        (tmp_path / "big.yaml").write_text(SERVICE % "big-2")
                        tg.start_soon(edit_small_once_big_is_held)
                    elif len(seen) == 2:
                        load.release.set()
                    else:
                        break
    finally:
        load.release.set()
    assert seen == [["a", "big1"], ["bb", "big1"], ["bb", "big-2"]]


async def test_the_first_world_waits_for_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No partial world: while one file is still being read at start, nothing is served, not
    even once another file has been read and changed and read again."""
    (tmp_path / "big.yaml").write_text(SERVICE % "big")
    (tmp_path / "small.yaml").write_text(SERVICE % "a")
    load = HeldLoad("big.yaml")
    load.hold = True
    monkeypatch.setattr(files, "_load_file", load)
    seen: list[list[str]] = []

    async def watch() -> None:
        async for loaded in watch_directory(tmp_path, interval=0.01):
            seen.append(sorted(o["metadata"]["name"] for o in loaded.objects))
            return

    try:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                await anyio.to_thread.run_sync(load.started.wait)
                while "small.yaml" not in load.loaded:
                    await anyio.sleep(0.005)
                (tmp_path / "small.yaml").write_text(SERVICE % "bb")
                while load.loaded.count("small.yaml") < 2:
                    await anyio.sleep(0.005)
                assert seen == []
                load.release.set()
    finally:
        load.release.set()
    assert seen == [["bb", "big"]]


async def test_cancelling_the_watch_stops_a_parse_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What SIGTERM does to host mode: the watch is cancelled while a large file is read; the
    parse is told to stop instead of running on to the end."""
    (tmp_path / "big.yaml").write_text(SERVICE % "big")
    started, stopped = threading.Event(), threading.Event()

    def load(
        path: Path, source: str, stop: threading.Event | None = None, _: Loaded | None = None
    ) -> Loaded:
        started.set()
        assert stop is not None
        stop.wait()
        stopped.set()
        raise Stopped

    monkeypatch.setattr(files, "_load_file", load)

    async def watch() -> None:
        async for _ in watch_directory(tmp_path, interval=0.01):
            raise AssertionError("nothing is served while the only file is read")

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            await anyio.to_thread.run_sync(started.wait)
            tg.cancel_scope.cancel()
        await anyio.to_thread.run_sync(stopped.wait)


def test_a_parse_told_to_stop_ends_between_batches() -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        load_text(SERVICE % "a", "f.yaml", stop=stop)


def test_a_file_that_is_not_utf8_is_reported_and_the_others_kept(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"apiVersion: v1\nkind: Service\nmetadata: {name: \xff}\n")
    (tmp_path / "good.yaml").write_text(SERVICE % "a")
    loaded = load_directory(tmp_path)
    assert [o["metadata"]["name"] for o in loaded.objects] == ["a"]
    assert [p.reason.split(":")[0] for p in loaded.problems] == ["unreadable"]


def test_a_symlink_loop_does_not_stop_the_reading(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "sub" / "a.yaml").write_text(SERVICE % "a")
    assert [o["metadata"]["name"] for o in load_directory(tmp_path).objects] == ["a"]


def test_an_alias_bomb_is_read_without_expanding_it() -> None:
    """Billion laughs: nine levels of ten aliases each. PyYAML shares the aliased objects
    (the fast path leaves documents with aliases to it), so nothing is copied 10^9 times."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:", "  a0: &a0 lol"]
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"  a{level}: &a{level} [{refs}]")
    (obj,) = load_text("\n".join(lines) + "\n", "f.yaml").objects
    assert obj["data"]["a9"][0] is obj["data"]["a9"][1]


def test_a_large_file_takes_the_fast_path_and_keeps_document_numbers() -> None:
    """Documents rapidyaml reads like PyYAML, around ones it does not (a tag, a `yes`, bad
    YAML): objects and problem numbers are as PyYAML alone gave them."""
    docs = [SERVICE % f"s{i}" for i in range(10_000)]
    docs[10] = SERVICE % "tagged" + "data: {x: !!str 5}\n"
    docs[20] = SERVICE % "flagged" + "data: {flag: yes}\n"
    docs[30] = "apiVersion: v1\nkind: [\n"
    docs[40] = "# a comment only\n"
    loaded = load_text("---\n".join(docs), "f.yaml")
    assert len(loaded.objects) == 9_998
    assert loaded.objects[10]["data"] == {"x": "5"}
    assert loaded.objects[20]["data"] == {"flag": True}
    assert [(p.source, p.reason.split(" at")[0]) for p in loaded.problems] == [
        ("f.yaml#30", "invalid YAML")
    ]
    assert loaded.sources[-1] == "f.yaml#9998"


def test_a_parse_that_ended_between_two_looks_is_not_started_again(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(SERVICE % "a")
    parsed: list[Path] = []

    def parse(p: Path, stop: threading.Event) -> Loaded:
        parsed.append(p)
        return load_text(p.read_text(), p.name)

    parses: BackgroundParses[tuple[int, int], Loaded] = BackgroundParses(parse)
    current = files._stamps(tmp_path)
    parses.start(path, current[path])
    # the parse ends (its result waiting in `finished`) before the watcher looks again
    for thread in [t for t in threading.enumerate() if t.name == "parse a.yaml"]:
        thread.join(10)
    assert not parses.idle()  # its result is not in hand yet
    known: dict[Path, tuple[tuple[int, int], Loaded]] = {}
    assert files._follow(current, known, parses)
    assert known[path][0] == current[path]
    assert parses.idle()
    assert parsed == [path]  # once: the ended parse is taken, not run again


def test_a_string_that_is_no_text_is_refused_with_its_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A YAML "\\ud800" escape gives an unpaired surrogate, which no UTF-8 encodes: validation
    (JSON Schema), protobuf and hashing all raised on it. The document is refused, naming the
    field, and nothing else is affected."""
    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: %s\n"
    text = "---\n".join(
        [
            ROUTE % ("ok", 80),
            ROUTE.replace("rules:", 'hostnames: ["a\\ud800.example.com"]\n  rules:') % ("bad", 80),
            config_map % ("keys", '{"k\\udc00": v}'),
            config_map % ("fine", '{k: "\\u00e9\\U0001F600"}'),
        ]
    )
    loaded = load_text(text, "f.yaml")
    assert [o["metadata"]["name"] for o in loaded.objects] == ["ok", "fine"]
    assert loaded.objects[1]["data"]["k"] == "\u00e9\U0001f600"
    assert [(p.source, p.reason) for p in loaded.problems] == [
        ("f.yaml#1", "spec.hostnames[0]: not valid UTF-8 text"),
        ("f.yaml#2", "data: a field name is not valid UTF-8 text"),
    ]
    assert "Traceback" not in caplog.text
