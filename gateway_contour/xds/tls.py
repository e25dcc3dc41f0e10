"""TLS for the ADS server: mutual TLS from certificate files that may rotate under it.

`ServerTLS` names three PEM files: the server's certificate and key, and the CA that signs
the Envoys' client certificates (plus `extra_ca_files`: with per-fleet certificates, the
Envoy client CA; the CA files are trusted together). Client certificates are required
unless `require_client_cert` is False. The credentials are gRPC's dynamic ones: before each new
TLS handshake gRPC asks `CertificateFiles.fetch` whether the configuration changed, which
rereads the three files (a few KB; Envoys connect rarely) and compares their contents with
what it serves: contents, not timestamps, so an in-place rewrite within one clock tick is
seen too (a Secret volume swaps a symlink; `certs.write_tls_dir` renames). A set whose key
does not match its certificate (caught mid-rotation) or that cannot be read is skipped,
once, and the previous one keeps serving; open streams are never dropped, new connections
get the new certificates.

A rotated CA does not cut off the Envoys whose certificates the old one signed: it stays
trusted `ca_grace` seconds after the rotation is noticed (certs/rotation.py), then a new
configuration without it is served (gRPC asks before each handshake, so the drop is taken
at the first new connection after the grace period).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import grpc

from gateway_contour.certs import CA_FILE, CERT_FILE, KEY_FILE
from gateway_contour.certs.authority import key_matches
from gateway_contour.certs.rotation import DEFAULT_GRACE, RotatingTrust

log = logging.getLogger("gateway_contour.xds")

Contents = tuple[bytes, bytes, bytes]  # certificate, key, CA


@dataclass(frozen=True, slots=True)
class ServerTLS:
    cert_file: Path
    key_file: Path
    ca_file: Path
    require_client_cert: bool = True
    extra_ca_files: tuple[Path, ...] = ()
    ca_grace: float = DEFAULT_GRACE  # seconds a rotated-out CA is still trusted

    @classmethod
    def from_dir(
        cls,
        directory: Path,
        ca_file: Path | None = None,
        require_client_cert: bool = True,
        extra_ca_files: tuple[Path, ...] = (),
        ca_grace: float = DEFAULT_GRACE,
    ) -> ServerTLS:
        """tls.crt / tls.key / ca.crt of `directory` (a mounted Secret or certgen output);
        `ca_file` overrides the CA that client certificates must chain to."""
        return cls(
            directory / CERT_FILE,
            directory / KEY_FILE,
            ca_file if ca_file is not None else directory / CA_FILE,
            require_client_cert,
            extra_ca_files,
            ca_grace,
        )


class CertificateFiles:
    """The current certificate configuration of a ServerTLS, reloaded when files change."""

    def __init__(self, tls: ServerTLS) -> None:
        self.tls = tls
        self.reloads = 0  # configurations taken after the first (a figure for tests, metrics)
        self._lock = threading.Lock()  # gRPC calls `fetch` from its own threads
        contents = self._read()
        if contents is None or not self._usable(contents):
            raise ValueError(
                f"xDS TLS: cannot use {tls.cert_file} / {tls.key_file} / {tls.ca_file}: "
                "unreadable, or the key does not match the certificate"
            )
        self._contents: Contents = contents
        self._rejected: Contents | None = None
        self.trust = RotatingTrust(contents[2], grace=tls.ca_grace, what="xDS client CA")
        self.current = self._configuration(contents)

    def _read(self) -> Contents | None:
        try:
            return (
                self.tls.cert_file.read_bytes(),
                self.tls.key_file.read_bytes(),
                b"\n".join(f.read_bytes() for f in (self.tls.ca_file, *self.tls.extra_ca_files)),
            )
        except OSError as err:
            log.warning("xDS TLS: cannot read the certificate files: %s", err)
            return None

    @staticmethod
    def _usable(contents: Contents) -> bool:
        cert, key, ca = contents
        return key_matches(cert, key) and b"-----BEGIN CERTIFICATE-----" in ca

    def _configuration(self, contents: Contents) -> grpc.ServerCertificateConfiguration:
        """The files' certificate and key, trusting the current CA (and the previous one
        during its grace period)."""
        cert, key, _ = contents
        roots = b"\n".join(self.trust.trusted())
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=roots)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """gRPC's fetcher: a new configuration when the files changed or the previous CA's
        grace period ended, else None."""
        with self._lock:
            contents = self._read()
            expired = self.trust.expire()
            if contents is None or contents == self._rejected:
                contents = self._contents if expired else None
            if contents is None or (contents == self._contents and not expired):
                return None
            if contents == self._contents:  # the same files, without the previous CA
                self.current = self._configuration(contents)
                return self.current
            if not self._usable(contents):
                self._rejected = contents  # said once; looked at again when they change
                log.warning(
                    "xDS TLS: %s: the key does not match the certificate, or no CA "
                    "certificate (a rotation half done?); keeping the previous ones",
                    self.tls.cert_file.parent,
                )
                return None
            self.trust.rotate(contents[2])
            self._contents = contents
            self.current = loaded = self._configuration(contents)
            self.reloads += 1
            log.info("xDS TLS: certificates reloaded from %s", self.tls.cert_file.parent)
            return loaded

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.dynamic_ssl_server_credentials(
            self.current,
            self.fetch,
            require_client_authentication=self.tls.require_client_cert,
        )
