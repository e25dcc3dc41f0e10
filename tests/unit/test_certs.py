"""certs/: the CA, issued and self-signed certificates, files and Secrets; the xDS server's
certificate reloading; the TLS bootstrap (checked by Envoy's own validate mode); certgen."""

from __future__ import annotations

import base64
import ipaddress
import json
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway_contour import certs
from gateway_contour.certs.authority import key_matches
from gateway_contour.cli import main as cli
from gateway_contour.envoy.binary import envoy_binary
from gateway_contour.envoy.bootstrap import (
    XDS_CLUSTER,
    BootstrapOptions,
    XdsClientTLS,
    ads_bootstrap,
    write_bootstrap,
)
from gateway_contour.xds.tls import CertificateFiles, ServerTLS


def load(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def sans(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in ext]


def test_issued_certificate_chains_to_its_ca_and_serves_both_ends() -> None:
    ca = certs.generate_ca()
    cert_pem, key_pem = certs.issue(ca, "gateway-contour", ["xds.ns.svc", "127.0.0.1"])
    cert, ca_cert = load(cert_pem), load(ca.cert_pem)
    cert.verify_directly_issued_by(ca_cert)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert sans(cert) == ["gateway-contour", "xds.ns.svc", "127.0.0.1"]
    ip_sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ip_sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert key_matches(cert_pem, key_pem)
    assert not key_matches(cert_pem, certs.issue(ca, "other")[1])
    assert not key_matches(cert_pem, b"not a key")
    # another CA did not sign it
    with pytest.raises(Exception):  # noqa: B017 - cryptography raises InvalidSignature
        cert.verify_directly_issued_by(load(certs.generate_ca().cert_pem))


def test_self_signed_is_its_own_trust_anchor() -> None:
    cert_pem, key_pem = certs.self_signed("www.example.com", ["10.0.0.7"])
    cert = load(cert_pem)
    cert.verify_directly_issued_by(cert)
    assert sans(cert) == ["www.example.com", "10.0.0.7"]
    assert key_matches(cert_pem, key_pem)
    assert certs.self_signed("www.example.com")[0] != cert_pem  # fresh each call


def test_secret_and_directory_forms_round_trip(tmp_path: Path) -> None:
    bundle = certs.generate_xds_certificates(["gateway-contour.projectcontour.svc"])
    server, client = certs.xds_secrets(bundle, "infra")
    assert server["metadata"] == {"name": certs.CONTROLLER_SECRET, "namespace": "infra"}
    assert client["metadata"]["name"] == certs.ENVOY_SECRET
    assert server["type"] == "kubernetes.io/tls"
    decoded = {k: base64.b64decode(v) for k, v in client["data"].items()}
    assert decoded == {
        "tls.crt": bundle.envoy[0],
        "tls.key": bundle.envoy[1],
        "ca.crt": bundle.ca.cert_pem,
    }
    assert "ca.crt" not in certs.as_secret("x", "y", *bundle.envoy)["data"]
    assert certs.as_secret("x", "y", *bundle.envoy, labels={"a": "b"})["metadata"]["labels"] == {
        "a": "b"
    }
    assert "gateway-contour.projectcontour.svc" in sans(load(bundle.controller[0]))
    load(bundle.envoy[0]).verify_directly_issued_by(load(bundle.ca.cert_pem))

    controller_dir, envoy_dir = certs.write_xds_dirs(bundle, tmp_path)
    assert certs.load_tls_dir(envoy_dir) == (*bundle.envoy, bundle.ca.cert_pem)
    assert certs.load_tls_dir(controller_dir) == (*bundle.controller, bundle.ca.cert_pem)
    assert stat.S_IMODE((envoy_dir / "tls.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((envoy_dir / "tls.crt").stat().st_mode) == 0o644
    assert sorted(p.name for p in envoy_dir.iterdir()) == ["ca.crt", "tls.crt", "tls.key"]


def test_server_certificate_files_reload_only_complete_changes(tmp_path: Path) -> None:
    first, second = certs.generate_xds_certificates(), certs.generate_xds_certificates()
    directory = certs.write_tls_dir(tmp_path / "tls", *first.controller, first.ca.cert_pem)
    files = CertificateFiles(ServerTLS.from_dir(directory))
    assert files.fetch() is None  # nothing changed
    # half a rotation: the new key beside the old certificate is not taken
    (directory / "tls.key").write_bytes(second.controller[1])
    assert files.fetch() is None and files.reloads == 0
    (directory / "tls.crt").write_bytes(second.controller[0])
    assert files.fetch() is not None and files.reloads == 1
    assert files.fetch() is None
    (directory / "ca.crt").unlink()  # unreadable: keep serving what we have
    assert files.fetch() is None and files.reloads == 1
    # the CA override
    tls = ServerTLS.from_dir(
        directory, ca_file=tmp_path / "other-ca.crt", require_client_cert=False
    )
    assert tls.ca_file == tmp_path / "other-ca.crt" and not tls.require_client_cert


def test_certificate_files_refuse_a_broken_set_at_start(tmp_path: Path) -> None:
    bundle = certs.generate_xds_certificates()
    directory = certs.write_tls_dir(
        tmp_path, bundle.controller[0], bundle.envoy[1], bundle.ca.cert_pem
    )
    with pytest.raises(ValueError, match="key does not match"):
        CertificateFiles(ServerTLS.from_dir(directory))


def test_tls_bootstrap_names_files_through_sds_and_envoy_accepts_it(tmp_path: Path) -> None:
    bundle = certs.generate_xds_certificates()
    envoy_dir = certs.write_xds_dirs(bundle, tmp_path / "certs")[1]
    opts = BootstrapOptions(
        node_id="n", fleet="default/web", tls=XdsClientTLS(envoy_dir, "xds.test")
    )
    path = write_bootstrap(opts, tmp_path / "out" / "bootstrap.json")
    document = json.loads(path.read_text())
    (cluster,) = document["static_resources"]["clusters"]
    assert cluster["name"] == XDS_CLUSTER
    context = cluster["transport_socket"]["typed_config"]
    assert context["sni"] == "xds.test"
    sds = context["common_tls_context"]["tls_certificate_sds_secret_configs"][0]
    sds_file = Path(sds["sds_config"]["path_config_source"]["path"])
    secret = json.loads(sds_file.read_text())["resources"][0]
    assert secret["tls_certificate"]["private_key"] == {
        "filename": str(envoy_dir.absolute() / "tls.key")
    }
    assert secret["tls_certificate"]["watched_directory"] == {"path": str(envoy_dir.absolute())}
    trusted_file = tmp_path / "out" / "xds-trusted-ca.json"
    validation = json.loads(trusted_file.read_text())["resources"][0]["validation_context"]
    assert validation["match_typed_subject_alt_names"][0]["matcher"] == {"exact": "xds.test"}
    # no key material in the bootstrap itself
    assert bundle.envoy[1].decode() not in path.read_text()
    with pytest.raises(ValueError):
        ads_bootstrap(opts)  # TLS without the directory of its SDS documents
    assert (
        "transport_socket"
        not in ads_bootstrap(BootstrapOptions("n", "f"))["static_resources"]["clusters"][0]
    )
    checked = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(path), "--log-level", "error"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_certgen_writes_directories_and_secrets(tmp_path: Path) -> None:
    assert cli(["certgen"]) == 2  # neither output asked for
    out, secrets = tmp_path / "certs", tmp_path / "secrets.yaml"
    argv = ["certgen", "--output-dir", str(out), "--secrets", str(secrets)]
    assert cli([*argv, "--namespace", "infra", "--dns-name", "xds.infra.svc"]) == 0
    assert sorted(p.name for p in (out / "controller").iterdir()) == [
        "ca.crt",
        "tls.crt",
        "tls.key",
    ]
    documents = list(yaml.safe_load_all(secrets.read_text()))
    assert [d["metadata"]["name"] for d in documents] == [
        certs.CONTROLLER_SECRET,
        certs.ENVOY_SECRET,
        certs.ENVOY_CA_SECRET,
    ]
    assert {d["metadata"]["namespace"] for d in documents} == {"infra"}
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    server_cert = load(base64.b64decode(documents[0]["data"]["tls.crt"]))
    assert "xds.infra.svc" in sans(server_cert)
    # one set, in both forms: the Secrets hold what the directories hold
    assert base64.b64decode(documents[1]["data"]["tls.key"]) == (out / "envoy/tls.key").read_bytes()
    client = load((out / "envoy" / "tls.crt").read_bytes())
    client.verify_directly_issued_by(load((out / "controller" / "ca.crt").read_bytes()))
    # the Envoy client CA (signs the per-fleet certificates): its own CA, not the server's
    envoy_ca = load((out / "envoy-ca" / "tls.crt").read_bytes())
    envoy_ca.verify_directly_issued_by(envoy_ca)
    assert envoy_ca.subject != load((out / "controller" / "ca.crt").read_bytes()).subject
    assert (out / "envoy-ca" / "ca.crt").read_bytes() == (out / "envoy" / "ca.crt").read_bytes()
    assert stat.S_IMODE((out / "envoy-ca" / "tls.key").stat().st_mode) == 0o600
    assert (
        base64.b64decode(documents[2]["data"]["tls.key"])
        == (out / "envoy-ca" / "tls.key").read_bytes()
    )
