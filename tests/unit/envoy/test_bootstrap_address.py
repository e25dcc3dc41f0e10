"""The bootstrap's xDS address as a Pod has it: the controller's Service by DNS name. Envoy
refuses a name in a STATIC cluster ("malformed IP address"), so the init container's
bootstrap made every provisioned Envoy Pod fail; checked with the real Envoy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gateway_contour.envoy.binary import envoy_binary
from gateway_contour.envoy.bootstrap import BootstrapOptions, ads_bootstrap, write_bootstrap


@pytest.mark.parametrize(
    ("address", "cluster_type"),
    [
        ("gateway-contour.gateway-contour.svc", "STRICT_DNS"),
        ("10.0.0.7", "STATIC"),
        ("::1", "STATIC"),
    ],
)
def test_envoy_accepts_the_bootstrap_for_a_name_or_an_ip(
    tmp_path: Path, address: str, cluster_type: str
) -> None:
    opts = BootstrapOptions(node_id="n", fleet="ns/gw", xds_address=address, fleet_token="t")
    (cluster,) = ads_bootstrap(opts)["static_resources"]["clusters"]
    assert cluster["type"] == cluster_type
    path = write_bootstrap(opts, tmp_path / "bootstrap.json")
    proc = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(path), "-l", "error"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
