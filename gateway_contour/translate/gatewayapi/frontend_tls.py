"""Frontend (client) certificate validation: a Gateway's spec.tls.frontend -> the CA bundle
and mode each HTTPS listener validates clients with, or why it cannot.

`default` applies to every HTTPS listener, `perPort[port]` replaces it for listeners on that
port. caCertificateRefs name ConfigMaps holding a PEM bundle under `ca.crt` (a ConfigMap in
another namespace needs a ReferenceGrant from Gateways). Any unusable reference makes the
listener ResolvedRefs False (InvalidCACertificateKind, InvalidCACertificateRef or
RefNotPermitted); when none is usable the listener is also Accepted False /
NoValidCACertificate. The usable bundles are concatenated into one ir Secret (`ca` only)
named after the references, served over SDS as the validation context.

Mode AllowInsecureFallback accepts clients without a certificate or with one that fails
verification; the Gateway then reports InsecureFrontendValidationMode True.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway_contour.ir.model import Secret
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate.data import dicts, mapping, text
from gateway_contour.translate.gatewayapi import conditions as c
from gateway_contour.translate.gatewayapi.backends import ReferenceGrants

INSECURE_FALLBACK = "AllowInsecureFallback"
ALLOW_VALID_ONLY = "AllowValidOnly"
CA_KEY = "ca.crt"


@dataclass(frozen=True, slots=True)
class ClientCA:
    """The outcome for one validation block: the bundle (None when nothing resolved), whether
    clients may skip or fail validation, and the first problem with a reference."""

    secret: Secret | None
    optional: bool
    error: tuple[str, str] | None = None  # (reason, message) for ResolvedRefs False


@dataclass(frozen=True, slots=True)
class RefError:
    reason: str
    message: str


class FrontendValidation:
    """Resolves the frontend validation of Gateways; ConfigMaps are read once per name."""

    __slots__ = ("_cache", "_grants", "_snapshot")

    def __init__(self, snapshot: Snapshot, grants: ReferenceGrants) -> None:
        self._snapshot = snapshot
        self._grants = grants
        self._cache: dict[tuple[str, str], bytes | str] = {}

    def for_port(self, gateway_namespace: str, frontend: Any, port: int) -> ClientCA | None:
        """The validation of HTTPS listeners on `port`, None when there is none."""
        frontend = mapping(frontend)
        validation = None
        for entry in dicts(frontend.get("perPort")):
            if entry.get("port") == port:
                validation = mapping(mapping(entry.get("tls")).get("validation")) or None
                break
        else:
            validation = mapping(mapping(frontend.get("default")).get("validation")) or None
        if validation is None:
            return None
        return self._resolve(gateway_namespace, validation)

    def _resolve(self, gateway_namespace: str, validation: dict[str, Any]) -> ClientCA:
        mode = text(validation.get("mode")) or ALLOW_VALID_ONLY
        if mode not in (ALLOW_VALID_ONLY, INSECURE_FALLBACK):
            return ClientCA(
                None,
                False,
                (c.REASON_INVALID_CA_CERTIFICATE_REF, f"validation mode {mode!r} is not supported"),
            )
        bundles: list[bytes] = []
        names: list[str] = []
        error: tuple[str, str] | None = None
        refs = dicts(validation.get("caCertificateRefs"))
        if not refs:
            error = (c.REASON_INVALID_CA_CERTIFICATE_REF, "caCertificateRefs is empty")
        for ref in refs:
            found = self._one(gateway_namespace, ref)
            if isinstance(found, RefError):
                error = error or (found.reason, found.message)
                continue
            name, bundle = found
            names.append(name)
            bundles.append(bundle)
        secret = None
        if bundles:
            joined = b"\n".join(b.rstrip(b"\n") for b in bundles) + b"\n"
            secret = Secret(name="+".join(names), ca=joined)
        return ClientCA(secret, mode == INSECURE_FALLBACK, error)

    def _one(self, gateway_namespace: str, ref: dict[str, Any]) -> tuple[str, bytes] | RefError:
        group, kind = text(ref.get("group")), text(ref.get("kind"))
        name = text(ref.get("name"))
        namespace = text(ref.get("namespace")) or gateway_namespace
        where = f"{namespace}/{name}"
        if (group, kind) != ("", "ConfigMap"):
            shown = f"{group}/{kind}" if group else kind
            return RefError(
                c.REASON_INVALID_CA_CERTIFICATE_KIND,
                f"caCertificateRef {where}: {shown} is not a ConfigMap",
            )
        if namespace != gateway_namespace and not self._grants.permits(
            c.GROUP, "Gateway", gateway_namespace, "", "ConfigMap", namespace, name
        ):
            return RefError(
                c.REASON_REF_NOT_PERMITTED,
                f"caCertificateRef {where}: no ReferenceGrant in namespace {namespace} allows "
                f"Gateways in {gateway_namespace} to use it",
            )
        cached = self._cache.get((namespace, name))
        if cached is None:
            cached = self._load(namespace, name)
            self._cache[(namespace, name)] = cached
        if isinstance(cached, str):
            return RefError(c.REASON_INVALID_CA_CERTIFICATE_REF, cached)
        return f"{where}/configmap", cached

    def _load(self, namespace: str, name: str) -> bytes | str:
        """The PEM bundle of a ConfigMap, or why it is unusable."""
        where = f"{namespace}/{name}"
        config_map = self._snapshot.get("ConfigMap", namespace, name)
        if config_map is None:
            return f"ConfigMap {where} not found"
        value = mapping(config_map.get("data")).get(CA_KEY)
        if not isinstance(value, str) or "-----BEGIN CERTIFICATE-----" not in value:
            return f"ConfigMap {where} has no PEM certificate under {CA_KEY}"
        return value.encode()
