"""The files provider: a directory of multi-document Kubernetes YAML as the source of truth.

Standalone mode reads objects from files instead of an API server. A malformed document (bad
YAML, not a mapping, no kind/name, nested deeper than `bounded.MAX_DEPTH`), and one the API
server would refuse (gateway_contour.validation: the CRDs' schemas and CEL rules, the built-in
kinds' rules, metadata), is reported with its file and document index and skipped; the other
documents, and the other files, keep working. Two documents naming one object (kind,
namespace, name) are reported with both places; the first one read (files in sorted order) is
kept. `watch_directory` polls for
changes (mtime and size), parses again only the files that changed, each in a thread of its
own, and yields whenever the directory's content changed (see its docstring for what is
served while a large file is still being read).

The values are PyYAML's (YAML 1.1, libyaml's CSafeLoader where PyYAML has it). Most documents
are decoded by rapidyaml instead (fast_documents: a 50 MB file in ~8 s rather than 52 s) and
only where PyYAML would give the same value; the rest, and every broken document, still go
through PyYAML, so problems read as before. Splitting a text into documents and counting
their lines is linear in its size.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import yaml

from gateway_contour.providers import bounded, fast_documents
from gateway_contour.providers.background_parses import BackgroundParses
from gateway_contour.providers.fast_documents import Stopped
from gateway_contour.providers.gc_pause import paused_gc
from gateway_contour.status.report import Problem
from gateway_contour.store.objects import KubeObject, key_of
from gateway_contour.validation import refusal

log = logging.getLogger(__name__)

YAML_SUFFIXES = (".yaml", ".yml", ".json")
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NESTING_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_NESTING_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


# a document's text (its digest) and its place in a List (-1: not in one) -> the validation
# verdict it got: the refusal, or None. A file read again reuses its unchanged documents'
# verdicts: an edit to one route of a 10,000-route file validates that one route again.
Verdicts = dict[tuple[bytes, int], "str | None"]


@dataclass(slots=True)
class Loaded:
    objects: list[KubeObject] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # where each object was read (file#index)
    verdicts: Verdicts = field(default_factory=dict)
    validated: int = 0  # documents validated in this read (not taken from `previous`)


def _digest(chunk: str) -> bytes:
    return hashlib.blake2b(chunk.encode(), digest_size=16).digest()


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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_text(value: Any, path: str = "") -> str | None:
    """Where `value` holds a string with an unpaired surrogate (a YAML "\\ud800" escape),
    which no UTF-8 can encode: the API server gets only UTF-8, and every later step (JSON
    Schema, protobuf, hashing) would fail on it. The document is refused, naming the field."""
    if isinstance(value, str):
        return f"{path or 'document'}: not valid UTF-8 text" if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for name, item in value.items():
            where = f"{path}.{name}" if path else str(name)
            if isinstance(name, str) and _SURROGATE.search(name):
                return f"{path or 'document'}: a field name is not valid UTF-8 text"
            found = _not_text(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _not_text(item, f"{path}[{i}]")
            if found:
                return found
    return None


def _refusal(doc: dict[str, Any]) -> str | None:
    """What the API server would answer to creating `doc` (validation), or None. A bug of
    ours in the checks is logged and lets the object through rather than dropping it."""
    try:
        return refusal(doc)
    except Exception:
        log.exception("validating %s %s failed", doc["kind"], doc["metadata"]["name"])
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


def load_text(
    text: str,
    source: str,
    loaded: Loaded | None = None,
    stop: threading.Event | None = None,
    previous: Verdicts | None = None,
) -> Loaded:
    """Parse one multi-document YAML text; `source` names it in problems as `source#index`,
    counting the documents that have content from 0. Setting `stop` (from another thread)
    ends the parse with `Stopped`. A document whose text has a verdict in `previous` (the
    last read of the same file) is not validated again."""
    loaded = loaded if loaded is not None else Loaded()
    previous = previous or {}
    chunks = split_documents(text)
    decoded = fast_documents.decode_batch([chunk for _, chunk in chunks], stop)
    index = -1
    for i, (first_line, chunk) in enumerate(chunks):
        doc = decoded[i]
        if doc is None:
            if i % 256 == 0 and stop is not None and stop.is_set():
                raise Stopped
            if _is_blank(chunk):
                continue
            index += 1
            doc = _load_chunk(chunk, first_line, f"{source}#{index}", loaded)
            if doc is _SKIPPED:
                continue
        else:
            index += 1
        where = f"{source}#{index}"
        digest = _digest(chunk)
        # only a \u or \U escape (or \x, \N...) can give a string that is no text
        escapes = "\\" in chunk
        if isinstance(doc, dict) and doc.get("kind") == "List" and "items" in doc:
            for position, item in enumerate(doc.get("items") or []):
                _accept(item, where, loaded, (digest, position), previous, escapes)
            continue
        _accept(doc, where, loaded, (digest, -1), previous, escapes)
    return loaded


_SKIPPED = object()


def _load_chunk(chunk: str, first_line: int, where: str, loaded: Loaded) -> Any:
    """One document read by PyYAML, or _SKIPPED with the reason added to `loaded.problems`."""
    try:
        if too_deep(chunk):
            reason = f"nested deeper than {bounded.MAX_DEPTH} levels"
        else:
            return yaml.load(chunk, Loader=SAFE_LOADER)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" at line {first_line + mark.line + 1}" if mark is not None else ""
        reason = f"invalid YAML{line}: {getattr(err, 'problem', None) or err}"
    loaded.problems.append(Problem(where, reason))
    log.warning("skipping %s: %s", where, reason)
    return _SKIPPED


def _accept(
    doc: Any,
    source: str,
    loaded: Loaded,
    key: tuple[bytes, int],
    previous: Verdicts,
    escapes: bool = False,
) -> None:
    reason = _check_object(doc)
    if reason is None and escapes:
        reason = _not_text(doc)
    if reason is None:
        if key in previous:
            reason = previous[key]
        else:
            reason = _refusal(doc)
            loaded.validated += 1
        loaded.verdicts[key] = reason
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


LARGE_FILE = 1_000_000  # bytes: a file this large is logged when its reading starts and ends


def _load_file(
    path: Path,
    source: str,
    stop: threading.Event | None = None,
    previous: Loaded | None = None,
) -> Loaded:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        return Loaded(problems=[Problem(str(path), f"unreadable: {err}")])
    large = len(text) >= LARGE_FILE
    if large:
        log.info("reading %s (%.1f MB)", source, len(text) / 1e6)
    started = time.perf_counter()
    with paused_gc():
        loaded = load_text(
            text, source, stop=stop, previous=previous.verdicts if previous else None
        )
    if large:
        took = time.perf_counter() - started
        log.info(
            "read %s: %d objects (%d validated) in %.1f s",
            source,
            len(loaded.objects),
            loaded.validated,
            took,
        )
    return loaded


def _merge(parts: list[Loaded]) -> Loaded:
    """The objects of every file, each (kind, namespace, name) once: the first one read wins,
    a later one is reported with both places."""
    with paused_gc():
        return _merge_parts(parts)


def _merge_parts(parts: list[Loaded]) -> Loaded:
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
        self.validated = 0  # documents validated, over every read

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
                source = str(path.relative_to(self.directory))
                last = known[1] if known is not None else None
                known = (stamp, _load_file(path, source, previous=last))
                self.validated += known[1].validated
            files[path] = known
        self._files = files
        return _merge([loaded for _, loaded in files.values()])


def load_directory(directory: Path) -> Loaded:
    return DirectoryReader(directory).read()


def load_paths(paths: Sequence[Path]) -> Loaded:
    """The objects of YAML files and directories, read as `run` reads its directory: each
    file through the same checks, a directory's files named relative to it and a file as
    given, an object defined twice reported and its first definition kept."""
    parts = []
    for path in paths:
        if path.is_dir():
            parts += [_load_file(f, str(f.relative_to(path))) for f in yaml_files(path)]
        else:
            parts.append(_load_file(path, str(path)))
    return _merge(parts)


def _stamps(directory: Path) -> dict[Path, tuple[int, int]]:
    """Each YAML file of `directory` with its (mtime, size)."""
    out = {}
    for path in yaml_files(directory):
        try:
            st = path.stat()
        except OSError:
            continue
        out[path] = (st.st_mtime_ns, st.st_size)
    return out


async def watch_directory(directory: Path, interval: float = 0.1) -> AsyncIterator[Loaded]:
    """Yield the directory's content once every file has been read, then again each time a
    file's new content has been read (every `interval` it looks for changes).

    Each file is parsed in a thread of its own (background_parses), so the event loop, and
    with it the xDS server and SIGTERM, stay live while a large file is read, and a change to
    a small file is served while a large one is still being read again: until then the
    large one counts with the content it had. The first yield waits for every file, so that
    no partial world is ever served (with half the routes missing, Envoy would drop them and
    add them back). Cancelling the iteration stops the parses still running."""
    files: dict[Path, tuple[tuple[int, int], Loaded]] = {}

    def parse(path: Path, stop: threading.Event) -> Loaded:
        last = files.get(path)  # the content served until this parse ends
        source = str(path.relative_to(directory))
        return _load_reported(path, source, stop, last[1] if last is not None else None)

    parses: BackgroundParses[tuple[int, int], Loaded] = BackgroundParses(parse)
    served = False
    try:
        while True:
            current = await anyio.to_thread.run_sync(_stamps, directory, abandon_on_cancel=True)
            changed = _follow(current, files, parses)
            if (changed or not served) and (served or parses.idle()):
                parts = [files[path][1] for path in sorted(files)]
                yield await anyio.to_thread.run_sync(_merge, parts, abandon_on_cancel=True)
                served = True
            await anyio.sleep(interval)
    finally:
        parses.close()


def _load_reported(
    path: Path, source: str, stop: threading.Event, previous: Loaded | None = None
) -> Loaded:
    """`_load_file`, with a bug of ours in it reported on the file (read again only once it
    changes) instead of ending its parse with nothing, to be retried at every poll."""
    try:
        return _load_file(path, source, stop, previous)
    except Stopped:
        raise
    except Exception as err:
        log.exception("reading %s failed", source)
        return Loaded(problems=[Problem(source, f"could not be read: {err!r}")])


def _follow(
    current: dict[Path, tuple[int, int]],
    files: dict[Path, tuple[tuple[int, int], Loaded]],
    parses: BackgroundParses[tuple[int, int], Loaded],
) -> bool:
    """Bring `files` up to the parses that ended, start parses of the files that changed;
    whether `files` changed."""
    changed = False
    for path in [p for p in files if p not in current]:
        del files[path]
        parses.cancel(path)
        changed = True
    for path, stamp in current.items():
        known = files.get(path)
        if (known is None or known[0] != stamp) and parses.stamp_of(path) != stamp:
            parses.start(path, stamp)
    for path, stamp, loaded in parses.finished():
        if path in current:
            files[path] = (stamp, loaded)
            changed = True
    return changed


def default_config_dir() -> Path:
    return Path(os.environ.get("GATEWAY_CONTOUR_CONFIG_DIR", "."))
