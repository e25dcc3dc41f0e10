"""Gateway API condition types and reasons (names exactly as the spec defines them), and a
helper that turns them into the API's condition dicts."""

from __future__ import annotations

from typing import Any

GROUP = "gateway.networking.k8s.io"

# condition types
ACCEPTED = "Accepted"
PROGRAMMED = "Programmed"
RESOLVED_REFS = "ResolvedRefs"
CONFLICTED = "Conflicted"
SUPPORTED_VERSION = "SupportedVersion"
INSECURE_FRONTEND_VALIDATION_MODE = "InsecureFrontendValidationMode"

# GatewayClass reasons
REASON_SUPPORTED_VERSION = "SupportedVersion"

# shared reasons
REASON_ACCEPTED = "Accepted"
REASON_PROGRAMMED = "Programmed"
REASON_RESOLVED_REFS = "ResolvedRefs"
REASON_INVALID = "Invalid"
REASON_UNSUPPORTED_VALUE = "UnsupportedValue"

# Gateway reasons
REASON_LISTENERS_NOT_VALID = "ListenersNotValid"
REASON_INVALID_PARAMETERS = "InvalidParameters"
REASON_UNSUPPORTED_ADDRESS = "UnsupportedAddress"
REASON_ADDRESS_NOT_USABLE = "AddressNotUsable"
REASON_CONFIGURATION_CHANGED = "ConfigurationChanged"
REASON_INVALID_CLIENT_CERTIFICATE_REF = "InvalidClientCertificateRef"
REASON_LISTENERS_NOT_RESOLVED = "ListenersNotResolved"

# Listener reasons
REASON_NO_CONFLICTS = "NoConflicts"
REASON_HOSTNAME_CONFLICT = "HostnameConflict"
REASON_PROTOCOL_CONFLICT = "ProtocolConflict"
REASON_UNSUPPORTED_PROTOCOL = "UnsupportedProtocol"
REASON_INVALID_ROUTE_KINDS = "InvalidRouteKinds"
REASON_NO_VALID_CA_CERTIFICATE = "NoValidCACertificate"
REASON_INVALID_CA_CERTIFICATE_REF = "InvalidCACertificateRef"
REASON_INVALID_CA_CERTIFICATE_KIND = "InvalidCACertificateKind"
# not a spec reason; the API server rejects these values, files do not
REASON_INVALID_HOSTNAME = "InvalidHostname"

# Route reasons
REASON_NOT_ALLOWED_BY_LISTENERS = "NotAllowedByListeners"
REASON_NO_MATCHING_LISTENER_HOSTNAME = "NoMatchingListenerHostname"
REASON_NO_MATCHING_PARENT = "NoMatchingParent"
REASON_REF_NOT_PERMITTED = "RefNotPermitted"
REASON_INVALID_KIND = "InvalidKind"
REASON_BACKEND_NOT_FOUND = "BackendNotFound"


def condition(
    type_: str, status: bool, reason: str, message: str, generation: int
) -> dict[str, Any]:
    """A condition in API form, as `status.report.Condition.to_api` writes it (built
    directly: a status is made for every route on every rebuild)."""
    return {
        "type": type_,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
    }


def generation_of(obj: dict[str, Any]) -> int:
    value = (obj.get("metadata") or {}).get("generation")
    return value if isinstance(value, int) else 0
