"""The xDS certificate set and where it lives: directories of files, or Kubernetes Secrets.

`generate_xds_certificates` makes what mutual TLS between the controller and its Envoys
needs: one CA, the controller's serving certificate and the Envoys' client certificate, and
the Envoy client CA (`ENVOY_CA_SECRET`, `envoy-ca/`) with which the controller signs each
fleet's own client certificate (certs/fleet.py). Each side gets a directory (or a
kubernetes.io/tls Secret, which mounts as the same files): `tls.crt`, `tls.key` and
`ca.crt`, the CA that signed the peer (for the Envoy CA: its own certificate and key, and as
`ca.crt` the CA Envoys verify the controller with). The first CA's private key is not kept:
rotating means generating a new set (as `gateway-contour certgen` does).
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway_contour.certs.authority import CertificateAuthority, generate_ca, issue
from gateway_contour.defaults import CA_FILE, CERT_FILE, KEY_FILE

CONTROLLER_NAME = "gateway-contour"
ENVOY_NAME = "envoy"
# the Secrets `xds_secrets` makes: the controller mounts the first, Envoys the second
CONTROLLER_SECRET = "gateway-contour-xds-server"
ENVOY_SECRET = "gateway-contour-xds-client"
# the Envoy client CA, key included: only the controller mounts it (`serve --envoy-ca-dir`)
ENVOY_CA_SECRET = "gateway-contour-envoy-ca"
ENVOY_CA_DIR = "envoy-ca"


@dataclass(frozen=True, slots=True)
class XdsCertificates:
    """A CA and the two certificates it signed, all PEM."""

    ca: CertificateAuthority
    controller: tuple[bytes, bytes]  # (cert, key): the ADS server's serving certificate
    envoy: tuple[bytes, bytes]  # (cert, key): the Envoys' client certificate
    envoy_ca: CertificateAuthority  # signs the per-fleet client certificates


def generate_xds_certificates(
    controller_names: Iterable[str] = (),
    envoy_name: str = ENVOY_NAME,
    days: int = 365,
) -> XdsCertificates:
    """A fresh CA plus the controller certificate (CN "gateway-contour", plus
    `controller_names` as SANs: the Service DNS names Envoys dial) and the Envoy one."""
    ca = generate_ca()
    return XdsCertificates(
        ca=ca,
        controller=issue(ca, CONTROLLER_NAME, controller_names, days, usage="server"),
        envoy=issue(ca, envoy_name, (), days, usage="client"),
        envoy_ca=generate_ca(ENVOY_CA_SECRET),
    )


def write_xds_dirs(certs: XdsCertificates, directory: Path) -> tuple[Path, Path]:
    """`directory`/controller and `directory`/envoy, each a tls.crt/tls.key/ca.crt set."""
    ca = certs.ca.cert_pem
    return (
        write_tls_dir(directory / "controller", *certs.controller, ca),
        write_tls_dir(directory / "envoy", *certs.envoy, ca),
    )


def xds_secrets(certs: XdsCertificates, namespace: str) -> list[dict[str, Any]]:
    """The controller's and the Envoys' Secrets (CONTROLLER_SECRET, ENVOY_SECRET)."""
    ca = certs.ca.cert_pem
    return [
        as_secret(CONTROLLER_SECRET, namespace, *certs.controller, ca),
        as_secret(ENVOY_SECRET, namespace, *certs.envoy, ca),
    ]


def write_envoy_ca_dir(certs: XdsCertificates, directory: Path) -> Path:
    """`directory`/envoy-ca: the Envoy CA's tls.crt and tls.key, and the server's CA."""
    ca = certs.envoy_ca
    return write_tls_dir(directory / ENVOY_CA_DIR, ca.cert_pem, ca.key_pem, certs.ca.cert_pem)


def envoy_ca_secret(certs: XdsCertificates, namespace: str) -> dict[str, Any]:
    """The Secret ENVOY_CA_SECRET: what `write_envoy_ca_dir` writes."""
    ca = certs.envoy_ca
    return as_secret(ENVOY_CA_SECRET, namespace, ca.cert_pem, ca.key_pem, certs.ca.cert_pem)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tls_dir(directory: Path, cert_pem: bytes, key_pem: bytes, ca_pem: bytes) -> Path:
    """Write tls.crt, tls.key (mode 0600) and ca.crt into `directory` (created), each file
    replaced atomically. The key goes last, then the certificate: a reader that checks the
    pair matches (the xDS server does) never takes a half-rotated set."""
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomic(directory / CA_FILE, ca_pem, 0o644)
    _write_atomic(directory / KEY_FILE, key_pem, 0o600)
    _write_atomic(directory / CERT_FILE, cert_pem, 0o644)
    return directory


def load_tls_dir(directory: Path) -> tuple[bytes, bytes, bytes]:
    """(cert, key, CA) PEM from a directory that `write_tls_dir` or a Secret volume made."""
    return (
        (directory / CERT_FILE).read_bytes(),
        (directory / KEY_FILE).read_bytes(),
        (directory / CA_FILE).read_bytes(),
    )


def as_secret(
    name: str,
    namespace: str,
    cert_pem: bytes,
    key_pem: bytes,
    ca_pem: bytes | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A v1 Secret of type kubernetes.io/tls (with `ca.crt` when given), ready to apply."""
    data = {CERT_FILE: cert_pem, KEY_FILE: key_pem}
    if ca_pem is not None:
        data[CA_FILE] = ca_pem
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "kubernetes.io/tls",
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }
