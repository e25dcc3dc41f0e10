"""Issue 21 item 9: `retryOn: [foobar]` is refused as Contour's CRD refuses it. Served by
`run` (files mode validates like the API server, gateway_contour/validation/) to a real
Envoy: the proxy naming a condition outside the CRD's enum is a problem worded as the API
server words it and is not served; a proxy with Contour's conditions beside it is."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from tests.e2e.host_world import HostWorld
from tests.e2e.http_client import eventually

pytestmark = pytest.mark.e2e

PROXIES = textwrap.dedent("""\
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: retries, namespace: default}
    spec:
      virtualhost: {fqdn: retries.example.com}
      routes:
      - services: [{name: app, port: 80}]
        retryPolicy: {count: 2, retryOn: [5xx, reset, retriable-status-codes]}
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: foobar, namespace: default}
    spec:
      virtualhost: {fqdn: foobar.example.com}
      routes:
      - services: [{name: app, port: 80}]
        retryPolicy: {retryOn: [foobar]}
    """)


async def test_retry_on_outside_contours_enum_is_refused(tmp_path: Path) -> None:
    world = HostWorld(tmp_path, ("app",))
    world.start_backends()
    try:
        async with world.running(PROXIES):
            served = await eventually(
                lambda: world.get("/", host="retries.example.com"), lambda r: r.status == 200
            )
            assert served.backend == "app"
            assert (await world.get("/", host="foobar.example.com")).status == 404
            status = yaml.safe_load((tmp_path / "world-status.yaml").read_text())
            assert "HTTPProxy default/foobar" not in {e["object"] for e in status["statuses"]}
            assert world.statuses()["HTTPProxy default/retries"]["currentStatus"] == "valid"
            (problem,) = [p for p in status["problems"] if "foobar" in p["reason"]]
            assert problem["source"].startswith("objects.yaml#")
            assert 'HTTPProxy.projectcontour.io "foobar" is invalid' in problem["reason"]
            assert (
                'spec.routes[0].retryPolicy.retryOn[0]: Unsupported value: "foobar"'
                in problem["reason"]
            )
    finally:
        world.stop_backends()
