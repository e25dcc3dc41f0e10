"""The `node` fixture: a real control plane plus one real node (containerd, runc, CNI,
kubelet, kube-proxy; kube-scheduler beside the API server), one per test session.

`make test` builds the binaries (hack/build-control-plane.sh, hack/build-node-extras.sh) and
the images (`make image`) first; when they are missing here, the builds run at collection
time like the k8s tier's. This tier never skips: it needs root (network namespaces, mounts,
cgroups), which CI has, and a missing piece is a failure.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.node.install import CONTROLLERS, NAMESPACE, install
from tests.support.node_cluster import (
    SUITE_IMAGES,
    NodeCluster,
    build_prerequisites,
    node_cluster,
)


@pytest.fixture(scope="session")
def node(request: pytest.FixtureRequest) -> Iterator[NodeCluster]:
    if os.geteuid() != 0:
        pytest.exit("tests/node needs root (network namespaces, mounts, cgroups)", returncode=1)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    assert capture is not None
    with capture.global_and_fixture_disabled():
        try:
            binaries = build_prerequisites(*SUITE_IMAGES)
        except RuntimeError as err:
            pytest.exit(str(err), returncode=1)
    workdir = Path(tempfile.mkdtemp(prefix="gc-node-", dir="/tmp"))
    with contextlib.ExitStack() as stack:
        # an interpreter that exits without unwinding (pytest.exit) still stops the node
        atexit.register(stack.close)
        try:
            yield stack.enter_context(node_cluster(binaries, workdir, SUITE_IMAGES))
        finally:
            stack.close()
            atexit.unregister(stack.close)
            if os.environ.get("KUBE_TEST_KEEP"):
                print(f"node: kept {workdir}", file=sys.stderr)
            else:
                shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def installed(node: NodeCluster, tmp_path_factory: pytest.TempPathFactory) -> NodeCluster:
    """The node with README's install done, once per session (tests/node/install.py)."""
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
                "-n", NAMESPACE, "logs", "--prefix", "--tail=200", "-l", CONTROLLERS,
            )  # fmt: skip
        except RuntimeError as error:
            logs = str(error)
        report.sections.append(("controller logs", logs))
    return report
