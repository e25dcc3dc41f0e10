"""virtualhost.tls of a root HTTPProxy -> an IR TLSServer (or passthrough), with the Secrets
it needs, or TLSError sub-conditions.

- `secretName` is "name" (the proxy's namespace) or "namespace/name"; a Secret in another
  namespace needs a TLSCertificateDelegation in that namespace listing the secret and the
  proxy's namespace (or "*") among its targetNamespaces.
- `minimumProtocolVersion`: "" or "1.2" -> TLS 1.2, "1.3" -> 1.3 (older versions are
  refused, as Contour does); `maximumProtocolVersion` likewise.
- `passthrough: true` sends the TLS stream to the tcpproxy untouched (no secretName then).
- `clientValidation.caSecret` (a Secret with ca.crt, delegation rules as above) makes Envoy
  ask for and verify client certificates; `optionalClientCertificate` accepts clients
  without one.
- `enableFallbackCertificate`: the host is also served to clients sending no SNI (or one
  no chain matches) on the default chain, which presents the controller-wide fallback
  certificate (TranslateOptions.fallback_certificate, "namespace/name"). Refused with
  clientValidation (TLSIncompatibleFeatures: a client without SNI would skip it), when no
  fallback is configured (FallbackNotPresent), when its Secret is missing or unusable
  (FallbackNotValid), and when it lives in another namespace without a
  TLSCertificateDelegation to the proxy's namespace (FallbackNotDelegated). The default
  chain serves HTTP routes: a `tcpproxy` behind the terminated TLS is reached by SNI only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway_contour.certs.pair import pair_problem
from gateway_contour.ir.model import ClientValidation, Secret, TLSServer
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate.data import dicts, items, mapping, secret_bytes, text
from gateway_contour.translate.httpproxy import status as s

ErrorSink = Callable[[str, str, str], None]
_VERSIONS = {"": "1.2", "1.2": "1.2", "1.3": "1.3"}


@dataclass(frozen=True, slots=True)
class HostTLS:
    server: TLSServer | None  # None for passthrough
    secrets: tuple[Secret, ...]  # to add to the IR (certificates and CA bundles)
    passthrough: bool = False
    fallback: TLSServer | None = None  # the default chain's TLS, with enableFallbackCertificate


class Delegations:
    """TLSCertificateDelegations: may a proxy in namespace N use Secret ns/name?"""

    __slots__ = ("_allowed",)

    def __init__(self, snapshot: Snapshot) -> None:
        self._allowed: dict[tuple[str, str], set[str]] = {}
        for obj in snapshot.objects("TLSCertificateDelegation"):
            namespace = obj["metadata"]["namespace"]
            for entry in dicts(mapping(obj.get("spec")).get("delegations")):
                targets = {t for t in items(entry.get("targetNamespaces")) if isinstance(t, str)}
                key = (namespace, text(entry.get("secretName")))
                self._allowed.setdefault(key, set()).update(targets)

    def permits(self, secret_namespace: str, secret_name: str, proxy_namespace: str) -> bool:
        if secret_namespace == proxy_namespace:
            return True
        targets = self._allowed.get((secret_namespace, secret_name), set())
        return proxy_namespace in targets or "*" in targets


def host_tls(
    spec: dict[str, Any],
    namespace: str,
    snapshot: Snapshot,
    delegations: Delegations,
    error: ErrorSink,
    fallback_ref: str | None = None,
) -> HostTLS | None:
    """`fallback_ref`: the controller's fallback certificate Secret, if one is configured."""
    passthrough = spec.get("passthrough") is True
    secret_ref = text(spec.get("secretName"))
    if passthrough:
        if secret_ref:
            error(
                s.TLS_ERROR,
                "TLSConfigNotValid",
                "Spec.VirtualHost.TLS: both Passthrough and SecretName were specified",
            )
            return None
        return HostTLS(None, (), passthrough=True)
    if not secret_ref:
        error(
            s.TLS_ERROR,
            "TLSConfigNotValid",
            "Spec.VirtualHost.TLS: neither Passthrough nor SecretName were specified",
        )
        return None
    use_fallback = spec.get("enableFallbackCertificate") is True
    if use_fallback:
        if spec.get("clientValidation") is not None:
            error(
                s.TLS_ERROR,
                "TLSIncompatibleFeatures",
                "Spec.Virtualhost.TLS fallback & client validation are incompatible",
            )
            return None
        if not fallback_ref:
            error(
                s.TLS_ERROR,
                "FallbackNotPresent",
                "Spec.Virtualhost.TLS enabled fallback but the fallback Certificate Secret is "
                "not configured in the controller's configuration",
            )
            return None
    versions = []
    for field in ("minimumProtocolVersion", "maximumProtocolVersion"):
        value = text(spec.get(field))
        version = _VERSIONS.get(value)
        if version is None:
            error(
                s.TLS_ERROR,
                "TLSConfigNotValid",
                f"Spec.VirtualHost.TLS.{field}: {value!r} is not supported (use 1.2 or 1.3)",
            )
            return None
        versions.append(version if value or field.startswith("min") else "1.3")
    if versions[0] > versions[1]:
        error(
            s.TLS_ERROR,
            "TLSConfigNotValid",
            "Spec.VirtualHost.TLS: minimumProtocolVersion is above maximumProtocolVersion",
        )
        return None
    cert = _secret(secret_ref, namespace, snapshot, delegations, "tls.crt", error)
    if cert is None:
        return None
    secrets = [cert]
    fallback = None
    if use_fallback and fallback_ref:
        fallback_cert = _fallback_secret(fallback_ref, namespace, snapshot, delegations, error)
        if fallback_cert is None:
            return None
        secrets.append(fallback_cert)
        fallback = TLSServer(secrets=(fallback_cert.name,))
    validation = None
    client = spec.get("clientValidation")
    if client is not None:
        client = mapping(client)
        ca_ref = text(client.get("caSecret"))
        if client.get("skipClientCertValidation") is True:
            error(
                s.TLS_ERROR,
                "ClientValidationInvalid",
                "Spec.VirtualHost.TLS.ClientValidation: skipClientCertValidation is not supported",
            )
            return None
        if not ca_ref:
            error(
                s.TLS_ERROR,
                "ClientValidationInvalid",
                "Spec.VirtualHost.TLS.ClientValidation: caSecret is required",
            )
            return None
        ca = _secret(ca_ref, namespace, snapshot, delegations, "ca.crt", error)
        if ca is None:
            return None
        secrets.append(ca)
        validation = ClientValidation(
            ca_secret=ca.name, optional=client.get("optionalClientCertificate") is True
        )
    server = TLSServer(
        secrets=(cert.name,),
        min_version=versions[0],
        max_version=versions[1],
        client_validation=validation,
    )
    return HostTLS(server, tuple(secrets), fallback=fallback)


def _fallback_secret(
    ref: str, namespace: str, snapshot: Snapshot, delegations: Delegations, error: ErrorSink
) -> Secret | None:
    """The controller's fallback certificate for a proxy in `namespace`: it must be usable
    (FallbackNotValid), and delegated to the proxy's namespace when it lives in another one
    (FallbackNotDelegated)."""
    secret_ns, _, name = ref.rpartition("/")
    secret_ns = secret_ns or namespace

    def invalid(kind: str, _reason: str, message: str) -> None:
        error(kind, "FallbackNotValid", message)

    # looked up as from its own namespace: delegation is checked below, with its own reason
    field = "Spec.VirtualHost.TLS fallback certificate"
    found = _secret(
        f"{secret_ns}/{name}", secret_ns, snapshot, delegations, "tls.crt", invalid, field
    )
    if found is None:
        return None
    if not delegations.permits(secret_ns, name, namespace):
        error(
            s.TLS_ERROR,
            "FallbackNotDelegated",
            f"Spec.VirtualHost.TLS fallback Secret {found.name!r} is not delegated to "
            f"namespace {namespace!r} (TLSCertificateDelegation)",
        )
        return None
    return found


def upstream_ca(
    ref: str, namespace: str, snapshot: Snapshot, delegations: Delegations, error: ErrorSink
) -> Secret | None:
    """The CA bundle of a service's `validation.caSecret` (delegation rules as above)."""
    field = "Spec.Routes.Services.UpstreamValidation.CACertificate"
    return _secret(ref, namespace, snapshot, delegations, "ca.crt", error, field)


def _secret(
    ref: str,
    namespace: str,
    snapshot: Snapshot,
    delegations: Delegations,
    kind: str,
    error: ErrorSink,
    field: str = "",
) -> Secret | None:
    """A certificate ("tls.crt": with tls.key) or a CA bundle ("ca.crt") Secret."""
    secret_ns, _, name = ref.rpartition("/")
    secret_ns = secret_ns or namespace
    where = f"{secret_ns}/{name}"
    field = field or (
        "Spec.VirtualHost.TLS" + (".ClientValidation.CASecret" if kind == "ca.crt" else "")
    )
    if not delegations.permits(secret_ns, name, namespace):
        error(
            s.TLS_ERROR,
            "DelegationNotPermitted",
            f"{field} Secret {where!r} certificate delegation not permitted",
        )
        return None
    obj = snapshot.get("Secret", secret_ns, name)
    if obj is None:
        error(s.TLS_ERROR, "SecretNotValid", f"{field} Secret {where!r} is invalid: not found")
        return None
    cert, key = secret_bytes(obj, "tls.crt"), secret_bytes(obj, "tls.key")
    ca = secret_bytes(obj, "ca.crt")
    # one IR Secret per Kubernetes Secret, with every part it holds: it may serve as both
    wanted = ca if kind == "ca.crt" else cert
    if wanted is None or b"-----BEGIN CERTIFICATE-----" not in wanted:
        error(
            s.TLS_ERROR,
            "SecretNotValid",
            f"{field} Secret {where!r} is invalid: {kind} is missing or not PEM",
        )
        return None
    if kind == "tls.crt" and (key is None or b"PRIVATE KEY-----" not in key):
        error(
            s.TLS_ERROR,
            "SecretNotValid",
            f"{field} Secret {where!r} is invalid: tls.key is missing or not PEM",
        )
        return None
    pair = None if cert is None or key is None else pair_problem(cert, key)
    if kind == "tls.crt" and pair is not None:
        error(s.TLS_ERROR, "SecretNotValid", f"{field} Secret {where!r} is invalid: {pair}")
        return None
    usable_pair = cert is not None and key is not None and pair is None
    return Secret(
        name=where,
        cert_chain=cert if usable_pair and cert else b"",
        private_key=key if usable_pair and key else b"",
        ca=ca if ca and b"-----BEGIN CERTIFICATE-----" in ca else b"",
    )
