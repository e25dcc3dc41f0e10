"""The upstream Gateway API conformance suite (GATEWAY-HTTP), unmodified, through the harness
(`make conformance`): a local cluster, the node agent and `gateway-contour serve`.

This is a ratchet (tests/conformance/profile_run.py): the run must produce a valid upstream
report, no test may fail beyond the known failures listed here (each with its reason), and
core passes may not drop. Fixing a known failure makes this test demand the entry be
removed, so the list only shrinks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway_contour.translate.gatewayapi.features import EXTENDED
from tests.conformance.profile_run import (
    check_every_extended_feature,
    check_ratchet,
    run_profile,
)

PROFILE = "GATEWAY-HTTP"
# test -> why it fails today (see the issue notes); remove an entry when the test passes
KNOWN_FAILURES: dict[str, str] = {}
CORE_TESTS = 37
CORE_PASSED_AT_LEAST = 37
# every extended feature of GATEWAY-HTTP in v1.6.1 is claimed (features.EXTENDED)
EXTENDED_FEATURES = 38


@pytest.mark.timeout(3600)  # a cold run also builds the suite (~5 min on 2 cores)
def test_gateway_http_profile(tmp_path: Path) -> None:
    report, output = run_profile(PROFILE, tmp_path)
    profile = check_ratchet(
        report, output, PROFILE, KNOWN_FAILURES, CORE_TESTS, CORE_PASSED_AT_LEAST
    )
    check_every_extended_feature(profile, set(EXTENDED), EXTENDED_FEATURES)
