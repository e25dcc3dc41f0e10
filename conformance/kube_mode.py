"""`conformance.run --mode kubernetes`: the suite against the real install on a real node.

What runs (tests/support/node_cluster.py, the node tier's cluster): etcd, kube-apiserver,
kube-controller-manager and kube-scheduler; one node of containerd, runc, CNI, the kubelet
and kube-proxy; CoreDNS as cluster DNS; and the load balancer stand-in
(tests/support/load_balancer.py) that gives each LoadBalancer Service an address this host
routes to the node, as a cloud would. On it, the install as README says
(tests/node/install.py): certgen Secrets, manifests/install.yaml through a kustomize overlay
that names the locally built images, two controller replicas with `--provision kubernetes`,
so every Gateway the suite creates gets its own Envoy Pods and Service. The suite's backends
are real Pods: echo-basic built from the pinned module, and for GATEWAY-UDP our CoreDNS build,
both loaded into containerd under the names the suite's manifests give (hack/image/build.py
`--image echo-basic --image suite-coredns`).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

from tests.node.install import CONTROLLERS, NAMESPACE, install
from tests.support.kube_node import LB_CIDR
from tests.support.node_cluster import (
    SUITE_IMAGES,
    NodeCluster,
    build_prerequisites,
    node_cluster,
)

MODE = "kubernetes"  # the report's mode


def suite_addresses() -> list[str]:
    """GatewayStaticAddresses: a load balancer address the stand-in can give, and one of
    TEST-NET-1 (RFC 5737) it cannot."""
    prefix = LB_CIDR.rsplit(".", 1)[0]
    return [f"--usable-address={prefix}.200", "--unusable-address=192.0.2.1"]


def start(stack: contextlib.ExitStack, workdir: Path) -> NodeCluster:
    """The node, installed; stopped (after its logs are saved) when `stack` closes."""
    binaries = build_prerequisites(*SUITE_IMAGES)
    # last: containerd's images and the Pods' volumes, once the node has stopped
    stack.callback(shutil.rmtree, workdir / "cluster", True)
    cluster = stack.enter_context(node_cluster(binaries, workdir / "cluster", SUITE_IMAGES))
    stack.callback(save_logs, cluster, workdir)
    (workdir / "install").mkdir()
    install(cluster, workdir / "install")
    return cluster


def save_logs(cluster: NodeCluster, workdir: Path) -> None:
    """The controllers' logs, every Pod and the events, for reading after the run."""
    kubectl = cluster.node.kubectl
    wanted = {
        "controllers.log": ("-n", NAMESPACE, "logs", "--prefix", "--tail=-1", "-l", CONTROLLERS),
        "pods.txt": ("get", "pods", "-A", "-o", "wide"),
        "events.txt": ("get", "events", "-A", "--sort-by=.lastTimestamp"),
        "services.txt": ("get", "services", "-A", "-o", "wide"),
    }
    for name, argv in wanted.items():
        try:
            text = kubectl(*argv)
        except (RuntimeError, subprocess.SubprocessError) as error:
            text = f"kubectl {' '.join(argv)}: {error}"
        (workdir / name).write_text(text)
