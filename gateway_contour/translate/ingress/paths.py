"""Ingress paths -> IR path matches, and their order in a virtual host.

- `Exact` -> an exact match.
- `Prefix` -> a segment prefix (Kubernetes: "/foo" matches "/foo", "/foo/" and "/foo/bar",
  not "/foobar"; a trailing slash does not matter).
- `ImplementationSpecific` (and a missing pathType) -> Contour's historical behaviour: a
  regular expression on the whole path when the path holds any of `^+*[]%`, else a plain
  string prefix ("/foo" also matches "/foobar"). A regex Envoy would refuse (not RE2, or
  over its program size limit: `envoy_checks.regex`) is an error of that path alone.

An empty path is "/". Every other path must start with "/".

Envoy takes the first route that matches, so routes are ordered: exact before the rest,
longer paths before shorter ones, at equal length a prefix before a regex; ties keep the
order of the objects (namespace, name), their rules and paths.
"""

from __future__ import annotations

from typing import Any

from gateway_contour.ir.model import PathMatch, PathMatchKind
from gateway_contour.translate.envoy_checks.regex import regex_error

REGEX_CHARACTERS = frozenset("^+*[]%")
PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")


class PathError(ValueError):
    pass


def path_match(path_type: Any, path: Any) -> PathMatch:
    """The IR match for one Ingress path; PathError says why it cannot be one."""
    if path is None or path == "":
        path = "/"
    if not isinstance(path, str):
        raise PathError(f"path {path!r} is not a string")
    if path_type is None:
        path_type = "ImplementationSpecific"
    if path_type not in PATH_TYPES:
        raise PathError(f"pathType {path_type!r} is not one of {', '.join(PATH_TYPES)}")
    if path_type == "ImplementationSpecific" and REGEX_CHARACTERS.intersection(path):
        if reason := regex_error(path):
            raise PathError(reason)
        return PathMatch(PathMatchKind.REGEX, path)
    if not path.startswith("/"):
        raise PathError(f"path {path!r} must start with '/'")
    if path_type == "Exact":
        return PathMatch(PathMatchKind.EXACT, path)
    if path_type == "Prefix":
        return PathMatch(PathMatchKind.PREFIX, path)
    return PathMatch(PathMatchKind.STRING_PREFIX, path)


def precedence(match: PathMatch) -> tuple[int, int, int]:
    """The path's share of a route's sort key: smaller sorts first (wins)."""
    return (
        0 if match.kind is PathMatchKind.EXACT else 1,
        -len(match.value),
        1 if match.kind is PathMatchKind.REGEX else 0,
    )
