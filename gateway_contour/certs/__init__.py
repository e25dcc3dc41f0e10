"""Certificates for secure xDS: a CA, the controller's and Envoys' certificates.

The API, small on purpose (PEM bytes in and out):

    ca = generate_ca()                                   # CertificateAuthority
    cert_pem, key_pem = issue(ca, "gateway-contour", ["gateway-contour.ns.svc"])
    secret = as_secret("envoycert", "ns", cert_pem, key_pem, ca.cert_pem)  # a v1 Secret dict
    write_tls_dir(Path("certs/envoy"), cert_pem, key_pem, ca.cert_pem)  # tls.crt, tls.key, ca.crt
    certs = generate_xds_certificates(["gateway-contour.ns.svc"])  # CA + controller + Envoy
    secrets = xds_secrets(certs, "ns")   # CONTROLLER_SECRET and ENVOY_SECRET, as dicts
    write_xds_dirs(certs, Path("certs"))  # certs/controller/ and certs/envoy/
    write_envoy_ca_dir(certs, Path("certs"))  # certs/envoy-ca/ (signs per-fleet certificates)
    secret = envoy_ca_secret(certs, "ns")  # ENVOY_CA_SECRET
    cert_pem, key_pem = self_signed("www.example.com")   # tests and throwaway servers

A directory of `tls.crt`, `tls.key`, `ca.crt` is exactly what a mounted kubernetes.io/tls
Secret looks like, so the controller and the Envoy bootstrap read the same layout from a
Secret volume or from `gateway-contour certgen --output-dir`.
"""

from gateway_contour.certs.authority import (
    CertificateAuthority,
    generate_ca,
    issue,
    self_signed,
)
from gateway_contour.certs.bundle import (
    CA_FILE,
    CERT_FILE,
    CONTROLLER_SECRET,
    ENVOY_CA_SECRET,
    ENVOY_SECRET,
    KEY_FILE,
    XdsCertificates,
    as_secret,
    envoy_ca_secret,
    generate_xds_certificates,
    load_tls_dir,
    write_envoy_ca_dir,
    write_tls_dir,
    write_xds_dirs,
    xds_secrets,
)

__all__ = [
    "CA_FILE",
    "CERT_FILE",
    "CONTROLLER_SECRET",
    "ENVOY_CA_SECRET",
    "ENVOY_SECRET",
    "KEY_FILE",
    "CertificateAuthority",
    "XdsCertificates",
    "as_secret",
    "envoy_ca_secret",
    "generate_ca",
    "generate_xds_certificates",
    "issue",
    "load_tls_dir",
    "self_signed",
    "write_envoy_ca_dir",
    "write_tls_dir",
    "write_xds_dirs",
    "xds_secrets",
]
