"""Block-style YAML for the plain data `migrate` writes (dicts with string keys, lists,
strings, integers, booleans, None), without PyYAML's representer.

PyYAML's representer and resolver run in Python even with libyaml's emitter: on 1,000
Ingresses they were ~1 s of the command's ~1.2 s (issue 19). This writes the same layout
(two-space indent, sequences flush with their key, `{}` and `[]` when empty, keys in
insertion order) straight to text. A string is written plain only when it is made of
name-like characters and a YAML 1.1 reader (PyYAML's resolver; also Go's `y`/`n`) would read
it back as that string; otherwise single-quoted when it is printable ASCII, else double-quoted with
every character outside printable ASCII escaped, so each value reads back exactly as it was.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

_STR_TAG = "tag:yaml.org,2002:str"
_NAME_LIKE = re.compile(r"[A-Za-z0-9_./][-A-Za-z0-9_./]*")
_PRINTABLE = re.compile(r"[ -~]*")
_GO_BOOLS = frozenset({"y", "Y", "n", "N"})
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_resolver = yaml.resolver.Resolver()
_scalars: dict[str, str] = {}


def _quoted(value: str) -> str:
    if _PRINTABLE.fullmatch(value):  # as PyYAML does: single quotes, nothing escaped
        return "'" + value.replace("'", "''") + "'"
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif " " <= ch <= "~":
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def scalar_text(value: str) -> str:
    """`value` as a YAML scalar that reads back as this string."""
    found = _scalars.get(value)
    if found is None:
        plain = (
            _NAME_LIKE.fullmatch(value) is not None
            and value not in _GO_BOOLS
            and _resolver.resolve(yaml.ScalarNode, value, (True, False)) == _STR_TAG
        )
        found = value if plain else _quoted(value)
        if len(_scalars) < 100_000:
            _scalars[value] = found
    return found


def _scalar(value: Any) -> str | None:
    """The text of a scalar or an empty dict or list, or None for another dict or list."""
    if isinstance(value, str):
        return scalar_text(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        # YAML 1.1 reads "1e-05" as a string: a float needs its dot
        return text if "." in text or "e" not in text else text.replace("e", ".0e")
    if isinstance(value, dict):
        return None if value else "{}"
    if isinstance(value, (list, tuple)):
        return None if value else "[]"
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")


def _mapping(data: dict[str, Any], indent: str, out: list[str], first: str) -> None:
    """Each key on its own line at `indent`, the first one after `first` (a `- `)."""
    lead = first
    for key, value in data.items():
        if not isinstance(key, str):
            raise TypeError(f"cannot write a {type(key).__name__} key as YAML")
        key_text = scalar_text(key)
        if len(key_text) > 1000:  # YAML allows simple keys up to 1024 characters
            out.append(f"{lead}? {key_text}\n")
            head = indent + ":"
        else:
            head = lead + key_text + ":"
        lead = indent
        text = _scalar(value)
        if text is not None:
            out.append(f"{head} {text}\n")
        elif isinstance(value, dict):
            out.append(head + "\n")
            _mapping(value, indent + "  ", out, indent + "  ")
        else:
            out.append(head + "\n")
            _sequence(value, indent, out)


def _sequence(data: list[Any] | tuple[Any, ...], indent: str, out: list[str]) -> None:
    for value in data:
        text = _scalar(value)
        if text is not None:
            out.append(f"{indent}- {text}\n")
        elif isinstance(value, dict):
            _mapping(value, indent + "  ", out, indent + "- ")
        else:
            # a list in a list: "- - a" on the first line, the rest under it
            inner: list[str] = []
            _sequence(value, indent + "  ", inner)
            inner[0] = indent + "- " + inner[0][len(indent) + 2 :]
            out.extend(inner)


def dump(data: Any) -> str:
    """One document, without a `---` line."""
    out: list[str] = []
    text = _scalar(data)
    if text is not None:
        return text + "\n"
    if isinstance(data, dict):
        _mapping(data, "", out, "")
    else:
        _sequence(data, "", out)
    return "".join(out)


def dump_all(documents: list[Any]) -> str:
    """Every document after a `---` line."""
    return "".join("---\n" + dump(doc) for doc in documents)
