"""Many YAML documents decoded at C++ speed, and trusted only where PyYAML would agree.

PyYAML, even over libyaml, builds every node in Python: ~135 us for a 135-byte Service, 52 s
for a 50 MB file of them. rapidyaml (`ryml`) parses a whole batch of documents in C++ and
emits each as JSON, which `json.loads` decodes in C: ~10x faster over all. Its reading is
not PyYAML's, though (YAML 1.2 scalars, no tags, aliases left as text), so a document decoded
here is used only when nothing in it can differ; for every other document `decode_batch`
gives None and the caller reads that one with PyYAML, as before:

- the text has a tag (`!`), a tab, a BOM or a `%` directive line: rapidyaml reads those
  differently or more leniently;
- the decoded value is not a mapping (blank documents come out here as None as well);
- any key or string value is one that PyYAML's implicit resolvers would turn into something
  other than a string (`yes`, `~`, `0x1F`, `010`, `2001-12-14`, `<<`, ...: rapidyaml keeps
  those as strings), or starts with `*` (an alias, which rapidyaml leaves unexpanded);
- any value is a float (PyYAML needs a dot and a signed exponent: `1e3` is a string to it);
- rapidyaml refuses the document, or it nests deeper than `bounded.MAX_DEPTH` (64) levels.

Whatever rapidyaml does type (decimal integers, true/false, null) PyYAML types the same way.
A failed parse names the line it stopped at; the batch is split there (or in the middle) and
both parts decoded again, so one broken document costs two parses, not the whole file.
rapidyaml prints its own error messages on stderr before raising.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
import threading
from typing import Any

import ryml
import yaml

from gateway_contour.providers import bounded
from gateway_contour.providers.bounded import MAX_DEPTH

_RESOLVERS: dict[Any, list[tuple[str, re.Pattern[str]]]] = yaml.SafeLoader.yaml_implicit_resolvers
# what rapidyaml may misread, and PyYAML is left to read (each part starts with "---\n", so a
# directive line is always "\n%")
_UNTRUSTED_TEXT = ("!", "&", "\t", "\ufeff", "\n%")
BATCH_DOCUMENTS = 4096


class Stopped(Exception):
    """Raised out of a parse whose `stop` event was set."""


def _typed_string_pattern() -> re.Pattern[str]:
    """A JSON string token whose content PyYAML's implicit resolvers would type (their own
    patterns, verbose as PyYAML writes them), or that starts with `*` (an alias). A plain
    scalar holds no tab, quote or backslash (tabs are untrusted above, the patterns have no
    quote or backslash), so its JSON form is its text and these patterns see it as PyYAML
    does; quoted scalars may match too, which only sends their document to PyYAML."""
    patterns = {
        pattern.pattern.removeprefix("^").removesuffix("$")
        for resolvers in _RESOLVERS.values()
        for _, pattern in resolvers
    }
    firsts = re.escape("".join(sorted(first for first in _RESOLVERS if first)))
    # the look-ahead turns most quotes away before the alternatives are tried: 3x faster
    typed = "|".join(sorted(patterns))
    return re.compile(rf'"(?=[{firsts}"])(?:\*|(?:{typed})")', re.VERBOSE)


_TYPED_STRING = _typed_string_pattern()


class _Float(ValueError):
    """A float in rapidyaml's JSON: PyYAML may read its text otherwise."""


def _refuse(_: str) -> Any:
    raise _Float


_DECODER = json.JSONDecoder(parse_float=_refuse, parse_constant=_refuse)


def decode_alike(emitted: list[str]) -> list[Any]:
    """rapidyaml's JSON of some documents decoded, each None where PyYAML may read it
    otherwise. One search and one decode for all of them: per document, the calls cost more
    than the work."""
    ends = list(itertools.accumulate(len(e) + 1 for e in emitted))  # +1: the joining comma
    joined = ",".join(emitted)
    found = _TYPED_STRING.search(joined)
    while found is not None:
        index = bisect.bisect_right(ends, found.start())
        emitted[index] = "null"
        found = _TYPED_STRING.search(joined, ends[index])
    try:
        values: list[Any] = _DECODER.decode("[" + ",".join(emitted) + "]")
        return values
    except (ValueError, RecursionError):  # a float somewhere: find it
        return [_decode_one(e) for e in emitted]


def _decode_one(emitted: str) -> Any:
    try:
        return _DECODER.decode(emitted)
    except (ValueError, RecursionError):
        return None


def decode_batch(chunks: list[str], stop: threading.Event | None = None) -> list[Any]:
    """For each chunk (one YAML document's text, no `---` line in it), its mapping when
    rapidyaml reads it as PyYAML would, else None."""
    out: list[Any] = [None] * len(chunks)
    for lo in range(0, len(chunks), BATCH_DOCUMENTS):
        if stop is not None and stop.is_set():
            raise Stopped
        pending = [(lo, min(lo + BATCH_DOCUMENTS, len(chunks)))]
        while pending:
            start, end = pending.pop()
            pending += _decode_range(chunks, start, end, out)
    return out


def _decode_range(chunks: list[str], start: int, end: int, out: list[Any]) -> list[tuple[int, int]]:
    """Decode chunks[start:end] into `out`; the sub-ranges to try again if the parse failed."""
    parts = [f"---\n{c}" if c.endswith("\n") or not c else f"---\n{c}\n" for c in chunks[start:end]]
    stream = "".join(parts)
    if _untrusted(stream):
        parts = ["---\n~\n" if _untrusted(p) else p for p in parts]
        stream = "".join(parts)
    try:
        tree = ryml.parse_in_arena(stream.encode())
    except ryml.ExceptionParse as err:
        return _split(parts, start, end, err.errdata_parse.ymlloc.line)
    docs = list(ryml.children(tree, tree.root_id()))
    if len(docs) != end - start:  # a `...` or directive made more documents than chunks
        return _split(parts, start, end, None)
    emitted = []
    for node in docs:
        try:
            text = ryml.emit_json_malloc(tree, node)
        except ryml.ExceptionBasic:  # deeper than the emitter goes
            text = "null"
        # the emitter lets one more level by when the innermost container is empty
        if text.count("[") + text.count("{") > MAX_DEPTH and bounded.exceeds(text.encode()):
            text = "null"
        emitted.append(text)
    for i, value in enumerate(decode_alike(emitted), start):
        if type(value) is dict:
            out[i] = value
    return []


def _untrusted(text: str) -> bool:
    return any(mark in text for mark in _UNTRUSTED_TEXT)


def _split(parts: list[str], start: int, end: int, line: int | None) -> list[tuple[int, int]]:
    """Where to cut a failed range: at the chunk holding the 1-based stream `line` the parse
    stopped on (the error may lie in the chunk before it, so that one stays on the left), or
    in the middle. A failed single chunk is left to PyYAML."""
    if end - start == 1:
        return []
    cut = (start + end) // 2
    if line is not None:
        starts, at = [], 0  # the stream's 0-based line of each chunk's `---`
        for part in parts:
            starts.append(at)
            at += part.count("\n")
        index = start + bisect.bisect_right(starts, line - 1) - 1
        cut = index if index > start else start + 1
    return [(start, cut), (cut, end)]
