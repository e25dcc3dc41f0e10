"""Is this certificate chain and private key usable by Envoy? Checked before a Secret is sent.

Envoy rejects the whole Listener or Secret update (a NACK) when a certificate chain or key
does not parse or the key does not belong to the leaf certificate, so translation asks here
first and reports the Secret instead of sending it. The checks: both values are UTF-8 text
(PEM is ASCII, RFC 7468), the chain holds at least one PEM certificate, the key is one
unencrypted PEM private key, and its public key is the leaf's (the first certificate).

Results are cached by a hash of the two values, so a rebuild of 10k routes over unchanged
Secrets parses each pair once per process, not once per rebuild.
"""

from __future__ import annotations

import hashlib
import threading

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
_MAX_RESULTS = 8192  # pairs remembered; past it the oldest is forgotten
_results: dict[bytes, str | None] = {}  # sha256 of (chain, key) -> pair_problem's answer
_lock = threading.Lock()


def pair_problem(cert_chain: bytes, private_key: bytes) -> str | None:
    """Why Envoy would refuse this certificate chain and key, or None when it is usable."""
    digest = hashlib.sha256()
    for value in (cert_chain, private_key):
        digest.update(len(value).to_bytes(8, "big"))
        digest.update(value)
    return _checked(digest.digest(), cert_chain, private_key)


def _checked(digest: bytes, cert_chain: bytes, private_key: bytes) -> str | None:
    with _lock:
        if digest in _results:
            return _results[digest]
    result = parse_problem(cert_chain, private_key)
    with _lock:
        if len(_results) >= _MAX_RESULTS:
            _results.pop(next(iter(_results)))  # the oldest entry
        _results[digest] = result
    return result


def parse_problem(cert_chain: bytes, private_key: bytes) -> str | None:
    """`pair_problem` without the cache."""
    for field, value in (("tls.crt", cert_chain), ("tls.key", private_key)):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return f"{field} is not UTF-8 text (a PEM value is ASCII)"
    try:
        chain = x509.load_pem_x509_certificates(cert_chain)
    except ValueError:
        return "tls.crt is not a PEM certificate chain"
    try:
        key = serialization.load_pem_private_key(private_key, password=None)
    except TypeError:
        return "tls.key is encrypted (a password-protected key cannot be used)"
    except (ValueError, UnsupportedAlgorithm):
        return "tls.key is not a PEM private key"
    if key.public_key().public_bytes(*_SPKI) != chain[0].public_key().public_bytes(*_SPKI):
        return "tls.key does not match the certificate in tls.crt"
    return None
