"""Where the Envoys' xDS client certificate comes from, for the per-Gateway Secrets.

Envoys in a Gateway's namespace cannot mount a Secret of the controller's namespace, so the
provisioner copies the client certificate into each Gateway's namespace. Its source:

- `TLSDirCredentials`: a directory of tls.crt, tls.key, ca.crt (the mounted client Secret
  that `gateway-contour certgen` made, or its `envoy/` output directory). Read on every
  reconcile, so a rotated Secret reaches every fleet with the next rebuild.
- `EphemeralCredentials`: a CA and client certificate made in memory at start. For
  development only: an ADS server that requires mTLS trusts some other CA.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from gateway_contour.certs import as_secret, generate_xds_certificates, load_tls_dir

log = logging.getLogger(__name__)


class EnvoyCredentials(Protocol):
    def secret(self) -> dict[str, Any]:
        """A kubernetes.io/tls Secret dict (tls.crt, tls.key, ca.crt); name and namespace
        are the caller's to replace."""
        ...


class TLSDirCredentials:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def secret(self) -> dict[str, Any]:
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

    def secret(self) -> dict[str, Any]:
        return self._secret
