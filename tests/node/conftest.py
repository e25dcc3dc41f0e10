"""The `node` fixture: a real control plane plus one real node (containerd, runc, CNI,
kubelet, kube-proxy; kube-scheduler beside the API server), one per test session.

`make test` builds the binaries (hack/build-control-plane.sh, hack/build-node-extras.sh) and
the images (`make image`) first; when they are missing here, the builds run at collection
time like the k8s tier's. This tier never skips: it needs root (network namespaces, mounts,
cgroups), which CI has, and a missing piece is a failure.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.kube_cluster import (
    REPO,
    ControlPlaneBinaries,
    KubeCluster,
    ensure_binaries,
    gateway_api_crd_files,
)
from tests.support.kube_node import KubeNode, NodeNetwork

IMAGES = REPO / ".cache" / "images"


@dataclass
class NodeCluster:
    cluster: KubeCluster
    node: KubeNode
    network: NodeNetwork
    images: dict[str, str]  # short name (controller, envoy, ...) -> image reference


def _build(config: pytest.Config) -> ControlPlaneBinaries:
    capture = config.pluginmanager.getplugin("capturemanager")
    assert capture is not None
    with capture.global_and_fixture_disabled():
        try:
            binaries = ensure_binaries()
        except RuntimeError as err:
            pytest.exit(str(err), returncode=1)
        for argv in (
            ["bash", "hack/build-node-extras.sh"],
            [sys.executable, "hack/image/build.py", "--output-dir", str(IMAGES)],
        ):
            if subprocess.run(argv, cwd=REPO, stdout=sys.stderr, check=False).returncode:
                pytest.exit(f"{' '.join(argv)} failed", returncode=1)
    return binaries


def _archive(prefix: str) -> Path:
    found = sorted(IMAGES.glob(f"{prefix}-*.tar"))
    if len(found) != 1:
        pytest.exit(f"expected one {prefix}-*.tar in {IMAGES}, found {found}", returncode=1)
    return found[0]


@pytest.fixture(scope="session")
def node(request: pytest.FixtureRequest) -> Iterator[NodeCluster]:
    if os.geteuid() != 0:
        pytest.exit("tests/node needs root (network namespaces, mounts, cgroups)", returncode=1)
    binaries = _build(request.config)
    workdir = Path(tempfile.mkdtemp(prefix="gc-node-", dir="/tmp"))
    network = NodeNetwork()
    (workdir / "cp").mkdir()
    cluster = KubeCluster(binaries, workdir / "cp", address=network.host_ip, with_nodes=True)
    kube_node: KubeNode | None = None

    def stop() -> None:
        if kube_node is not None:
            kube_node.stop()
        cluster.stop()
        network.down()

    atexit.register(stop)
    try:
        network.up()
        cluster.start()
        cluster.install_crds(gateway_api_crd_files(binaries))
        cluster.start_controller_manager()
        archives = {short: _archive(short) for short in ("gateway-contour", "envoy", "coredns")}
        kube_node = KubeNode(
            cluster, network, workdir / "node", _archive("pause"), list(archives.values())
        )
        kube_node.start()
        images = {short: kube_node.images[path][0] for short, path in archives.items()}
        kube_node.start_cluster_dns(images["coredns"])
        yield NodeCluster(cluster, kube_node, network, images)
    finally:
        stop()
        atexit.unregister(stop)
        if os.environ.get("KUBE_TEST_KEEP"):
            print(f"node: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def installed(node: NodeCluster, tmp_path_factory: pytest.TempPathFactory) -> NodeCluster:
    """The node with README's install done, once per session (tests/node/install.py)."""
    from tests.node.install import install  # it imports NodeCluster from here

    install(node, tmp_path_factory.mktemp("install"))
    return node


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test of the installed node shows the controllers' last log lines."""
    report = yield
    installed = getattr(item, "funcargs", {}).get("installed")
    if report.failed and call.when == "call" and isinstance(installed, NodeCluster):
        try:
            logs = installed.node.kubectl(
                "-n", "gateway-contour", "logs", "--prefix", "--tail=200",
                "-l", "app.kubernetes.io/name=gateway-contour",
            )  # fmt: skip
        except RuntimeError as error:
            logs = str(error)
        report.sections.append(("controller logs", logs))
    return report
