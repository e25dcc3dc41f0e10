"""The provisioning parameters of a Gateway: its own ContourDeployment, else its
GatewayClass's, read safely (the reading itself is api/contour_deployment.py's).

`parameters_of_class` resolves a GatewayClass's `spec.parametersRef` in a snapshot and
returns the parameters with every default applied, or the reason the reference cannot be
used (wrong group/kind, no namespace, not found, a value out of range). The provisioner
never stops on a bad reference: it logs the reason and provisions with the defaults, so a
typo in a ContourDeployment cannot take a running fleet down. A Gateway's own
`spec.infrastructure.parametersRef` (`parameters_of_gateway`) replaces the class's entirely
when usable; when not, the Gateway keeps the class's parameters.
"""

from __future__ import annotations

from gateway_contour.api import parameters as api
from gateway_contour.api.contour_deployment import (
    DEFAULTS,
    FleetParameters,
    parameters_named,
    parameters_of_gateway,
    parse_parameters,
)
from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.data import mapping, text


def parameters_of_class(
    gateway_class: KubeObject, snapshot: Snapshot
) -> tuple[FleetParameters, str | None]:
    """The parameters for the Gateways of `gateway_class`: the defaults when it names none,
    and (the defaults, why) when its reference cannot be used."""
    ref = mapping(mapping(gateway_class.get("spec")).get("parametersRef"))
    if not ref:
        return DEFAULTS, None
    group, kind = text(ref.get("group")), text(ref.get("kind"))
    if (group, kind) != (api.GROUP, api.KIND):
        return DEFAULTS, f"parametersRef must name a {api.GROUP} {api.KIND}, not {group} {kind}"
    namespace, name = text(ref.get("namespace")), text(ref.get("name"))
    if not namespace:
        return DEFAULTS, f"parametersRef to a {api.KIND} needs a namespace"
    return parameters_named(namespace, name, snapshot)


__all__ = [
    "DEFAULTS",
    "FleetParameters",
    "parameters_named",
    "parameters_of_class",
    "parameters_of_gateway",
    "parse_parameters",
]
