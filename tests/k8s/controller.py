"""The controller the Kubernetes tests run: `gateway-contour serve` (a ServeMode) configured
for one test's namespace, and run as a task of the test's event loop for a block.

`serve_config` gives the settings every test shares (the session's API server, a controller
name and Lease of the test's namespace, the ADS server on a free loopback port) with the
test's own on top; `running` starts `mode.run()` and on exit cancels it (what SIGTERM does)
and waits for it to end, surfacing any other error it ended with.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from gateway_contour.serve import ServeConfig, ServeMode
from tests.support.background import in_background
from tests.support.kube_cluster import KubeCluster


def controller_name(namespace: str) -> str:
    """The controller name of a test's controller: its own, so other tests' objects are not
    its to serve."""
    return f"gateway-contour.dev/{namespace}"


def serve_config(kube: KubeCluster, namespace: str, **overrides: Any) -> ServeConfig:
    """A ServeConfig for a test in `namespace`; `overrides` set (or replace) any field."""
    settings: dict[str, Any] = {
        "kubeconfig": kube.kubeconfig,
        "controller_name": controller_name(namespace),
        "xds_address": "127.0.0.1",
        "xds_port": 0,
        "leader_namespace": namespace,
    }
    return ServeConfig(**{**settings, **overrides})


@contextlib.asynccontextmanager
async def running(config: ServeConfig) -> AsyncIterator[ServeMode]:
    """A ServeMode of `config` running as a task for the block, cancelled and awaited on exit."""
    mode = ServeMode(config)
    async with in_background(mode.run()):
        yield mode
