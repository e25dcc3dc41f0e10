"""Console hints: what leaves the controller serving less than its user expects while no
object is invalid. A GatewayClass whose spec.controllerName names another controller gets no
status from us (it is that controller's to write), nor do its Gateways, so without a word
in the log a typo in controllerName looks like a controller that serves nothing."""

from __future__ import annotations

import logging

from gateway_contour.store.objects import Snapshot

log = logging.getLogger("gateway_contour.status")


def foreign_gateway_classes(snapshot: Snapshot, controller_name: str) -> list[tuple[str, str]]:
    """(name, controllerName) of each GatewayClass naming a controller other than ours."""
    out = []
    for gc in snapshot.objects("GatewayClass"):
        spec = gc.get("spec")
        theirs = spec.get("controllerName") if isinstance(spec, dict) else None
        if theirs != controller_name:
            out.append((gc["metadata"]["name"], str(theirs)))
    return sorted(out)


def foreign_class_hint(name: str, theirs: str, controller_name: str) -> str:
    return (
        f"GatewayClass {name} is not ours: its controllerName is {theirs!r}, we answer to "
        f"{controller_name!r}; its Gateways and their routes are not served"
    )


class ForeignClassHints:
    """Logs each GatewayClass of another controller once, when it appears (again after it
    was ours, or with another controllerName), not at every rebuild."""

    def __init__(self) -> None:
        self._told: set[tuple[str, str]] = set()

    def publish(self, snapshot: Snapshot, controller_name: str) -> None:
        foreign = set(foreign_gateway_classes(snapshot, controller_name))
        for name, theirs in sorted(foreign - self._told):
            log.warning("%s", foreign_class_hint(name, theirs, controller_name))
        self._told = foreign
