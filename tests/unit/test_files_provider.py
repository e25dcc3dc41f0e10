"""The files provider: parsing, problem reports, and the directory watcher."""

from __future__ import annotations

from pathlib import Path

import anyio

from gateway_contour.providers.files import (
    DirectoryReader,
    load_directory,
    load_text,
    split_documents,
    watch_directory,
)

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
    (tmp_path / "a.yaml").write_text(SERVICE % "x" + "spec: {first: true}\n")
    (tmp_path / "b.yaml").write_text(SERVICE % "y" + "---\n" + SERVICE % "x")
    loaded = load_directory(tmp_path)
    assert [(o["metadata"]["name"], o.get("spec")) for o in loaded.objects] == [
        ("x", {"first": True}),
        ("y", None),
    ]
    assert [(p.source, p.reason) for p in loaded.problems] == [
        ("b.yaml#1", "Service default/x is defined again; a.yaml#0 kept")
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


def test_document_splitting_is_linear_and_counts_lines() -> None:
    """It was quadratic (every document counted the lines from the top): 8 MB took 78 s.
    Checked by line numbers here; the time is `make bench`'s files row."""
    docs = [SERVICE % f"s{i}" for i in range(20_000)]
    parts = split_documents("---\n".join(docs))
    assert len(parts) == 20_000
    assert [line for line, _ in parts[:3]] == [0, 4, 8]
    assert parts[-1][0] == 4 * 19_999
