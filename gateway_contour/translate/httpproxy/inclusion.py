"""Delegation: the routes a root HTTPProxy serves, its own and those of the proxies it
includes (transitively, across namespaces).

Each include names a proxy (`namespace` defaults to the includer's) and may carry
conditions, which are prepended to every route of the included proxy. Problems are
IncludeErrors on the includer: the included proxy is missing (IncludeNotFound) or is itself
a root (RootIncludesRoot), the include has an exact or regex path condition
(PathMatchConditionsNotValid), or two includes carry the same conditions
(DuplicateMatchConditions). An include leading back to a proxy already on the path is an
IncludeCreatesCycle error on that proxy (the one entered again; the message shows the
cycle). Like Contour, a proxy with an error contributes no routes (nor do the proxies below
it), except for a missing or root include: the includer keeps its other routes and answers
502 under that include's conditions. A valid child below an invalid includer is still
reached, so it is never reported orphaned for its parent's mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway_contour.ir.model import DirectResponse, PathMatchKind, Route
from gateway_contour.store.objects import KubeObject
from gateway_contour.translate.data import dicts, mapping, text
from gateway_contour.translate.httpproxy import status as st
from gateway_contour.translate.httpproxy.conditions import Conditions, parse_block
from gateway_contour.translate.httpproxy.routes import CompiledRoute
from gateway_contour.translate.httpproxy.unsupported import warn_unsupported

Key = tuple[str, str]
# (route spec, inherited conditions, namespace, name, index, the proxy's status) -> compiled
RouteCompiler = Callable[
    [dict[str, Any], Conditions, str, str, int, st.ProxyStatus],
    CompiledRoute | None,
]


class Inclusion:
    __slots__ = ("_compile", "_proxies", "_statuses")

    def __init__(
        self,
        proxies: Mapping[Key, KubeObject],
        statuses: Mapping[Key, st.ProxyStatus],
        compile_route: RouteCompiler,
    ) -> None:
        self._proxies = proxies
        self._statuses = statuses
        self._compile = compile_route

    def routes(self, root: Key) -> list[CompiledRoute] | None:
        """Every route served under `root`; None when the root itself has errors."""
        return self._visit(root, Conditions(), (root,))

    def _visit(
        self, key: Key, inherited: Conditions, path: tuple[Key, ...]
    ) -> list[CompiledRoute] | None:
        status = self._statuses[key]
        spec = mapping(self._proxies[key].get("spec"))
        warn_unsupported(spec, status.warn)  # repeats are kept once
        status.reached = True
        namespace, name = key
        out: list[CompiledRoute] = []
        for index, route in enumerate(dicts(spec.get("routes"))):
            compiled = self._compile(route, inherited, namespace, name, index, status)
            if compiled is not None:
                out.append(compiled)
        seen: set[tuple[object, ...]] = set()
        for index, include in enumerate(dicts(spec.get("includes"))):
            self._include(key, index, include, inherited, path, seen, out)
        if not spec.get("routes") and not spec.get("includes") and not spec.get("tcpproxy"):
            status.error(
                st.SPEC_ERROR,
                "NothingDefined",
                "HTTPProxy.Spec must have at least one Route, Include, or a TCPProxy",
            )
        return out if status.serves else None

    def _include(
        self,
        key: Key,
        index: int,
        include: dict[str, Any],
        inherited: Conditions,
        path: tuple[Key, ...],
        seen: set[tuple[object, ...]],
        out: list[CompiledRoute],
    ) -> None:
        """One include of `key`: the child's routes into `out`, or an error on the status
        of the proxy at fault (the includer; for a cycle, the proxy entered again)."""
        status = self._statuses[key]
        child = (text(include.get("namespace")) or key[0], text(include.get("name")))
        shown = f"{child[0]}/{child[1]}"
        conditions = parse_block(include.get("conditions"))
        if isinstance(conditions, str):
            status.error(
                st.INCLUDE_ERROR, "IncludeMatchConditionsNotValid", f"include {shown}: {conditions}"
            )
            return
        if conditions.key() in seen:
            status.error(
                st.INCLUDE_ERROR,
                "DuplicateMatchConditions",
                "duplicate conditions defined on an include",
            )
            return
        seen.add(conditions.key())
        merged = inherited.then(conditions)
        if isinstance(merged, str):
            status.error(
                st.INCLUDE_ERROR, "IncludeMatchConditionsNotValid", f"include {shown}: {merged}"
            )
            return
        bad_path = conditions.path_kind is not PathMatchKind.STRING_PREFIX
        if bad_path:
            status.error(
                st.INCLUDE_ERROR,
                "PathMatchConditionsNotValid",
                f"include {shown}: only prefix path conditions are allowed in includes",
            )
        obj = self._proxies.get(child)
        if obj is None or mapping(obj.get("spec")).get("virtualhost") is not None:
            if obj is None:
                status.error(st.INCLUDE_ERROR, "IncludeNotFound", f"include {shown} not found")
            else:
                status.error(
                    st.INCLUDE_ERROR,
                    "RootIncludesRoot",
                    f"root httpproxy cannot include another root httpproxy ({shown})",
                )
            if not bad_path and conditions.key() != Conditions().key():
                out.append(_bad_gateway(key, index, merged))
            return
        if child in path:
            cycle = " -> ".join(f"{ns}/{n}" for ns, n in (*path, child))
            self._statuses[child].error(
                st.INCLUDE_ERROR,
                "IncludeCreatesCycle",
                f"include creates an include cycle: {cycle}",
            )
            return
        # under a bad path condition the child is still checked (and reached) on its own,
        # without the include's conditions, and serves nothing here
        found = self._visit(child, inherited if bad_path else merged, (*path, child))
        if found is not None and not bad_path:
            out.extend(found)


def _bad_gateway(key: Key, index: int, conditions: Conditions) -> CompiledRoute:
    """What Contour serves under the conditions of an include that names no usable proxy:
    502, while the includer's other routes keep serving."""
    namespace, name = key
    route = Route(
        name=f"httpproxy/{namespace}/{name}/include/{index}",
        match=conditions.to_match(),
        action=DirectResponse(502),
        source=f"HTTPProxy/{namespace}/{name}",
    )
    return CompiledRoute(route, conditions)
