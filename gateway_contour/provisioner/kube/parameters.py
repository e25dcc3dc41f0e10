"""The provisioning parameters of a Gateway: its GatewayClass's ContourDeployment, read safely.

`parameters_of_class` resolves a GatewayClass's `spec.parametersRef` in a snapshot and
returns the parameters with every default applied, or the reason the reference cannot be
used (wrong group/kind, no namespace, not found, a value out of range). The provisioner
never stops on a bad reference: it logs the reason and provisions with the defaults, so a
typo in a ContourDeployment cannot take a running fleet down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway_contour.api import parameters as api
from gateway_contour.store.objects import KubeObject, Snapshot
from gateway_contour.translate.data import mapping, text


@dataclass(frozen=True, slots=True)
class FleetParameters:
    workload_type: str = "DaemonSet"
    replicas: int = api.DEFAULT_REPLICAS
    image: str = api.ENVOY_IMAGE
    log_level: str = "info"
    # {"requests": {"cpu": "100m"}, "limits": {...}}: values as the API gives them
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    service_type: str = "LoadBalancer"
    service_annotations: dict[str, str] = field(default_factory=dict)
    # seconds the drain sidecar waits for Envoy's connections to close when a Pod stops
    drain_timeout: int = api.DEFAULT_DRAIN_TIMEOUT


DEFAULTS = FleetParameters()


def _quantities(value: Any) -> dict[str, Any]:
    return {
        k: v
        for k, v in mapping(value).items()
        if isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool)
    }


def parse_parameters(obj: KubeObject) -> tuple[FleetParameters, str | None]:
    """The parameters a ContourDeployment says, defaults for what it leaves out; the second
    value names the fields that were out of range (each keeps its default)."""
    spec = mapping(obj.get("spec"))
    envoy = mapping(spec.get("envoy"))
    service = mapping(spec.get("service"))
    problems: list[str] = []

    def choice(value: Any, allowed: tuple[str, ...], default: str, path: str) -> str:
        if value is None:
            return default
        if value in allowed:
            return str(value)
        problems.append(f"{path} must be one of {', '.join(allowed)}")
        return default

    replicas = envoy.get("replicas", api.DEFAULT_REPLICAS)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        problems.append("spec.envoy.replicas must be a non-negative integer")
        replicas = api.DEFAULT_REPLICAS
    drain_timeout = envoy.get("drainTimeoutSeconds", api.DEFAULT_DRAIN_TIMEOUT)
    if (
        isinstance(drain_timeout, bool)
        or not isinstance(drain_timeout, int)
        or not 0 <= drain_timeout <= api.MAX_DRAIN_TIMEOUT
    ):
        problems.append(
            f"spec.envoy.drainTimeoutSeconds must be an integer from 0 to {api.MAX_DRAIN_TIMEOUT}"
        )
        drain_timeout = api.DEFAULT_DRAIN_TIMEOUT
    image = envoy.get("image")
    if image is not None and not (isinstance(image, str) and image):
        problems.append("spec.envoy.image must be a non-empty string")
        image = None
    resources = mapping(envoy.get("resources"))
    annotations = {
        k: v for k, v in mapping(service.get("annotations")).items() if isinstance(v, str)
    }
    params = FleetParameters(
        workload_type=choice(
            envoy.get("workloadType"), api.WORKLOAD_TYPES, "DaemonSet", "spec.envoy.workloadType"
        ),
        replicas=replicas,
        image=image or api.ENVOY_IMAGE,
        log_level=choice(envoy.get("logLevel"), api.LOG_LEVELS, "info", "spec.envoy.logLevel"),
        resources={
            part: _quantities(resources.get(part))
            for part in ("requests", "limits")
            if _quantities(resources.get(part))
        },
        service_type=choice(
            service.get("type"), api.SERVICE_TYPES, "LoadBalancer", "spec.service.type"
        ),
        service_annotations=annotations,
        drain_timeout=drain_timeout,
    )
    return params, ("; ".join(problems) if problems else None)


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


def parameters_named(
    namespace: str, name: str, snapshot: Snapshot
) -> tuple[FleetParameters, str | None]:
    """The parameters of the ContourDeployment `namespace/name` (the implicit fleet's
    --legacy-fleet-parameters); (the defaults, why) when it is missing."""
    obj = snapshot.get(api.KIND, namespace, name)
    if obj is None:
        return DEFAULTS, f"{api.KIND} {namespace}/{name} not found"
    params, problem = parse_parameters(obj)
    if problem is not None:
        return params, f"{api.KIND} {namespace}/{name}: {problem}"
    return params, None
