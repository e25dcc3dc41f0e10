"""The upstream Gateway API conformance suite (GATEWAY-HTTP), unmodified, on the real node
against the real install (`make conformance MODE=kubernetes` does the same on a node of its
own): every Gateway the suite creates gets its own Envoy Pods and LoadBalancer Service from
`--provision kubernetes`, the suite's backends are echo-basic Pods, and it dials the address
the load balancer stand-in gave each Gateway (tests/support/load_balancer.py).

A ratchet like the host-mode ones (tests/conformance/profile_run.py): a valid upstream
report in mode "kubernetes", no failure beyond KNOWN_FAILURES (each with its reason), core
passes not dropping, every extended feature claimed and run. It runs on this session's node
(the node tier's `installed` fixture): two nodes cannot share this machine's fixed subnets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.kube_mode import MODE, suite_addresses
from gateway_contour.translate.gatewayapi.features import EXTENDED
from tests.conformance import test_gateway_http as host
from tests.conformance.profile_run import (
    check_every_extended_feature,
    check_ratchet,
    run_profile,
)
from tests.support.node_cluster import NodeCluster

# test -> why it fails in this mode today; remove an entry when the test passes
KNOWN_FAILURES: dict[str, str] = {}
# the profile's size and what must pass are host mode's (a module, so pytest collects none
# of its tests here)
PROFILE, CORE_TESTS, EXTENDED_FEATURES = host.PROFILE, host.CORE_TESTS, host.EXTENDED_FEATURES
CORE_PASSED_AT_LEAST = host.CORE_PASSED_AT_LEAST


@pytest.mark.timeout(3600)
def test_gateway_http_profile_on_real_pods(installed: NodeCluster, tmp_path: Path) -> None:
    kubeconfig = str(installed.cluster.kubeconfig)
    report, output = run_profile(
        PROFILE, tmp_path, "--mode", "kubernetes", "--kubeconfig", kubeconfig,
        "--", *suite_addresses(),
    )  # fmt: skip
    assert report["mode"] == MODE
    profile = check_ratchet(
        report, output, PROFILE, KNOWN_FAILURES, CORE_TESTS, CORE_PASSED_AT_LEAST
    )
    check_every_extended_feature(profile, set(EXTENDED), EXTENDED_FEATURES)
