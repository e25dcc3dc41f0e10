"""The Gateway API features we claim: written into GatewayClass status.supportedFeatures, from
which the conformance suite infers what to test (conformance/run.py runs it that way).

Claim a feature here only once its conformance tests pass (`make conformance`); every name is
a `features.FeatureName` of sigs.k8s.io/gateway-api v1.6.1 (pkg/features).
"""

from __future__ import annotations

# The core features of the GATEWAY-HTTP profile.
CORE = ("Gateway", "HTTPRoute", "ReferenceGrant")

# Extended features of GATEWAY-HTTP that translate/ implements.
EXTENDED = (
    "HTTPRoute303RedirectStatusCode",
    "HTTPRoute307RedirectStatusCode",
    "HTTPRoute308RedirectStatusCode",
    "HTTPRouteBackendProtocolH2C",
    "HTTPRouteBackendProtocolWebSocket",
    "HTTPRouteBackendRequestHeaderModification",
    "HTTPRouteBackendTimeout",
    "HTTPRouteCORS",
    "HTTPRouteHostRewrite",
    "HTTPRouteMethodMatching",
    "HTTPRoutePathRedirect",
    "HTTPRoutePathRewrite",
    "HTTPRoutePortRedirect",
    "HTTPRouteQueryParamMatching",
    "HTTPRouteRequestMirror",
    "HTTPRouteRequestMultipleMirrors",
    "HTTPRouteRequestPercentageMirror",
    "HTTPRouteRequestTimeout",
    "HTTPRouteResponseHeaderModification",
    "HTTPRouteSchemeRedirect",
)

# The spec wants the list sorted by name; it holds at most 64 entries.
SUPPORTED_FEATURES = tuple(sorted(set(CORE + EXTENDED)))


def supported_features_status() -> list[dict[str, str]]:
    """GatewayClass status.supportedFeatures."""
    return [{"name": name} for name in SUPPORTED_FEATURES]
