"""Where the Envoys' xDS client certificate comes from, for the per-Gateway Secrets.

Envoys in a Gateway's namespace cannot mount a Secret of the controller's namespace, so the
provisioner writes a client certificate into each fleet's namespace. Its source:

- `FleetCertificateCredentials`: the Envoy client CA (a directory of tls.crt, tls.key and
  ca.crt, the CA Envoys verify the ADS server with: certgen's `envoy-ca`). Each fleet gets a
  certificate of its own naming it (certs/fleet.py), kept while valid: the one issued last,
  or the one its Secret holds (`stored`, after a restart). What the ADS server checks when
  started with the same CA (`serve --envoy-ca-dir`). The CA is read on every reconcile.
- `TLSDirCredentials` (no per-fleet certificates): one certificate copied to every fleet, a
  directory of tls.crt, tls.key, ca.crt (the mounted client Secret that `gateway-contour
  certgen` made, or its `envoy/` output directory). Read on every reconcile, so a rotated
  Secret reaches every fleet with the next rebuild.
- `EphemeralCredentials`: a CA and client certificate made in memory at start. For
  development only: an ADS server that requires mTLS trusts some other CA.
"""

from __future__ import annotations

import base64
import binascii
import logging
from pathlib import Path
from typing import Any, Protocol

from gateway_contour.certs import (
    CERT_FILE,
    KEY_FILE,
    CertificateAuthority,
    as_secret,
    generate_xds_certificates,
    load_tls_dir,
)
from gateway_contour.certs.authority import key_matches
from gateway_contour.certs.fleet import FleetIssuer, Pair

log = logging.getLogger(__name__)


class EnvoyCredentials(Protocol):
    def secret(self, fleet: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        """A kubernetes.io/tls Secret dict (tls.crt, tls.key, ca.crt) for `fleet`
        ("namespace/name"); name and namespace are the caller's to replace. `stored`: the
        fleet's Secret as the API server has it now, if any."""
        ...


def _stored_pair(stored: dict[str, Any] | None) -> Pair | None:
    data = (stored or {}).get("data") or {}
    try:
        return base64.b64decode(data[CERT_FILE]), base64.b64decode(data[KEY_FILE])
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None


class FleetCertificateCredentials:
    def __init__(self, ca_dir: Path) -> None:
        self.ca_dir = ca_dir
        loaded = self._read()
        if loaded is None:
            raise ValueError(f"{ca_dir}: no Envoy CA (tls.crt, tls.key, ca.crt that match)")
        self.issuer = FleetIssuer(loaded[0])
        self._server_ca = loaded[1]

    def _read(self) -> tuple[CertificateAuthority, bytes] | None:
        try:
            cert, key, server_ca = load_tls_dir(self.ca_dir)
        except OSError:
            return None
        if not key_matches(cert, key) or b"-----BEGIN CERTIFICATE-----" not in server_ca:
            return None
        return CertificateAuthority(cert, key), server_ca

    def secret(self, fleet: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        loaded = self._read()
        if loaded is None:  # caught mid-rotation, or removed: sign with the last good one
            log.warning("Envoy CA %s unusable; keeping the previous one", self.ca_dir)
        else:
            self.issuer.ca, self._server_ca = loaded
        cert, key = self.issuer.issue(fleet, _stored_pair(stored))
        return as_secret("envoy", "", cert, key, self._server_ca)


class TLSDirCredentials:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def secret(self, fleet: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        cert, key, ca = load_tls_dir(self.directory)
        return as_secret("envoy", "", cert, key, ca)


class EphemeralCredentials:
    def __init__(self) -> None:
        log.warning(
            "no Envoy client certificate configured: issuing one from a throwaway CA "
            "(an ADS server requiring mTLS will refuse these Envoys)"
        )
        certs = generate_xds_certificates()
        self._secret = as_secret("envoy", "", *certs.envoy, certs.ca.cert_pem)

    def secret(self, fleet: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        return self._secret
