"""The files provider: a directory of multi-document Kubernetes YAML as the source of truth.

Standalone mode reads objects from files instead of an API server. A malformed document (bad
YAML, not a mapping, no kind/name, nested deeper than `bounded.MAX_DEPTH`) is reported with
its file and document index and skipped; the other documents, and the other files, keep
working. Two documents naming one object (kind, namespace, name) are reported with both
places; the first one read (files in sorted order) is kept. `watch_directory` polls for
changes (mtime and size), parses again only the files that changed, and yields whenever the
directory's content changed.

YAML goes through libyaml (CSafeLoader) where PyYAML has it: ~8x faster than the pure loader.
Splitting a text into documents and counting their lines is linear in its size.
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

from gateway_contour.providers import bounded
from gateway_contour.status.report import Problem
from gateway_contour.store.objects import KubeObject, key_of

log = logging.getLogger(__name__)

YAML_SUFFIXES = (".yaml", ".yml", ".json")
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NESTING_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_NESTING_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


@dataclass(slots=True)
class Loaded:
    objects: list[KubeObject] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # where each object was read (file#index)


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
    for field_name in ("labels", "annotations"):
        if meta.get(field_name) is not None and not isinstance(meta[field_name], dict):
            return f"metadata.{field_name} is a {type(meta[field_name]).__name__}, not a mapping"
    # what the API server would refuse for every kind we read: a spec that is no object
    if doc.get("spec") is not None and not isinstance(doc["spec"], dict):
        return f"spec is a {type(doc['spec']).__name__}, not a mapping"
    return None


_DOCUMENT_SEPARATOR = re.compile(r"^---(?:[ \t].*)?(?:\n|$)", re.MULTILINE)


def split_documents(text: str) -> list[tuple[int, str]]:
    """Split a multi-document YAML text at its `---` lines, so that one broken document does
    not hide the ones after it (a YAML parser stops at the first error). Each document comes
    with the 0-based line of the file it starts on."""
    out = []
    start = line = 0
    for sep in _DOCUMENT_SEPARATOR.finditer(text):
        out.append((line, text[start : sep.start()]))
        line += text.count("\n", start, sep.end())
        start = sep.end()
    out.append((line, text[start:]))
    return out


def too_deep(chunk: str, limit: int = bounded.MAX_DEPTH) -> bool:
    """Whether one YAML document nests deeper than `limit`. Every level needs a flow bracket,
    or one more column of indentation or indicator (`- `, `? `) on some line, so a document
    whose brackets and widest such prefix add up to less is not walked; one that may be is
    measured on libyaml's event stream, which is not recursive."""
    flow = chunk.count("[") + chunk.count("{")
    block = max((len(ln) - len(ln.lstrip(" -?:")) for ln in chunk.splitlines()), default=0)
    if flow + block < limit:
        return False
    depth = 0
    for event in yaml.parse(chunk, Loader=SAFE_LOADER):
        if isinstance(event, _NESTING_STARTS):
            depth += 1
            if depth > limit:
                return True
        elif isinstance(event, _NESTING_ENDS):
            depth -= 1
    return False


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
            if too_deep(chunk):
                reason = f"nested deeper than {bounded.MAX_DEPTH} levels"
                loaded.problems.append(Problem(where, reason))
                log.warning("skipping %s: %s", where, reason)
                continue
            doc = yaml.load(chunk, Loader=SAFE_LOADER)
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
    loaded.sources.append(source)


# kinds without a namespace; every other kind read from a file defaults to "default", as kubectl
CLUSTER_SCOPED = frozenset({"GatewayClass", "Namespace", "IngressClass", "Node"})


def yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def _load_file(path: Path, source: str) -> Loaded:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        return Loaded(problems=[Problem(str(path), f"unreadable: {err}")])
    return load_text(text, source)


def _merge(parts: list[Loaded]) -> Loaded:
    """The objects of every file, each (kind, namespace, name) once: the first one read wins,
    a later one is reported with both places."""
    merged = Loaded()
    first_at: dict[Any, str] = {}
    for part in parts:
        merged.problems.extend(part.problems)
        for obj, where in zip(part.objects, part.sources, strict=True):
            key = key_of(obj)
            if key in first_at:
                reason = (
                    f"{key.kind} {key.namespace}/{key.name} is defined again; {first_at[key]} kept"
                )
                merged.problems.append(Problem(where, reason))
                log.warning("skipping %s: %s", where, reason)
                continue
            first_at[key] = where
            merged.objects.append(obj)
            merged.sources.append(where)
    return merged


class DirectoryReader:
    """Reads a directory again and again, parsing only the files whose mtime or size
    changed since the last read (a 50 MB file is not parsed again when another one is
    edited). Objects of unchanged files are the same dicts as before: nothing mutates them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[Path, tuple[tuple[int, int], Loaded]] = {}
        self.parsed = 0  # files parsed, over every read

    def read(self) -> Loaded:
        files: dict[Path, tuple[tuple[int, int], Loaded]] = {}
        for path in yaml_files(self.directory):
            try:
                st = path.stat()
            except OSError:
                continue
            stamp = (st.st_mtime_ns, st.st_size)
            known = self._files.get(path)
            if known is None or known[0] != stamp:
                self.parsed += 1
                known = (stamp, _load_file(path, str(path.relative_to(self.directory))))
            files[path] = known
        self._files = files
        return _merge([loaded for _, loaded in files.values()])


def load_directory(directory: Path) -> Loaded:
    return DirectoryReader(directory).read()


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
    """Yield the directory's content now, then again each time a file changes. Parsing runs
    in a worker thread (the event loop, and with it the xDS server and SIGTERM, stay live
    while a large file is read)."""
    reader = DirectoryReader(directory)
    last = None
    while True:
        current = await anyio.to_thread.run_sync(_fingerprint, directory)
        if current != last:
            last = current
            yield await anyio.to_thread.run_sync(reader.read)
        await anyio.sleep(interval)


def default_config_dir() -> Path:
    return Path(os.environ.get("GATEWAY_CONTOUR_CONFIG_DIR", "."))
