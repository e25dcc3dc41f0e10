"""Issuing certificates with `cryptography`: a CA, certificates it signs, self-signed ones.

Keys are ECDSA P-256 (fast to make, accepted by Envoy, gRPC and Python's ssl). Every issued
certificate carries both serverAuth and clientAuth: the same CA signs the controller's
server certificate and the Envoys' client certificates of mutual TLS. Names that parse as IP
addresses become IP SANs, the others DNS SANs. Validity starts an hour back (clock skew).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway_contour.certs.pair import parse_problem

CA_DAYS = 3650
LEAF_DAYS = 365
_SKEW = datetime.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA as PEM: its certificate (what peers trust) and its private key (to sign)."""

    cert_pem: bytes
    key_pem: bytes


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(names: Iterable[str]) -> x509.SubjectAlternativeName:
    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(out)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, days: int
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _SKEW)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def generate_ca(
    common_name: str = "gateway-contour-ca", days: int = CA_DAYS
) -> CertificateAuthority:
    """A fresh self-signed CA that may sign leaf certificates only (path length 0)."""
    key = _new_key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


USAGES = {
    "server": [ExtendedKeyUsageOID.SERVER_AUTH],
    "client": [ExtendedKeyUsageOID.CLIENT_AUTH],
    "both": [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
}


def issue(
    ca: CertificateAuthority,
    common_name: str,
    dns_names: Iterable[str] = (),
    days: int = LEAF_DAYS,
    usage: str = "both",
) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) signed by `ca`, for `usage`: "server", "client"
    or "both" (its extended key usage; a TLS peer refuses a certificate presented for
    another role, so the controller's serving certificate cannot open an xDS stream).

    The SANs are `common_name` followed by `dns_names` (IP addresses allowed)."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an ECDSA key (as generate_ca makes)")
    key = _new_key()
    names = list(dict.fromkeys([common_name, *dns_names]))
    authority_key = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    cert = (
        _builder(_name(common_name), ca_cert.subject, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(authority_key, critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(USAGES[usage]),
            critical=False,
        )
        .add_extension(_san(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def self_signed(
    common_name: str, dns_names: Iterable[str] = (), days: int = 1
) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) of a fresh self-signed certificate.

    It is its own CA (a client can trust exactly this certificate) and names `common_name`
    and `dns_names` (IP addresses allowed) as SANs. For tests and throwaway servers."""
    key = _new_key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_san(dict.fromkeys([common_name, *dns_names])), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def key_matches(cert_pem: bytes, key_pem: bytes) -> bool:
    """Whether `key_pem` is the private key of the (first) certificate in `cert_pem`; False
    for anything unparseable (a file caught half-written during a rotation)."""
    return parse_problem(cert_pem, key_pem) is None
