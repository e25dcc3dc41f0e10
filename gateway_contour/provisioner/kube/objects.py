"""The Kubernetes objects of one Gateway's Envoy fleet, rendered as plain dicts (pure).

For Gateway `ns/name` everything lives in `ns` and is named `envoy-<name>` (shortened with a
hash when that would pass 63 characters): a ServiceAccount, the xDS client certificate
Secret (`envoy-<name>-xds`), a DaemonSet or Deployment, and a Service. Each carries an owner
reference to the Gateway (deleting the Gateway lets the garbage collector remove them), our
labels, and the Gateway's spec.infrastructure labels and annotations.

The Envoy Pod: an init container runs `gateway-contour bootstrap` to write the bootstrap
(ADS over mutual TLS with the mounted client certificate) into a shared emptyDir; the Envoy
container starts from it. Envoy binds the Gateway's listener ports itself; the Pod allows
unprivileged ports from 0 (a namespaced, safe sysctl) so Envoy needs no capabilities. Every
container runs as 65532 (distroless nonroot, as our images do) on a read-only root with no
capabilities.

Probes and drain (Contour's layout): readiness is Envoy's `/ready` through the bootstrap's
ready listener (`READY_PORT`, nothing else of the admin); liveness and the drain are the
`envoy-drain` sidecar's (gateway_contour/envoy_drain.py, our image: the Envoy image has no
shell). Liveness asks whether Envoy's admin answers at all, since `/ready` is 503 for a
draining Envoy and the ready listener is closed while Envoy waits for a controller not up
yet. The Envoy container's preStop hook GETs the sidecar's `/shutdown`, which answers when
the drain (begun by the sidecar's own SIGTERM) is over; terminationGracePeriodSeconds is
the drain bound plus `DRAIN_MARGIN` for Envoy to exit. The
selector uses only labels we own, so infrastructure labels may change without recreating
the workload (selectors are immutable).

The implicit Ingress/HTTPProxy fleet (`FleetSpec.implicit`, provisioner/kube/implicit.py)
is named `gateway-contour-envoy` (never a Gateway fleet's `envoy-<name>`, nor Contour's own
`envoy`), has no owner reference (no object owns it), is labeled and selected by
`IMPLICIT_FLEET_LABEL`, and publishes its container ports under other Service ports
(`FleetSpec.published`: 80->8080, 443->8443, Contour's envoy Service).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from gateway_contour.provisioner.kube.parameters import FleetParameters

MANAGED_BY = "gateway-contour"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"  # the spec's recommended label
COMPONENT_LABEL = "app.kubernetes.io/component"
IMPLICIT_FLEET_LABEL = "gateway-contour.dev/implicit-fleet"
# on the implicit fleet's objects: which install (controller name) made them, so that the
# sweep of one install never deletes another's (objects only: selectors are immutable)
INSTALL_LABEL = "gateway-contour.dev/install"
IMPLICIT_NAME = "gateway-contour-envoy"
CONFIG_DIR = "/config"
CERT_DIR = "/certs"
BOOTSTRAP_FILE = f"{CONFIG_DIR}/envoy.json"
ENVOY_ADMIN_PORT = 9001
READY_PORT = 8002  # the bootstrap's listener serving /ready (Contour's)
DRAIN_PORT = 8090  # the envoy-drain sidecar: /shutdown, /healthz
MIN_DRAIN = 10  # seconds a terminating Envoy keeps accepting (envoy_drain.py says why)
NONROOT = 65532  # the user of our images (hack/image/build.py), distroless nonroot
DRAIN_MARGIN = 30  # seconds of grace past the drain bound: Envoy exits on SIGTERM
CONTROLLER_IMAGE = "ghcr.io/gateway-contour/gateway-contour:latest"
Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ControllerEndpoint:
    """Where Envoys reach the controller's ADS server, and the image that runs bootstrap."""

    xds_host: str = "gateway-contour.gateway-contour.svc"
    xds_port: int = 8001
    server_name: str = "gateway-contour"  # a SAN the ADS server's certificate carries
    image: str = CONTROLLER_IMAGE
    tls: bool = True


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """Everything about one Gateway the objects depend on."""

    namespace: str
    name: str
    uid: str
    # (port, "TCP" or "UDP") of the Gateway's listeners
    ports: tuple[tuple[int, str], ...]
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    params: FleetParameters = field(default_factory=FleetParameters)
    # the implicit Ingress/HTTPProxy fleet: not owned by a Gateway (see the module doc)
    implicit: bool = False
    # (container port, Service port) where the Service publishes a port under another number
    published: tuple[tuple[int, int], ...] = ()
    # the implicit fleet: `install_id` of the controller that provisions it
    install: str = ""
    # the static address the Gateway asks for (spec.addresses), for its load balancer
    load_balancer_ip: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def object_name(self) -> str:
        """The name of the workload, Service and ServiceAccount."""
        return IMPLICIT_NAME if self.implicit else workload_name(self.name)

    @property
    def secret_name(self) -> str:
        return f"{IMPLICIT_NAME}-xds" if self.implicit else secret_name(self.name)


def dns_label(name: str, limit: int = 63) -> str:
    """`name` if it fits in `limit` characters, else a prefix of it plus a short hash (stable
    and distinct per name). Service names must be DNS-1035 labels: at most 63 characters."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: limit - 11].rstrip('-.')}-{digest}"


def workload_name(gateway: str) -> str:
    return dns_label(f"envoy-{gateway}")


def install_id(controller_name: str) -> str:
    """A label value naming an install: its controller name, hashed (names hold "/")."""
    return hashlib.sha256(controller_name.encode()).hexdigest()[:16]


def secret_name(gateway: str) -> str:
    return dns_label(f"envoy-{gateway}-xds", 253)


def selector_labels(spec: FleetSpec) -> dict[str, str]:
    return fleet_selector(spec.name, spec.implicit)


def fleet_selector(name: str, implicit: bool = False) -> dict[str, str]:
    """The labels that select the Envoy Pods of Gateway `name` (or of the implicit fleet)."""
    return {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        COMPONENT_LABEL: "envoy",
        # label values are at most 63 characters; Gateway names may be longer
        IMPLICIT_FLEET_LABEL if implicit else GATEWAY_NAME_LABEL: dns_label(name),
    }


def _metadata(spec: FleetSpec, name: str, extra_annotations: dict[str, str] | None = None) -> Obj:
    labels = {**dict(spec.labels), **selector_labels(spec)}
    if spec.install:
        labels[INSTALL_LABEL] = spec.install
    annotations = {**dict(spec.annotations), **(extra_annotations or {})}
    meta: Obj = {"name": name, "namespace": spec.namespace, "labels": labels}
    if not spec.implicit:
        meta["ownerReferences"] = [
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "name": spec.name,
                "uid": spec.uid,
                "controller": True,
            }
        ]
    if annotations:
        meta["annotations"] = annotations
    return meta


def service_account(spec: FleetSpec) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _metadata(spec, spec.object_name),
        # Envoy never talks to the API server
        "automountServiceAccountToken": False,
    }


def client_secret(spec: FleetSpec, secret: Obj) -> Obj:
    """The xDS client certificate Secret: `secret` (a kubernetes.io/tls Secret dict with
    tls.crt, tls.key, ca.crt) under this fleet's name, namespace and metadata."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(spec, spec.secret_name),
        "type": "kubernetes.io/tls",
        "data": dict(secret["data"]),
    }


def bootstrap_args(spec: FleetSpec, controller: ControllerEndpoint) -> list[str]:
    """The init container's `gateway-contour bootstrap` command line."""
    args = [
        "bootstrap",
        BOOTSTRAP_FILE,
        "--fleet",
        spec.full_name,
        "--xds-address",
        controller.xds_host,
        "--xds-port",
        str(controller.xds_port),
        "--admin-address",
        "127.0.0.1",
        "--admin-port",
        str(ENVOY_ADMIN_PORT),
        "--ready-port",
        str(READY_PORT),
    ]
    if controller.tls:
        args += ["--xds-cert-dir", CERT_DIR, "--xds-server-name", controller.server_name]
    return args


def _restricted() -> Obj:
    """A container's securityContext: non-root, read-only root, no capabilities."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": NONROOT,
        "runAsGroup": NONROOT,
        "capabilities": {"drop": ["ALL"]},
    }


def _drain_sidecar(spec: FleetSpec, controller: ControllerEndpoint) -> Obj:
    return {
        "name": "envoy-drain",
        "image": controller.image,
        "command": ["gateway-contour"],
        "args": [
            "envoy-drain",
            "--port",
            str(DRAIN_PORT),
            "--admin-url",
            f"http://127.0.0.1:{ENVOY_ADMIN_PORT}",
            "--timeout",
            str(spec.params.drain_timeout),
            "--min-drain",
            str(min(spec.params.drain_timeout, MIN_DRAIN)),
        ],
        "ports": [{"name": "drain", "containerPort": DRAIN_PORT, "protocol": "TCP"}],
        "securityContext": _restricted(),
    }


def _pod_template(spec: FleetSpec, controller: ControllerEndpoint) -> Obj:
    params = spec.params
    mounts = [
        {"name": "config", "mountPath": CONFIG_DIR},
        {"name": "certs", "mountPath": CERT_DIR, "readOnly": True},
    ]
    envoy: Obj = {
        "name": "envoy",
        "image": params.image,
        "command": ["envoy"],
        "args": [
            "-c",
            BOOTSTRAP_FILE,
            "--log-level",
            params.log_level,
            "--drain-time-s",
            "30",
        ],
        "ports": [
            *(
                {"name": f"{proto.lower()}-{port}", "containerPort": port, "protocol": proto}
                for port, proto in spec.ports
            ),
            {"name": "ready", "containerPort": READY_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": READY_PORT}, "periodSeconds": 4},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": DRAIN_PORT},
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 6,
            # a liveness restart sends the sidecar no SIGTERM, so /shutdown never answers:
            # this, not the Pod's long grace, bounds the preStop hook then
            "terminationGracePeriodSeconds": 10,
        },
        "lifecycle": {"preStop": {"httpGet": {"path": "/shutdown", "port": DRAIN_PORT}}},
        "volumeMounts": mounts,
        "securityContext": _restricted(),
    }
    if params.resources:
        envoy["resources"] = {k: dict(v) for k, v in params.resources.items()}
    template_meta: Obj = {"labels": {**dict(spec.labels), **selector_labels(spec)}}
    if spec.annotations:
        template_meta["annotations"] = dict(spec.annotations)
    return {
        "metadata": template_meta,
        "spec": {
            "serviceAccountName": spec.object_name,
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": params.drain_timeout + DRAIN_MARGIN,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": NONROOT,
                "runAsGroup": NONROOT,
                "seccompProfile": {"type": "RuntimeDefault"},
                "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
            },
            "initContainers": [
                {
                    "name": "bootstrap",
                    "image": controller.image,
                    "command": ["gateway-contour"],
                    "args": bootstrap_args(spec, controller),
                    "volumeMounts": mounts,
                    "securityContext": _restricted(),
                }
            ],
            # the sidecar is a regular container: it must get SIGTERM with Envoy's hook
            "containers": [envoy, _drain_sidecar(spec, controller)],
            "volumes": [
                {"name": "config", "emptyDir": {}},
                {"name": "certs", "secret": {"secretName": spec.secret_name}},
            ],
        },
    }


def workload(spec: FleetSpec, controller: ControllerEndpoint) -> Obj:
    """The DaemonSet or Deployment (as the parameters say) running the Envoys."""
    kind = spec.params.workload_type
    body: Obj = {
        "selector": {"matchLabels": selector_labels(spec)},
        "template": _pod_template(spec, controller),
    }
    # A new Envoy is Ready before an old one stops (no hostPorts, so they can overlap):
    # with one node, or one replica, the default (one unavailable at a time) would leave
    # the Service with no endpoint for as long as the new Pod takes to start.
    rolling = {"maxUnavailable": 0, "maxSurge": "10%"}
    if kind == "Deployment":
        body["replicas"] = spec.params.replicas
        body["strategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling}
    else:
        body["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": _metadata(spec, spec.object_name),
        "spec": body,
    }


def service(spec: FleetSpec) -> Obj | None:
    """The Service in front of the Envoys (None when the Gateway has no ports yet: a Service
    needs at least one)."""
    if not spec.ports:
        return None
    published = dict(spec.published)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(spec, spec.object_name, dict(spec.params.service_annotations)),
        "spec": {
            "type": spec.params.service_type,
            **({"loadBalancerIP": spec.load_balancer_ip} if spec.load_balancer_ip else {}),
            "selector": selector_labels(spec),
            "ports": [
                {
                    "name": f"{proto.lower()}-{port}",
                    "port": published.get(port, port),
                    "targetPort": port,
                    "protocol": proto,
                }
                for port, proto in spec.ports
            ],
        },
    }


def fleet_objects(spec: FleetSpec, controller: ControllerEndpoint, secret: Obj) -> list[Obj]:
    """Every object of the fleet, in the order to apply them (what a Pod needs first)."""
    objects = [service_account(spec), client_secret(spec, secret), workload(spec, controller)]
    svc = service(spec)
    if svc is not None:
        objects.append(svc)
    return objects
