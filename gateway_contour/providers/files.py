"""The files provider: a directory of multi-document Kubernetes YAML as the source of truth.

Standalone mode reads objects from files instead of an API server. A malformed document (bad
YAML, not a mapping, no kind/name) is reported with its file and document index and skipped;
the other documents, and the other files, keep working. `watch_directory` polls for changes
(mtime and size) and yields whenever the directory's content changed.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import yaml

from gateway_contour.status.report import Problem
from gateway_contour.store.objects import KubeObject

log = logging.getLogger(__name__)

YAML_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(slots=True)
class Loaded:
    objects: list[KubeObject] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _check_object(doc: Any) -> str | None:
    """Why `doc` is not a usable Kubernetes object, or None when it is."""
    if not isinstance(doc, dict):
        return f"document is a {type(doc).__name__}, not a mapping"
    if not isinstance(doc.get("apiVersion"), str) or not doc["apiVersion"]:
        return "missing apiVersion"
    if not isinstance(doc.get("kind"), str) or not doc["kind"]:
        return "missing kind"
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return "missing metadata"
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        return "missing metadata.name"
    if "namespace" in meta and not isinstance(meta["namespace"], str):
        return "metadata.namespace is not a string"
    return None


_DOCUMENT_SEPARATOR = re.compile(r"^---(?:[ \t].*)?(?:\n|$)", re.MULTILINE)


def split_documents(text: str) -> list[tuple[int, str]]:
    """Split a multi-document YAML text at its `---` lines, so that one broken document does
    not hide the ones after it (a YAML parser stops at the first error). Each document comes
    with the 0-based line of the file it starts on."""
    out = []
    start = 0
    for sep in _DOCUMENT_SEPARATOR.finditer(text):
        out.append((text.count("\n", 0, start), text[start : sep.start()]))
        start = sep.end()
    out.append((text.count("\n", 0, start), text[start:]))
    return out


def _is_blank(chunk: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in chunk.splitlines())


def load_text(text: str, source: str, loaded: Loaded | None = None) -> Loaded:
    """Parse one multi-document YAML text; `source` names it in problems as `source#index`,
    counting the documents that have content from 0."""
    loaded = loaded if loaded is not None else Loaded()
    index = -1
    for first_line, chunk in split_documents(text):
        if _is_blank(chunk):
            continue
        index += 1
        where = f"{source}#{index}"
        try:
            doc = yaml.safe_load(chunk)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = f" at line {first_line + mark.line + 1}" if mark is not None else ""
            reason = f"invalid YAML{line}: {getattr(err, 'problem', None) or err}"
            loaded.problems.append(Problem(where, reason))
            log.warning("skipping %s: %s", where, reason)
            continue
        if isinstance(doc, dict) and doc.get("kind") == "List" and "items" in doc:
            for item in doc.get("items") or []:
                _accept(item, where, loaded)
            continue
        _accept(doc, where, loaded)
    return loaded


def _accept(doc: Any, source: str, loaded: Loaded) -> None:
    reason = _check_object(doc)
    if reason is not None:
        loaded.problems.append(Problem(source, reason))
        log.warning("skipping %s: %s", source, reason)
        return
    if doc["metadata"].get("namespace") is None and doc["kind"] not in CLUSTER_SCOPED:
        doc["metadata"]["namespace"] = "default"
    doc["metadata"].setdefault("generation", 1)
    loaded.objects.append(doc)


# kinds without a namespace; every other kind read from a file defaults to "default", as kubectl
CLUSTER_SCOPED = frozenset({"GatewayClass", "Namespace", "IngressClass", "Node"})


def yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def load_directory(directory: Path) -> Loaded:
    loaded = Loaded()
    for path in yaml_files(directory):
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as err:
            loaded.problems.append(Problem(str(path), f"unreadable: {err}"))
            continue
        load_text(text, str(path.relative_to(directory)), loaded)
    return loaded


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    for path in yaml_files(directory):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


async def watch_directory(directory: Path, interval: float = 0.1) -> AsyncIterator[Loaded]:
    """Yield the directory's content now, then again each time a file changes."""
    last = None
    while True:
        current = await anyio.to_thread.run_sync(_fingerprint, directory)
        if current != last:
            last = current
            yield await anyio.to_thread.run_sync(load_directory, directory)
        await anyio.sleep(interval)


def default_config_dir() -> Path:
    return Path(os.environ.get("GATEWAY_CONTOUR_CONFIG_DIR", "."))
