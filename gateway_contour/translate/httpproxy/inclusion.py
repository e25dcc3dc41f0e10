"""Delegation: the routes a root HTTPProxy serves, its own and those of the proxies it
includes (transitively, across namespaces).

Each include names a proxy (`namespace` defaults to the includer's) and may carry
conditions, which are prepended to every route of the included proxy. Problems are
IncludeErrors on the includer: the included proxy is missing (IncludeNotFound), is itself
a root (RootIncludesRoot), leads back to a proxy already on the path (IncludeCreatesCycle,
the message shows the cycle), or two includes carry the same conditions
(DuplicateMatchConditions). Like Contour, a proxy with any error contributes no routes (nor
do the proxies below it); a valid child below an invalid includer is still reached, so it
is never reported orphaned for its parent's mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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
        for include in dicts(spec.get("includes")):
            child = (text(include.get("namespace")) or namespace, text(include.get("name")))
            shown = f"{child[0]}/{child[1]}"
            conditions = parse_block(include.get("conditions"))
            if isinstance(conditions, str):
                status.error(
                    st.INCLUDE_ERROR,
                    "IncludeMatchConditionsNotValid",
                    f"include {shown}: {conditions}",
                )
                continue
            if conditions.key() in seen:
                status.error(
                    st.INCLUDE_ERROR,
                    "DuplicateMatchConditions",
                    "duplicate conditions defined on an include",
                )
                continue
            seen.add(conditions.key())
            obj = self._proxies.get(child)
            if obj is None:
                status.error(st.INCLUDE_ERROR, "IncludeNotFound", f"include {shown} not found")
                continue
            if mapping(obj.get("spec")).get("virtualhost") is not None:
                status.error(
                    st.INCLUDE_ERROR,
                    "RootIncludesRoot",
                    f"root httpproxy cannot include another root httpproxy ({shown})",
                )
                continue
            if child in path:
                cycle = " -> ".join(f"{ns}/{n}" for ns, n in (*path, child))
                status.error(
                    st.INCLUDE_ERROR,
                    "IncludeCreatesCycle",
                    f"include creates an include cycle: {cycle}",
                )
                continue
            merged = inherited.then(conditions)
            if isinstance(merged, str):
                status.error(
                    st.INCLUDE_ERROR, "IncludeMatchConditionsNotValid", f"include {shown}: {merged}"
                )
                continue
            found = self._visit(child, merged, (*path, child))
            if found is not None:
                out.extend(found)
        if not spec.get("routes") and not spec.get("includes") and not spec.get("tcpproxy"):
            status.error(
                st.SPEC_ERROR,
                "NothingDefined",
                "HTTPProxy.Spec must have at least one Route, Include, or a TCPProxy",
            )
        return out if status.valid else None
