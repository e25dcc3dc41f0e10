"""The upstream Gateway API conformance suite, GATEWAY-GRPC profile, unmodified, through the
harness (`make conformance PROFILE=GATEWAY-GRPC`): a local cluster, the node agent and
`gateway-contour serve`. A ratchet (tests/conformance/profile_run.py): every core test
passes, and so does every extended feature we claim.

The suite runs every test whose features the GatewayClass claims (HTTP, TLS, ... too); the
report's GATEWAY-GRPC section counts those of this profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway_contour.translate.gatewayapi.features import GRPC
from tests.conformance.profile_run import check_ratchet, run_profile

PROFILE = "GATEWAY-GRPC"
# test -> why it fails today; remove an entry when the test passes
KNOWN_FAILURES: dict[str, str] = {}
CORE_TESTS = 15
CORE_PASSED_AT_LEAST = 15


@pytest.mark.timeout(3600)  # a cold run also builds the suite (~5 min on 2 cores)
def test_gateway_grpc_profile(tmp_path: Path) -> None:
    report, output = run_profile(PROFILE, tmp_path)
    check_grpc_profile(report, output, KNOWN_FAILURES)


def check_grpc_profile(
    report: dict[str, Any], output: str, known_failures: Mapping[str, str]
) -> None:
    """The ratchet of the profile's section of one run's report (kubernetes mode's too,
    tests/node/test_conformance.py)."""
    section = check_ratchet(
        report, output, PROFILE, known_failures, CORE_TESTS, CORE_PASSED_AT_LEAST
    )
    extended = section["extended"]
    assert extended["result"] == "success", extended
    # GRPCRouteNamedRouteRule, which we claim, belongs to no profile upstream (v1.6.1): its
    # one test is provisional and is reported apart
    assert "GRPCRouteNamedRouteRule" in GRPC
    assert "GRPCRouteNamedRule" in report.get("succeededProvisionalTests", [])
