"""The upstream Gateway API conformance suite, its five Gateway profiles, unmodified, on the
real node against the real install (`make conformance MODE=kubernetes
PROFILE=GATEWAY-HTTP,...` does the same on a node of its own): every Gateway the suite
creates gets its own Envoy Pods and LoadBalancer Service from `--provision kubernetes`, the
suite's backends are echo-basic Pods (coredns our CoreDNS), and it dials the address the load
balancer stand-in gave each Gateway (tests/support/load_balancer.py).

One run serves the five profiles: the suite runs every test whose features the GatewayClass
claims whichever profiles are asked for, so asking for all five costs no more than
GATEWAY-HTTP alone (~9 min either way). Each profile's section is held to the ratchet of its
host-mode test (tests/conformance/), with the known failures of this mode below: a valid
upstream report in mode "kubernetes", no failure beyond them, core passes not dropping, every
extended feature claimed and run. It runs on this session's node (the node tier's
`installed` fixture): two nodes cannot share this machine's fixed subnets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.kube_mode import MODE, suite_addresses
from gateway_contour.translate.gatewayapi.features import EXTENDED
from tests.conformance import test_gateway_http as http
from tests.conformance.profile_run import (
    check_every_extended_feature,
    check_ratchet,
    run_profile,
)
from tests.conformance.test_gateway_grpc import PROFILE as GRPC
from tests.conformance.test_gateway_grpc import check_grpc_profile
from tests.conformance.test_gateway_l4 import PROFILES as L4
from tests.conformance.test_gateway_l4 import check_l4_profiles
from tests.support.node_cluster import NodeCluster

# test -> why it fails in this mode today; remove an entry when the test passes
KNOWN_FAILURES: dict[str, str] = {}
PROFILES = (http.PROFILE, GRPC, *L4)


@pytest.mark.timeout(3600)
def test_gateway_profiles_on_real_pods(installed: NodeCluster, tmp_path: Path) -> None:
    kubeconfig = str(installed.cluster.kubeconfig)
    report, output = run_profile(
        ",".join(PROFILES), tmp_path, "--mode", "kubernetes", "--kubeconfig", kubeconfig,
        "--", *suite_addresses(),
    )  # fmt: skip
    assert report["mode"] == MODE
    assert {p["name"] for p in report["profiles"]} == set(PROFILES)
    section = check_ratchet(
        report, output, http.PROFILE, KNOWN_FAILURES, http.CORE_TESTS, http.CORE_PASSED_AT_LEAST
    )
    check_every_extended_feature(section, set(EXTENDED), http.EXTENDED_FEATURES)
    check_grpc_profile(report, output, KNOWN_FAILURES)
    check_l4_profiles(report, output, KNOWN_FAILURES)
