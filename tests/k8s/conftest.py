"""The `kube` fixture: a real etcd + kube-apiserver on loopback, one per test session.

Binaries come from hack/build-control-plane.sh (built from Go modules, cached under
.cache/control-plane/). When they are missing the build runs at collection time, before any test
starts, so that a fresh `pytest` works and pytest-timeout does not kill a cold build. This tier
never skips: no binaries and no way to build them is a failure.

The API server is set up the way a small real cluster is: TLS with our own CA, static bearer
tokens, RBAC, service account keys, the watch cache on. The Gateway API CRDs (experimental
channel, with the bundle-version annotations the conformance suite checks) are installed from
the sigs.k8s.io/gateway-api module, and so is every CRD under manifests/crds/ if that exists.

Fixtures: `kube` (session; see KubeCluster for what it offers), `client` (a lightkube
AsyncClient as admin) and `namespace` (a fresh namespace per test).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from lightkube import AsyncClient, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from tests.support.kube_cluster import (
    ControlPlaneBinaries,
    KubeCluster,
    ensure_binaries,
    start_cluster,
)

THIS_DIR = Path(__file__).resolve().parent


def build_control_plane(config: pytest.Config) -> ControlPlaneBinaries:
    """The build, with its progress shown live (pytest's capture off meanwhile); a failed
    build ends the session: this tier never skips."""
    capture = config.pluginmanager.getplugin("capturemanager")
    context = (
        capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()
    )
    with context:
        try:
            return ensure_binaries()
        except RuntimeError as err:
            pytest.exit(str(err), returncode=1)


_binaries_key = pytest.StashKey[ControlPlaneBinaries]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the binaries once collection shows that a test of this tier will run."""
    if session.config.option.collectonly:
        return
    if any(THIS_DIR in Path(item.path).parents for item in session.items):
        session.config.stash[_binaries_key] = build_control_plane(session.config)


@pytest.fixture(scope="session")
def kube_binaries(request: pytest.FixtureRequest) -> ControlPlaneBinaries:
    stash = request.config.stash
    if _binaries_key not in stash:
        stash[_binaries_key] = build_control_plane(request.config)
    return stash[_binaries_key]


@pytest.fixture(scope="session")
def kube(kube_binaries: ControlPlaneBinaries) -> Iterator[KubeCluster]:
    """A running cluster with the Gateway API CRDs (and ours) installed. Shared by the whole
    session: tests create their objects in namespaces of their own."""
    workdir = Path(tempfile.mkdtemp(prefix="gateway-contour-kube-"))
    cluster = start_cluster(kube_binaries, workdir)
    # Should the session end without running finalizers (an internal error), still leave no
    # processes behind.
    atexit.register(cluster.stop)
    try:
        yield cluster
    finally:
        cluster.stop()
        # KUBE_TEST_KEEP=1 keeps the logs, certificates and kubeconfigs for a post-mortem.
        if os.environ.get("KUBE_TEST_KEEP"):
            print(f"kube: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
async def client(kube: KubeCluster) -> AsyncIterator[AsyncClient]:
    """A lightkube async client with the admin kubeconfig."""
    client = AsyncClient(KubeConfig.from_file(kube.kubeconfig), field_manager="tests")
    yield client
    await client.close()


@pytest.fixture
async def namespace(client: AsyncClient) -> AsyncIterator[str]:
    """A fresh namespace of the test's own, deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    await client.create(Namespace(metadata=ObjectMeta(name=name)))
    yield name
    # No namespace controller runs unless a test starts kube-controller-manager, so the
    # namespace may stay Terminating; its name is unique anyway.
    await client.delete(Namespace, name)
