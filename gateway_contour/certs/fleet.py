"""Per-fleet client certificates: an Envoy proves which fleet it serves with its certificate.

The controller holds the Envoy client CA (`ENVOY_CA_SECRET`, made by `certgen`) and signs one
client certificate per fleet it provisions: ECDSA P-256, clientAuth only, valid
`FLEET_CERT_DAYS`, whose only URI SAN is `fleet_uri(fleet)`
(`spiffe://gateway-contour/fleet/<namespace>/<name>`). The ADS server trusts that CA and
serves a stream only the fleet its peer certificate names (`FleetCertificates.permits`): a
certificate naming another fleet, no fleet (certgen's shared client certificate), or issued
by another CA is refused.

`FleetIssuer.issue(fleet, stored)` reuses a certificate (the last it issued, or `stored`, what
a Secret holds now) while it is still this CA's, names this fleet, matches its key and has
more than a third of its validity left (`renewal_time`): the same inputs give the same
Secret, so the provisioner's digest does not move on every reconcile. Otherwise it signs a
new one. A renewal happens on the first reconcile past that point (any change of the world
reconciles).
"""

from __future__ import annotations

import datetime
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway_contour.certs.authority import (
    CertificateAuthority,
    _builder,
    _key_pem,
    _name,
    _new_key,
    key_matches,
)
from gateway_contour.certs.bundle import load_tls_dir, write_tls_dir
from gateway_contour.certs.rotation import DEFAULT_GRACE, RotatingTrust

log = logging.getLogger("gateway_contour.certs")

FLEET_URI_PREFIX = "spiffe://gateway-contour/fleet/"
FLEET_CERT_DAYS = 30
ENVOY_CA_NAME = "gateway-contour-envoy-ca"
Pair = tuple[bytes, bytes]  # (certificate PEM, key PEM)


def fleet_uri(fleet: str) -> str:
    """The URI SAN naming `fleet` ("namespace/name")."""
    return FLEET_URI_PREFIX + fleet


def issue_fleet_certificate(
    ca: CertificateAuthority, fleet: str, days: int = FLEET_CERT_DAYS
) -> Pair:
    """A fresh client certificate for `fleet`, signed by `ca` (an ECDSA CA)."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the Envoy CA key must be an ECDSA key (as certgen makes)")
    key = _new_key()
    cert = (
        _builder(_name("envoy"), ca_cert.subject, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(fleet_uri(fleet))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def certificate_fleets(cert: x509.Certificate) -> list[str]:
    """The fleets a certificate's URI SANs name (none for certgen's shared certificate)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    return [uri.removeprefix(FLEET_URI_PREFIX) for uri in uris if uri.startswith(FLEET_URI_PREFIX)]


def fleet_of(cert_pem: bytes, ca_cert_pem: bytes) -> str | None:
    """The one fleet `cert_pem` names, if `ca_cert_pem` issued it; None otherwise (another
    CA, no fleet or several, unparseable)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_cert_pem))
    except (ValueError, TypeError, InvalidSignature):
        return None
    fleets = certificate_fleets(cert)
    return fleets[0] if len(fleets) == 1 else None


def renewal_time(pair: Pair, ca_cert_pem: bytes, fleet: str) -> datetime.datetime | None:
    """When `pair` should give way to a new certificate (a third of its validity left), or
    None if it cannot be the fleet's at all (another CA, another fleet, not its key)."""
    cert_pem, key_pem = pair
    if fleet_of(cert_pem, ca_cert_pem) != fleet or not key_matches(cert_pem, key_pem):
        return None
    cert = x509.load_pem_x509_certificate(cert_pem)
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    return end - (end - start) / 3


@dataclass
class FleetIssuer:
    """Signs and keeps the fleets' client certificates (see the module doc)."""

    ca: CertificateAuthority
    days: int = FLEET_CERT_DAYS
    # fleet -> (its certificate, the CA certificate it was checked against, renewal time):
    # a reconcile of an unchanged fleet costs a lookup, not a signature check
    issued: dict[str, tuple[Pair, bytes, datetime.datetime]] = field(default_factory=dict)

    def issue(
        self, fleet: str, stored: Pair | None = None, now: datetime.datetime | None = None
    ) -> Pair:
        now = now or datetime.datetime.now(datetime.UTC)
        kept = self.issued.get(fleet)
        if kept is not None and kept[1] == self.ca.cert_pem and now < kept[2]:
            return kept[0]
        for pair in (kept[0] if kept else None, stored):
            if pair is None:
                continue
            renew = renewal_time(pair, self.ca.cert_pem, fleet)
            if renew is not None and now < renew:
                self.issued[fleet] = (pair, self.ca.cert_pem, renew)
                return pair
        pair = issue_fleet_certificate(self.ca, fleet, self.days)
        renew = renewal_time(pair, self.ca.cert_pem, fleet)
        assert renew is not None
        self.issued[fleet] = (pair, self.ca.cert_pem, renew)
        log.info("issued the xDS client certificate of fleet %s", fleet)
        return pair


def write_fleet_dir(ca_dir: Path, fleet: str, directory: Path, days: int) -> Path:
    """Sign `fleet`'s certificate with the Envoy CA of `ca_dir` (certgen's envoy-ca) into
    `directory` as tls.crt, tls.key and ca.crt (the CA of the ADS server, from `ca_dir`)."""
    cert, key, server_ca = load_tls_dir(ca_dir)
    pair = issue_fleet_certificate(CertificateAuthority(cert, key), fleet, days)
    return write_tls_dir(directory, *pair, server_ca)


class FleetCertificates:
    """The ADS server's check: the peer certificate (gRPC's auth context) names the fleet the
    stream asks for, and the Envoy CA in `ca_file` issued it. The file is reread when it
    changes (a rotated Secret volume) and the last good CA kept when it cannot be read; a
    rotated-out CA is still trusted for `grace` seconds (certs/rotation.py)."""

    def __init__(self, ca_file: Path, grace: float = DEFAULT_GRACE) -> None:
        self.ca_file = ca_file
        self._lock = threading.Lock()
        ca = ca_file.read_bytes()
        x509.load_pem_x509_certificate(ca)  # refuse to start on a broken CA
        self.trust = RotatingTrust(ca, grace=grace, what=f"Envoy CA {ca_file}")

    def _trusted_cas(self) -> list[bytes]:
        with self._lock:
            try:
                data = self.ca_file.read_bytes()
                if data != self.trust.current:
                    x509.load_pem_x509_certificate(data)
                    self.trust.rotate(data)
            except (OSError, ValueError) as err:
                log.warning("Envoy CA %s unusable, keeping the previous one: %s", self.ca_file, err)
            return self.trust.trusted()

    def permits(self, fleet: str, auth_context: dict[str, list[bytes]]) -> bool:
        peer = auth_context.get("x509_pem_cert") or []
        named = None
        if len(peer) == 1:
            named = next(filter(None, (fleet_of(peer[0], ca) for ca in self._trusted_cas())), None)
        if named != fleet:
            shown = repr(named) if named is not None else "none (or not our Envoy CA's)"
            log.warning("xDS client certificate of fleet %s asks for fleet %r", shown, fleet)
        return named == fleet and bool(fleet)
