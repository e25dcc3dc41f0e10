"""The upstream Gateway API conformance suite, GATEWAY-TLS, GATEWAY-TCP and GATEWAY-UDP
profiles, unmodified, through the harness (`make conformance
PROFILE=GATEWAY-TLS,GATEWAY-TCP,GATEWAY-UDP`): a local cluster, the node agent and
`gateway-contour serve`. One run serves the three profiles (the suite runs every test whose
features the GatewayClass claims either way); each profile's section is held to a ratchet
(tests/conformance/profile_run.py): every core test passes, and so does every extended
feature we claim.

GATEWAY-UDP's queries go to the harness's stand-in for coredns (conformance/harness/
dns_whoami.py), which answers the Corefile's whoami zone and never forwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway_contour.translate.gatewayapi.features import L4
from tests.conformance.profile_run import check_ratchet, run_profile

# profile -> (core tests in v1.6.1, the features of ours its extended part exercises)
PROFILES = {
    "GATEWAY-TLS": (20, {"TLSRouteModeTerminate", "TLSRouteModeMixed"}),
    "GATEWAY-TCP": (19, {"TCPRoute"}),
    "GATEWAY-UDP": (20, {"UDPRoute"}),
}
# test -> why it fails today; remove an entry when the test passes
KNOWN_FAILURES: dict[str, str] = {}
# provisional tests (reported apart from the profiles) of these route kinds that must pass
PROVISIONAL = {
    "TLSRouteMixedTerminationSameNamespace",
    "TLSRouteTerminateSimpleSameNamespace",
    "TCPRouteInvalidNonTCPListener",
    "TCPRouteParentRefAttachAll",
    "TCPRouteWeightedRouting",
    "UDPRoute",
    "UDPRouteNotAllowedByListeners",
    "UDPRouteWeightedRouting",
}


@pytest.mark.timeout(3600)  # a cold run also builds the suite (~5 min on 2 cores)
def test_gateway_tls_tcp_udp_profiles(tmp_path: Path) -> None:
    report, output = run_profile(",".join(PROFILES), tmp_path)
    check_l4_profiles(report, output, KNOWN_FAILURES)


def check_l4_profiles(
    report: dict[str, Any], output: str, known_failures: Mapping[str, str]
) -> None:
    """The ratchet of the three profiles' sections of one run's report (kubernetes mode's
    too, tests/node/test_conformance.py)."""
    for profile, (core_tests, ours) in PROFILES.items():
        section = check_ratchet(report, output, profile, known_failures, core_tests, core_tests)
        extended = section["extended"]
        assert extended["result"] == "success", (profile, extended)
        assert extended["statistics"]["Skipped"] == 0, (profile, extended)
        claimed = set(extended.get("supportedFeatures") or [])
        assert ours <= claimed, (profile, sorted(ours - claimed))
        assert ours <= set(L4)
        assert not ours & set(extended.get("unsupportedFeatures") or []), (profile, extended)
    passed = set(report.get("succeededProvisionalTests") or [])
    assert passed >= PROVISIONAL, sorted(PROVISIONAL - passed)
