"""GatewayClasses: which are ours (spec.controllerName), and their status."""

from __future__ import annotations

from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import Snapshot, key_of
from gateway_contour.translate.data import mapping
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.features import supported_features_status


def our_gateway_classes(snapshot: Snapshot, controller_name: str, report: StatusReport) -> set[str]:
    """Names of the GatewayClasses we control; each gets Accepted, SupportedVersion and the
    supportedFeatures we claim (translate/gatewayapi/features.py)."""
    ours: set[str] = set()
    for gc in snapshot.objects("GatewayClass"):
        if mapping(gc.get("spec")).get("controllerName") != controller_name:
            continue
        ours.add(gc["metadata"]["name"])
        generation = c.generation_of(gc)
        report.set(
            key_of(gc),
            {
                "conditions": [
                    c.condition(
                        c.ACCEPTED, True, c.REASON_ACCEPTED, "GatewayClass is accepted", generation
                    ),
                    c.condition(
                        c.SUPPORTED_VERSION,
                        True,
                        c.REASON_SUPPORTED_VERSION,
                        "Gateway API version is supported",
                        generation,
                    ),
                ],
                "supportedFeatures": supported_features_status(),
            },
        )
    return ours
