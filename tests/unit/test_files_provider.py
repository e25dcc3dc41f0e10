"""The files provider: parsing, problem reports, and the directory watcher."""

from __future__ import annotations

from pathlib import Path

import anyio

from gateway_contour.providers.files import load_directory, load_text, watch_directory

SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: %s}\n"


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
