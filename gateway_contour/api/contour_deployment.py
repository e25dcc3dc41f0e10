"""Reading a ContourDeployment safely, and resolving a Gateway's own reference to one.

`parse_parameters` turns a ContourDeployment into `FleetParameters` with every default
applied (objects may predate a schema default, or come from files no API server checked)
and names the fields that are out of range. `parameters_of_gateway` resolves a Gateway's
`spec.infrastructure.parametersRef` (Gateway API's LocalParametersReference, GEP-1867: a
group, a kind and a name in the Gateway's namespace).

A Gateway's own ContourDeployment, when usable, replaces its class's entirely: no field is
merged over the class's, so what a Gateway gets is read from one object. A reference that
cannot be used (another group or kind, not found, a value out of range) gives no
parameters and the reason; the translate stage rejects the Gateway with it (Accepted
False, InvalidParameters) and the provisioner keeps shaping its fleet with the class's
parameters, so a typo does not reshape or take down a running fleet.

Pure, and importing neither translate nor provisioner: both read these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway_contour.api import parameters as api
from gateway_contour.store.objects import KubeObject, Snapshot


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


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


def parameters_of_gateway(
    gateway: KubeObject, snapshot: Snapshot
) -> tuple[FleetParameters | None, str | None]:
    """The parameters a Gateway names itself: (None, None) when it names none, (them, None)
    when its ContourDeployment is usable, (None, why) when not; `why` names the reference."""
    infrastructure = mapping(mapping(gateway.get("spec")).get("infrastructure"))
    if infrastructure.get("parametersRef") is None:
        return None, None
    ref = mapping(infrastructure.get("parametersRef"))
    group, kind, name = text(ref.get("group")), text(ref.get("kind")), text(ref.get("name"))
    named = f"infrastructure.parametersRef {group}/{kind} {name}"
    if (group, kind) != (api.GROUP, api.KIND):
        return None, f"{named}: must name a {api.GROUP} {api.KIND}"
    namespace = text(mapping(gateway.get("metadata")).get("namespace"))
    params, problem = parameters_named(namespace, name, snapshot)
    if problem is not None:
        return None, f"{named}: {problem}"
    return params, None
