"""Desired status + live status -> the status to write, or None when nothing changes.

Pure. Rules the spec gives: a condition keeps its lastTransitionTime while its status stays
the same; route `status.parents` and policy `status.ancestors` entries of other controllers
are left alone (we own only the entries with our controllerName); everything else in the
status of the kinds we own (GatewayClass, Gateway, ListenerSet) is ours.
"""

from __future__ import annotations

import copy
from typing import Any

ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"})
# policies: their status is one entry per ancestor (Gateway) and controller
POLICY_KINDS = frozenset({"BackendTLSPolicy"})
# kind -> (the status list shared between controllers, the reference field of its entries)
SHARED_LISTS = {
    **{kind: ("parents", "parentRef") for kind in ROUTE_KINDS},
    **{kind: ("ancestors", "ancestorRef") for kind in POLICY_KINDS},
}


def _with_times(
    desired: list[dict[str, Any]], live: list[dict[str, Any]] | None, now: str
) -> list[dict[str, Any]]:
    before = {c.get("type"): c for c in live or []}
    out = []
    for cond in desired:
        prev = before.get(cond["type"])
        keep = prev is not None and prev.get("status") == cond["status"]
        stamp = prev.get("lastTransitionTime", now) if keep and prev else now
        out.append({**cond, "lastTransitionTime": stamp})
    return out


def _timed_block(desired: dict[str, Any], live: dict[str, Any] | None, now: str) -> dict[str, Any]:
    """A status block with `conditions`, and nested `listeners` carrying their own."""
    live = live or {}
    out = dict(desired)
    if "conditions" in desired:
        out["conditions"] = _with_times(desired["conditions"], live.get("conditions"), now)
    if "listeners" in desired:
        live_listeners = {item.get("name"): item for item in live.get("listeners") or []}
        out["listeners"] = [
            {
                **item,
                "conditions": _with_times(
                    item.get("conditions", []),
                    live_listeners.get(item.get("name"), {}).get("conditions"),
                    now,
                ),
            }
            for item in desired["listeners"]
        ]
    return out


def _entry_key(entry: dict[str, Any], ref_field: str) -> tuple[Any, ...]:
    ref = entry.get(ref_field) or {}
    fields = ("group", "kind", "namespace", "name", "sectionName", "port")
    return (*(ref.get(f) for f in fields), entry.get("controllerName"))


def merge_status(
    kind: str,
    desired: dict[str, Any],
    live: dict[str, Any] | None,
    controller_name: str,
    now: str,
) -> dict[str, Any] | None:
    """The full status to write, or None when the live status already says it."""
    live = live or {}
    shared = SHARED_LISTS.get(kind)
    if shared is not None:
        list_field, ref_field = shared
        live_entries = live.get(list_field) or []
        ours_live = {
            _entry_key(p, ref_field): p
            for p in live_entries
            if p.get("controllerName") == controller_name
        }
        others = [p for p in live_entries if p.get("controllerName") != controller_name]
        ours = [
            {
                **p,
                "conditions": _with_times(
                    p.get("conditions", []),
                    ours_live.get(_entry_key(p, ref_field), {}).get("conditions"),
                    now,
                ),
            }
            for p in desired.get(list_field, [])
        ]
        merged = {**live, list_field: others + ours}
    else:
        merged = _timed_block(desired, live, now)
    # most objects already say what we want: compare first, and copy (the merged status
    # shares parts with the live object) only what will be written
    return None if merged == live else copy.deepcopy(merged)
