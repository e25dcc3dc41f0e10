"""The installation as a list of objects: what `kubectl apply -f manifests/install.yaml` makes.

Namespace `gateway-contour`; our CRDs; the controller's ServiceAccount, ClusterRole and
ClusterRoleBinding (rbac.py) and its leader-election Role; the controller Deployment
(`gateway-contour serve --provision kubernetes`, Envoys provisioned per Gateway) and the
Service Envoys reach its ADS server by; the GatewayClass `gateway-contour`.

Prerequisites, not included: the Gateway API CRDs (the upstream release's install), and the
xDS certificates: `gateway-contour certgen --secrets certs.yaml --dns-name
gateway-contour.gateway-contour.svc` then `kubectl apply -f certs.yaml` (the controller
mounts its serving Secret and the Envoy client CA, with which it signs each Gateway's own
client certificate).
"""

from __future__ import annotations

from typing import Any

from gateway_contour.certs.bundle import CONTROLLER_SECRET, ENVOY_CA_SECRET
from gateway_contour.manifests.crds import api_crds
from gateway_contour.manifests.rbac import cluster_rules, lease_rules
from gateway_contour.provisioner.kube.objects import CONTROLLER_IMAGE
from gateway_contour.translate.options import DEFAULT_CONTROLLER_NAME

NAMESPACE = "gateway-contour"
NAME = "gateway-contour"
GATEWAY_CLASS = "gateway-contour"
XDS_PORT = 8001
METRICS_PORT = 8000  # /metrics, /healthz, /readyz
LABELS = {"app.kubernetes.io/name": NAME}
XDS_SERVICE_HOST = f"{NAME}.{NAMESPACE}.svc"
Obj = dict[str, Any]


def _meta(name: str, namespaced: bool = True) -> Obj:
    meta: Obj = {"name": name}
    if namespaced:
        meta["namespace"] = NAMESPACE
    meta["labels"] = dict(LABELS)
    return meta


def controller_args() -> list[str]:
    return [
        "serve",
        "--provision",
        "kubernetes",
        "--leader-namespace",
        NAMESPACE,
        "--xds-port",
        str(XDS_PORT),
        "--xds-cert-dir",
        "/certs/controller",
        "--metrics-address",
        f"0.0.0.0:{METRICS_PORT}",
        "--envoy-ca-dir",
        "/certs/envoy-ca",
        "--xds-service-host",
        XDS_SERVICE_HOST,
        "--bootstrap-image",
        CONTROLLER_IMAGE,
    ]


def rbac() -> list[Obj]:
    subject = {"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}
    rbac_v1 = "rbac.authorization.k8s.io/v1"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME)},
        {
            "apiVersion": rbac_v1,
            "kind": "ClusterRole",
            "metadata": _meta(NAME, namespaced=False),
            "rules": cluster_rules(),
        },
        {
            "apiVersion": rbac_v1,
            "kind": "ClusterRoleBinding",
            "metadata": _meta(NAME, namespaced=False),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": NAME,
            },
            "subjects": [subject],
        },
        {
            "apiVersion": rbac_v1,
            "kind": "Role",
            "metadata": _meta(f"{NAME}-leader-election"),
            "rules": lease_rules(),
        },
        {
            "apiVersion": rbac_v1,
            "kind": "RoleBinding",
            "metadata": _meta(f"{NAME}-leader-election"),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": f"{NAME}-leader-election",
            },
            "subjects": [subject],
        },
    ]


def controller() -> list[Obj]:
    container = {
        "name": "controller",
        "image": CONTROLLER_IMAGE,
        "command": ["gateway-contour"],
        "args": controller_args(),
        "ports": [
            {"name": "xds", "containerPort": XDS_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "metrics"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "metrics"}},
        "volumeMounts": [
            {"name": "xds-server", "mountPath": "/certs/controller", "readOnly": True},
            {"name": "envoy-ca", "mountPath": "/certs/envoy-ca", "readOnly": True},
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": dict(LABELS)},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "serviceAccountName": NAME,
                    "containers": [container],
                    "volumes": [
                        {"name": "xds-server", "secret": {"secretName": CONTROLLER_SECRET}},
                        {"name": "envoy-ca", "secret": {"secretName": ENVOY_CA_SECRET}},
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(NAME),
        "spec": {
            "selector": dict(LABELS),
            "ports": [{"name": "xds", "port": XDS_PORT, "targetPort": "xds", "protocol": "TCP"}],
        },
    }
    return [deployment, service]


def gateway_class() -> Obj:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": GATEWAY_CLASS, "labels": dict(LABELS)},
        "spec": {"controllerName": DEFAULT_CONTROLLER_NAME},
    }


def install_objects() -> list[Obj]:
    """Every object of the installation, in an order `kubectl apply` can create them."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(NAME, False)}
    return [namespace, *api_crds(), *rbac(), *controller(), gateway_class()]
