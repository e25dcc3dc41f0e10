"""JSON decoding with a nesting bound, so that no object a user stores can stop the controller.

The API server stores whatever a field marked `x-kubernetes-preserve-unknown-fields` holds
(an HTTPProxy's `virtualhost.authorization`, for one), nested thousands of levels deep.
Python's decoder raises RecursionError past ~1,000 levels, and every recursive reader after it
(the store's comparisons, translation, YAML dumps) fails far earlier than Envoy would care. So
each input is checked before it is decoded, and only the objects too deep are cut:

- `exceeds(raw, limit)` says whether a JSON text nests deeper than `limit`, at C speed (strings
  removed by one regex, then one regex pass per level over the brackets left): ~1 ms for a
  500-item LIST page.
- `loads(raw, limit)` decodes; past the bound, every subtree deeper than `limit` is replaced by
  the string `CUT` first (a single pass over the tokens, in Python: only on this bad path), so
  the object's metadata can still name it in a log line and a status.
- `is_cut(value)` finds that marker in a decoded object.

MAX_DEPTH is far beyond any object the APIs we read define (an HTTPRoute's deepest field is
~12 levels down) and far below what any recursive reader minds.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
CUT = "\x00gateway-contour: nested deeper than the bound"
_CUT_JSON = json.dumps(CUT).encode()

# a JSON string, escapes included (the unrolled form: no backtracking inside long strings)
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_STRINGS = re.compile(_STRING)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")
_TOKENS = re.compile(_STRING + rb"|[\[\]{}]")


def exceeds(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text `raw` nests deeper than `limit` (arrays and objects)."""
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if len(brackets) <= 2 * limit:
        return False
    for _ in range(limit):
        brackets = _INNERMOST.sub(b"", brackets)
        if not brackets:
            return False
    return True


def cut_deep(raw: bytes, limit: int = MAX_DEPTH) -> bytes:
    """`raw` with every array or object that starts deeper than `limit` replaced by CUT."""
    out: list[bytes] = []
    depth, kept_until, cut_from = 0, 0, -1
    for token in _TOKENS.finditer(raw):
        first = raw[token.start()]
        if first in b"[{":
            depth += 1
            if depth == limit + 1:
                cut_from = token.start()
        elif first in b"]}":
            depth -= 1
            if depth == limit and cut_from >= 0:
                out += (raw[kept_until:cut_from], _CUT_JSON)
                kept_until, cut_from = token.end(), -1
    out.append(raw[kept_until:])
    return b"".join(out)


def loads(raw: bytes | str, limit: int = MAX_DEPTH) -> tuple[Any, bool]:
    """The decoded value and whether parts of it deeper than `limit` were cut (CUT stands in
    their place). ValueError for text that is not JSON, as `json.loads`."""
    data = raw.encode() if isinstance(raw, str) else raw
    if not exceeds(data, limit):
        return json.loads(data), False
    return json.loads(cut_deep(data, limit)), True


def is_cut(value: Any) -> bool:
    """Whether `value` (as `loads` gave it) holds CUT anywhere; iterative, any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item == CUT:
            return True
    return False
