"""HTTPS listener certificates: tls.certificateRefs -> ir Secrets, or why not.

A reference must be a core Secret (group "", kind Secret) holding a PEM certificate chain
and private key under tls.crt and tls.key; a Secret in another namespace needs a
ReferenceGrant from Gateways of the listener's namespace. Any unusable reference makes the
listener ResolvedRefs False (InvalidCertificateRef or RefNotPermitted) and unprogrammed.
The chain and key must parse and the key must match the leaf certificate
(certs.pair), or Envoy would reject the listener; expiry is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway_contour.certs.pair import pair_problem
from gateway_contour.ir.model import Secret
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate.data import secret_bytes
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.backends import ReferenceGrants

REASON_INVALID_CERTIFICATE_REF = "InvalidCertificateRef"


@dataclass(frozen=True, slots=True)
class Certificates:
    secrets: tuple[Secret, ...] = ()
    error: tuple[str, str] | None = None  # (reason, message) for ResolvedRefs False


class CertificateResolver:
    __slots__ = ("_cache", "_grants", "_snapshot")

    def __init__(self, snapshot: Snapshot, grants: ReferenceGrants) -> None:
        self._snapshot = snapshot
        self._grants = grants
        self._cache: dict[tuple[str, str], Secret | tuple[str, str]] = {}

    def resolve(self, gateway_namespace: str, tls: Any, from_kind: str = "Gateway") -> Certificates:
        refs = tls.get("certificateRefs") if isinstance(tls, dict) else None
        if not refs or not isinstance(refs, list):
            return Certificates(
                error=(REASON_INVALID_CERTIFICATE_REF, "an HTTPS listener needs certificateRefs")
            )
        secrets = []
        for ref in refs:
            if not isinstance(ref, dict):
                return Certificates(
                    error=(REASON_INVALID_CERTIFICATE_REF, "a certificateRef must be a mapping")
                )
            found = self._one(gateway_namespace, ref, from_kind)
            if isinstance(found, tuple):
                return Certificates(error=found)
            secrets.append(found)
        return Certificates(secrets=tuple(secrets))

    def resolve_one(self, gateway_namespace: str, ref: Any) -> Secret | tuple[str, str]:
        """One certificate reference (a Gateway's backend client certificate): the Secret,
        or (reason, message) with reason RefNotPermitted or InvalidCertificateRef."""
        if not isinstance(ref, dict):
            return (REASON_INVALID_CERTIFICATE_REF, "a certificate reference must be a mapping")
        return self._one(gateway_namespace, ref)

    def _one(
        self, gateway_namespace: str, ref: dict[str, Any], from_kind: str = "Gateway"
    ) -> Secret | tuple[str, str]:
        group, kind = str(ref.get("group", "")), str(ref.get("kind", "Secret"))
        name = str(ref.get("name", ""))
        namespace = str(ref.get("namespace") or gateway_namespace)
        where = f"{namespace}/{name}"
        if (group, kind) != ("", "Secret"):
            shown = f"{group}/{kind}" if group else kind
            return (
                REASON_INVALID_CERTIFICATE_REF,
                f"certificateRef {where}: {shown} is not a Secret",
            )
        if namespace != gateway_namespace and not self._grants.permits(
            c.GROUP, from_kind, gateway_namespace, "", "Secret", namespace, name
        ):
            return (
                c.REASON_REF_NOT_PERMITTED,
                f"certificateRef {where}: no ReferenceGrant in namespace {namespace} allows "
                f"{from_kind}s in {gateway_namespace} to use it",
            )
        cached = self._cache.get((namespace, name))
        if cached is None:
            cached = self._load(namespace, name)
            self._cache[(namespace, name)] = cached
        return cached

    def _load(self, namespace: str, name: str) -> Secret | tuple[str, str]:
        where = f"{namespace}/{name}"
        secret = self._snapshot.get("Secret", namespace, name)
        if secret is None:
            return (REASON_INVALID_CERTIFICATE_REF, f"Secret {where} not found")
        cert, key = secret_bytes(secret, "tls.crt"), secret_bytes(secret, "tls.key")
        if cert is None or key is None:
            return (
                REASON_INVALID_CERTIFICATE_REF,
                f"Secret {where} needs tls.crt and tls.key (base64 data or stringData)",
            )
        if b"-----BEGIN CERTIFICATE-----" not in cert:
            return (
                REASON_INVALID_CERTIFICATE_REF,
                f"Secret {where}: tls.crt is not a PEM certificate",
            )
        if b"PRIVATE KEY-----" not in key:
            return (
                REASON_INVALID_CERTIFICATE_REF,
                f"Secret {where}: tls.key is not a PEM private key",
            )
        problem = pair_problem(cert, key)
        if problem is not None:
            return (REASON_INVALID_CERTIFICATE_REF, f"Secret {where}: {problem}")
        return Secret(name=where, cert_chain=cert, private_key=key)
