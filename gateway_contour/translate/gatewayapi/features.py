"""The Gateway API features we claim: written into GatewayClass status.supportedFeatures, from
which the conformance suite infers what to test (conformance/run.py runs it that way).

Claim a feature here only once its conformance tests pass (`make conformance`); every name is
a `features.FeatureName` of sigs.k8s.io/gateway-api v1.6.1 (pkg/features).
"""

from __future__ import annotations

# The core features of the GATEWAY-HTTP profile.
CORE = ("Gateway", "HTTPRoute", "ReferenceGrant")

# Every extended feature of GATEWAY-HTTP (38 in v1.6.1), each passed by `make conformance`.
EXTENDED = (
    "BackendTLSPolicy",
    "BackendTLSPolicySANValidation",
    "GatewayAddressEmpty",
    "GatewayBackendClientCertificate",
    "GatewayFrontendClientCertificateValidation",
    "GatewayFrontendClientCertificateValidationInsecureFallback",
    "GatewayHTTPListenerIsolation",
    "GatewayHTTPSListenerDetectMisdirectedRequests",
    "GatewayInfrastructurePropagation",
    "GatewayPort8080",
    "GatewayStaticAddresses",
    "HTTPRoute303RedirectStatusCode",
    "HTTPRoute307RedirectStatusCode",
    "HTTPRoute308RedirectStatusCode",
    "HTTPRouteBackendProtocolH2C",
    "HTTPRouteBackendProtocolWebSocket",
    "HTTPRouteBackendRequestHeaderModification",
    "HTTPRouteBackendTimeout",
    "HTTPRouteCORS",
    "HTTPRouteDestinationPortMatching",
    "HTTPRouteHostRewrite",
    "HTTPRouteMethodMatching",
    "HTTPRouteNamedRouteRule",
    "HTTPRouteParentRefPort",
    "HTTPRoutePathRedirect",
    "HTTPRoutePathRewrite",
    "HTTPRoutePortRedirect",
    "HTTPRouteQueryParamMatching",
    "HTTPRouteRequestMirror",
    "HTTPRouteRequestMultipleMirrors",
    "HTTPRouteRequestPercentageMirror",
    "HTTPRouteRequestTimeout",
    "HTTPRouteResponseHeaderModification",
    "HTTPRouteRetry",
    "HTTPRouteRetryBackendTimeout",
    "HTTPRouteRetryConnectionError",
    "HTTPRouteSchemeRedirect",
    "ListenerSet",
)

# GATEWAY-GRPC: its core feature and its extended one (translate/gatewayapi/grpcroute.py).
GRPC = ("GRPCRoute", "GRPCRouteNamedRouteRule")

# GATEWAY-TLS, GATEWAY-TCP, GATEWAY-UDP: their route kinds and TLSRoute's two extended modes
# (translate/gatewayapi/l4routes.py).
L4 = ("TCPRoute", "TLSRoute", "TLSRouteModeMixed", "TLSRouteModeTerminate", "UDPRoute")

# The spec wants the list sorted by name; it holds at most 64 entries.
SUPPORTED_FEATURES = tuple(sorted(set(CORE + EXTENDED + GRPC + L4)))


def supported_features_status() -> list[dict[str, str]]:
    """GatewayClass status.supportedFeatures."""
    return [{"name": name} for name in SUPPORTED_FEATURES]
