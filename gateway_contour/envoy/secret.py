"""IR Secret -> Envoy SDS Secrets.

One IR Secret can give two SDS resources (see `names`): a `tls_certificate` (chain + key)
under its own name when it is used as a certificate, and a `validation_context` (trusted CA)
under "<name>/ca" when it is used as a CA. Material is inline bytes; nothing is read from disk.
"""

from __future__ import annotations

from envoy.config.core.v3 import base_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, secret_pb2

from gateway_contour.envoy import names
from gateway_contour.ir.model import Secret


def certificate_secret(s: Secret) -> secret_pb2.Secret:
    return secret_pb2.Secret(
        name=names.cert_secret(s.name),
        tls_certificate=common_pb2.TlsCertificate(
            certificate_chain=base_pb2.DataSource(inline_bytes=s.cert_chain),
            private_key=base_pb2.DataSource(inline_bytes=s.private_key),
        ),
    )


def ca_secret(s: Secret) -> secret_pb2.Secret:
    return secret_pb2.Secret(
        name=names.ca_secret(s.name),
        validation_context=common_pb2.CertificateValidationContext(
            trusted_ca=base_pb2.DataSource(inline_bytes=s.ca)
        ),
    )
