"""HTTPProxy match conditions (routes[].conditions, includes[].conditions) -> IR matches.

A condition block is a list of single-key mappings: `prefix`, `exact`, `regex` (path; at
most one per block, starting with "/"), `header` and `queryParameter`. An include's block
is prepended to every route of the included proxy: path prefixes concatenate ("/api" +
"/v1" -> "/api/v1"; an exact or regex path of the child keeps the parent's prefix in front),
header and query conditions add up. Path prefixes are plain string prefixes, as in Contour.
`treatMissingAsEmpty` makes a notcontains / notexact header condition hold for a request
without the header (Contour ignores it on the other operators).

`parse_block` returns a `Conditions` or the message of the RouteError / IncludeError it
deserves; nothing here raises on user data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway_contour.ir.model import (
    HeaderMatch,
    Match,
    PathMatch,
    PathMatchKind,
    QueryMatch,
    StringMatchKind,
)
from gateway_contour.translate.data import mapping, text
from gateway_contour.translate.envoy_checks.regex import regex_error

# header condition operator -> (IR kind, inverted)
_HEADER_OPS = {
    "present": (StringMatchKind.PRESENT, False),
    "notpresent": (StringMatchKind.PRESENT, True),
    "contains": (StringMatchKind.CONTAINS, False),
    "notcontains": (StringMatchKind.CONTAINS, True),
    "exact": (StringMatchKind.EXACT, False),
    "notexact": (StringMatchKind.EXACT, True),
    "regex": (StringMatchKind.REGEX, False),
}
_MISSING_AS_EMPTY_OPS = frozenset({"notcontains", "notexact"})
_QUERY_OPS = {
    "exact": StringMatchKind.EXACT,
    "prefix": StringMatchKind.PREFIX,
    "suffix": StringMatchKind.SUFFIX,
    "regex": StringMatchKind.REGEX,
    "contains": StringMatchKind.CONTAINS,
    "present": StringMatchKind.PRESENT,
}


@dataclass(frozen=True, slots=True)
class Conditions:
    """Merged conditions: a path (kind, value) plus header and query matches."""

    path_kind: PathMatchKind = PathMatchKind.STRING_PREFIX
    path: str = ""  # "" is no path condition (prefix "/")
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[QueryMatch, ...] = ()

    @property
    def prefix(self) -> str:
        """The string prefix every matching path starts with."""
        return self.path if self.path_kind is PathMatchKind.STRING_PREFIX else ""

    def then(self, child: Conditions) -> Conditions | str:
        """These (an include's) followed by `child`'s; a message when they cannot combine."""
        if self.path_kind is not PathMatchKind.STRING_PREFIX:
            return "include conditions may only use a prefix path condition"
        kind, path = child.path_kind, child.path
        if kind is PathMatchKind.REGEX:
            path = re.escape(self.path) + path if self.path else path
            # the include's prefix in front may take it over Envoy's size limit
            if reason := regex_error(path):
                return f"regex condition under include prefix {self.path!r}: {reason}"
        elif self.path:
            path = _join(self.path, path) if path else self.path
        return Conditions(kind, path, self.headers + child.headers, self.query + child.query)

    def to_match(self) -> Match:
        return Match(
            path=PathMatch(self.path_kind, self.path or "/"),
            headers=self.headers,
            query=self.query,
        )

    def key(self) -> tuple[object, ...]:
        """Identity for duplicate detection (order of header/query conditions ignored)."""
        return (self.path_kind, self.path or "/", frozenset(self.headers), frozenset(self.query))


def _join(parent: str, child: str) -> str:
    if parent.endswith("/") and child.startswith("/"):
        return parent + child[1:]
    return parent + child


def parse_block(block: object) -> Conditions | str:
    path_kind, path = PathMatchKind.STRING_PREFIX, ""
    seen_path = False
    headers: list[HeaderMatch] = []
    query: list[QueryMatch] = []
    if block is not None and not isinstance(block, list):
        return "conditions must be a list"
    for entry in block or []:
        entry = mapping(entry)
        for key in ("prefix", "exact", "regex"):
            if key not in entry:
                continue
            if seen_path:
                return "more than one path condition (prefix, exact, regex) in a condition block"
            seen_path = True
            value = text(entry.get(key))
            if key != "regex" and not value.startswith("/"):
                return f"{key} conditions must start with /, got {value!r}"
            if key == "regex" and (reason := regex_error(value)):
                return f"regex condition: {reason}"
            path_kind = {
                "prefix": PathMatchKind.STRING_PREFIX,
                "exact": PathMatchKind.EXACT,
                "regex": PathMatchKind.REGEX,
            }[key]
            path = value
        if "header" in entry:
            found = _header(mapping(entry.get("header")))
            if isinstance(found, str):
                return found
            headers.append(found)
        if "queryParameter" in entry:
            found_q = _query(mapping(entry.get("queryParameter")))
            if isinstance(found_q, str):
                return found_q
            query.append(found_q)
    return Conditions(path_kind, path, tuple(headers), tuple(query))


def _header(spec: dict[str, object]) -> HeaderMatch | str:
    name = text(spec.get("name")).strip().lower()
    if not name:
        return "a header condition needs a name"
    ops = [op for op in _HEADER_OPS if _given(spec.get(op), _HEADER_OPS[op][0])]
    if len(ops) != 1:
        return f"header condition {name!r} must set exactly one of {', '.join(_HEADER_OPS)}"
    kind, invert = _HEADER_OPS[ops[0]]
    value = "" if kind is StringMatchKind.PRESENT else text(spec.get(ops[0]))
    if kind is StringMatchKind.REGEX and (reason := regex_error(value)):
        return f"header condition {name!r}: {reason}"
    # as in Contour, only the negated value matches treat a missing header as ""
    missing_empty = ops[0] in _MISSING_AS_EMPTY_OPS and spec.get("treatMissingAsEmpty") is True
    return HeaderMatch(name, value, kind, invert, spec.get("ignoreCase") is True, missing_empty)


def _query(spec: dict[str, object]) -> QueryMatch | str:
    name = text(spec.get("name"))
    if not name:
        return "a queryParameter condition needs a name"
    ops = [op for op in _QUERY_OPS if _given(spec.get(op), _QUERY_OPS[op])]
    if len(ops) != 1:
        return f"queryParameter condition {name!r} must set exactly one of {', '.join(_QUERY_OPS)}"
    kind = _QUERY_OPS[ops[0]]
    value = "" if kind is StringMatchKind.PRESENT else text(spec.get(ops[0]))
    if kind is StringMatchKind.REGEX and (reason := regex_error(value)):
        return f"queryParameter condition {name!r}: {reason}"
    return QueryMatch(name, value, kind, spec.get("ignoreCase") is True)


def _given(value: object, kind: StringMatchKind) -> bool:
    """Whether an operator is set: `present`-style ones by true, the others by a non-empty
    string (YAML turns an unquoted yes/no into a boolean, which is not a header value)."""
    if kind is StringMatchKind.PRESENT:
        return value is True
    return isinstance(value, str) and value != ""
