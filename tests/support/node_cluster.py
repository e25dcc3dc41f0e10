"""A real control plane plus one real node, outside pytest too: what the node tier's `node`
fixture and the conformance harness's kubernetes mode both start.

`build_prerequisites()` builds (or finds cached) the control-plane binaries, the node extras
(hack/build-node-extras.sh) and the images (`make image`'s builder); `node_cluster()` starts
etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, the kubelet,
kube-proxy, cluster DNS and the load balancer stand-in (load_balancer.py), with the images
loaded, and stops all of it on exit. Only one may
run on a machine at a time: the node's subnets are fixed (kube_node.py).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.kube_cluster import (
    REPO,
    ControlPlaneBinaries,
    KubeCluster,
    ensure_binaries,
    gateway_api_crd_files,
)
from tests.support.kube_node import KubeNode, NodeNetwork
from tests.support.load_balancer import LoadBalancers

IMAGES = REPO / ".cache" / "images"
BASE_IMAGES = ("gateway-contour", "envoy", "coredns")  # loaded on every node, by short name
# the conformance suite's backend and UDP DNS server, under the names its manifests give
# (hack/image/build.py; conformance/build.sh builds echo-basic and lists the names)
SUITE_IMAGES = ("echo-basic", "suite-coredns")


@dataclass
class NodeCluster:
    cluster: KubeCluster
    node: KubeNode
    network: NodeNetwork
    images: dict[str, str]  # short name (gateway-contour, envoy, ...) -> image reference
    load_balancers: LoadBalancers  # gives LoadBalancer Services an address routed here


def build_prerequisites(*images: str) -> ControlPlaneBinaries:
    """The binaries, node extras and images (the default four, plus `images` of
    hack/image/build.py); raises RuntimeError naming what failed. Build output goes to
    stderr."""
    binaries = ensure_binaries()
    image_args = [
        f"--image={name}" for name in ("controller", "envoy", "pause", "coredns", *images)
    ]
    for argv in (
        ["bash", "hack/build-node-extras.sh"],
        [sys.executable, "hack/image/build.py", "--output-dir", str(IMAGES), *image_args],
    ):
        if subprocess.run(argv, cwd=REPO, stdout=sys.stderr, check=False).returncode:
            raise RuntimeError(f"{' '.join(argv)} failed")
    return binaries


def archive(prefix: str) -> Path:
    """The one docker-archive `<prefix>-<version>.tar` the image builder wrote."""
    found = sorted(IMAGES.glob(f"{prefix}-*.tar"))
    if len(found) != 1:
        raise RuntimeError(f"expected one {prefix}-*.tar in {IMAGES}, found {found}")
    return found[0]


@contextmanager
def node_cluster(
    binaries: ControlPlaneBinaries, workdir: Path, extra_images: tuple[str, ...] = ()
) -> Iterator[NodeCluster]:
    """A started cluster and node in `workdir` (which it removes afterwards), with the base
    images and the archives named by `extra_images` (prefixes) loaded."""
    network = NodeNetwork()
    (workdir / "cp").mkdir(parents=True)
    cluster = KubeCluster(binaries, workdir / "cp", address=network.host_ip, with_nodes=True)
    kube_node: KubeNode | None = None
    load_balancers = LoadBalancers(cluster)
    try:
        network.up()
        cluster.start()
        cluster.install_crds(gateway_api_crd_files(binaries))
        cluster.start_controller_manager()
        archives = {short: archive(short) for short in (*BASE_IMAGES, *extra_images)}
        kube_node = KubeNode(
            cluster, network, workdir / "node", archive("pause"), list(archives.values())
        )
        kube_node.start()
        images = {short: kube_node.images[path][0] for short, path in archives.items()}
        kube_node.start_cluster_dns(images["coredns"])
        load_balancers.start()
        yield NodeCluster(cluster, kube_node, network, images, load_balancers)
    finally:
        load_balancers.stop()
        if kube_node is not None:
            kube_node.stop()
        cluster.stop()
        network.down()
