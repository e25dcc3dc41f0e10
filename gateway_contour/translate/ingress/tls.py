"""Ingress TLS: `spec.tls[].secretName` -> an IR Secret, or why not.

The Secret lives in the Ingress's namespace, or in the namespace named by the
`projectcontour.io/tls-cert-namespace` annotation; a Secret in another namespace needs a
TLSCertificateDelegation there whose `delegations[]` names the Secret and lists the
Ingress's namespace (or "*") in `targetNamespaces`. The Secret must hold a PEM certificate
and key (tls.crt, tls.key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway_contour.ir.model import Secret
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate.data import dicts, items, mapping, text

if TYPE_CHECKING:
    from gateway_contour.translate.gatewayapi.certificates import CertificateResolver


class IngressSecrets:
    __slots__ = ("_certificates", "_snapshot")

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        # made on first use: it parses certificates (cryptography), which `migrate` checking
        # delegations only does not need
        self._certificates: CertificateResolver | None = None

    def resolve(self, ingress_namespace: str, secret_namespace: str, name: str) -> Secret | str:
        """The Secret, or a message saying why it cannot be used."""
        if not name:
            return "spec.tls entry without secretName"
        if secret_namespace != ingress_namespace and not self.delegated(
            secret_namespace, name, ingress_namespace
        ):
            return (
                f"Secret {secret_namespace}/{name} is not delegated to namespace "
                f"{ingress_namespace} by a TLSCertificateDelegation"
            )
        if self._certificates is None:
            from gateway_contour.translate.gatewayapi.backends import ReferenceGrants
            from gateway_contour.translate.gatewayapi.certificates import CertificateResolver

            self._certificates = CertificateResolver(
                self._snapshot, ReferenceGrants(self._snapshot)
            )
        # resolved as seen from its own namespace: delegation was checked above
        found = self._certificates.resolve_one(secret_namespace, {"name": name})
        return found if isinstance(found, Secret) else found[1]

    def delegated(self, namespace: str, name: str, target: str) -> bool:
        """Whether a TLSCertificateDelegation in `namespace` lets `target` use Secret `name`."""
        for delegation in self._snapshot.in_namespace("TLSCertificateDelegation", namespace):
            for entry in dicts(mapping(delegation.get("spec")).get("delegations")):
                if text(entry.get("secretName")) != name:
                    continue
                targets = items(entry.get("targetNamespaces"))
                if target in targets or "*" in targets:
                    return True
        return False
