"""Issue 22: per-fleet client certificates (certs/fleet.py) and where the provisioner gets them
(provisioner/kube/credentials.py `FleetCertificateCredentials`).

A fleet's certificate is clientAuth only, P-256, 30 days, and names exactly its fleet; it is
kept while more than a third of its validity is left (so reconciles do not churn the Secret)
and replaced when the CA, the fleet or the key do not fit. The ADS server's check admits a
certificate only for the fleet it names and only when the Envoy CA issued it. The implicit
Ingress/HTTPProxy fleet's certificate names what its Envoys send as node.cluster. `serve`
refuses `--envoy-ca-dir` where it could not be enforced (plaintext xDS, host mode), and
`certgen --fleet` signs one fleet's certificate for Envoys the controller does not deploy."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway_contour import certs
from gateway_contour.certs.authority import key_matches
from gateway_contour.certs.fleet import (
    FleetCertificates,
    FleetIssuer,
    fleet_of,
    issue_fleet_certificate,
)
from gateway_contour.cli import main as cli
from gateway_contour.ir.model import IR, Gateway, Listener, Protocol
from gateway_contour.provisioner.kube.credentials import FleetCertificateCredentials
from gateway_contour.provisioner.kube.implicit import ImplicitFleet, ImplicitFleetConfig
from gateway_contour.provisioner.kube.objects import ControllerEndpoint, FleetSpec, fleet_objects
from gateway_contour.store.objects import Snapshot

A, B = "team-a/gw-a", "team-b/gw-b"
DAY = datetime.timedelta(days=1)


def load(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def test_a_fleet_certificate_is_a_client_certificate_naming_only_its_fleet() -> None:
    bundle = certs.generate_xds_certificates()
    cert_pem, key_pem = issue_fleet_certificate(bundle.envoy_ca, A)
    cert = load(cert_pem)
    cert.verify_directly_issued_by(load(bundle.envoy_ca.cert_pem))
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [n.value for n in san] == ["spiffe://gateway-contour/fleet/team-a/gw-a"]
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 30 * DAY <= lifetime <= 30 * DAY + datetime.timedelta(hours=1)
    assert key_matches(cert_pem, key_pem)

    assert fleet_of(cert_pem, bundle.envoy_ca.cert_pem) == A
    # another CA's word is not taken, even for a certificate naming A
    other = certs.generate_xds_certificates()
    assert fleet_of(issue_fleet_certificate(other.envoy_ca, A)[0], bundle.envoy_ca.cert_pem) is None
    # certgen's shared client certificate names no fleet; the server CA is not the Envoy CA
    assert fleet_of(bundle.envoy[0], bundle.ca.cert_pem) is None
    assert fleet_of(bundle.envoy[0], bundle.envoy_ca.cert_pem) is None
    assert fleet_of(b"not a certificate", bundle.envoy_ca.cert_pem) is None


def test_the_issuer_keeps_a_certificate_until_a_third_of_it_is_left() -> None:
    ca = certs.generate_xds_certificates().envoy_ca
    issuer = FleetIssuer(ca)
    now = datetime.datetime.now(datetime.UTC)
    first = issuer.issue(A, now=now)
    assert issuer.issue(A, now=now + DAY) == first
    assert issuer.issue(A, now=now + 19 * DAY) == first  # 11 of 30 days left
    assert issuer.issue(B, now=now) != first  # each fleet its own
    renewed = issuer.issue(A, now=now + 21 * DAY)  # 9 left: a new one
    assert renewed != first and fleet_of(renewed[0], ca.cert_pem) == A

    # a restarted controller takes what the fleet's Secret holds, if it fits
    fresh = FleetIssuer(ca)
    assert fresh.issue(A, stored=renewed) == renewed
    assert FleetIssuer(ca).issue(B, stored=renewed) != renewed  # another fleet's
    assert FleetIssuer(ca).issue(A, stored=(renewed[0], first[1])) != renewed  # not its key
    rotated = certs.generate_xds_certificates().envoy_ca
    fresh.ca = rotated  # a new CA: every fleet gets a certificate of the new one
    assert fleet_of(fresh.issue(A, now=now)[0], rotated.cert_pem) == A


def test_the_server_check_admits_a_certificate_only_for_its_fleet(tmp_path: Path) -> None:
    bundle = certs.generate_xds_certificates()
    ca_dir = certs.write_envoy_ca_dir(bundle, tmp_path)
    check = FleetCertificates(ca_dir / certs.CERT_FILE, grace=0)  # the grace: below
    cert_a = issue_fleet_certificate(bundle.envoy_ca, A)[0]

    def peer(pem: bytes) -> dict[str, list[bytes]]:
        return {"transport_security_type": [b"ssl"], "x509_pem_cert": [pem]}

    assert check.permits(A, peer(cert_a))
    assert not check.permits(B, peer(cert_a))
    assert not check.permits("", peer(cert_a))
    assert not check.permits(A, peer(bundle.envoy[0]))  # the shared certgen certificate
    assert not check.permits(A, peer(bundle.controller[0]))
    assert not check.permits(A, {})  # plaintext: no peer certificate
    stranger = certs.generate_xds_certificates().envoy_ca
    assert not check.permits(A, peer(issue_fleet_certificate(stranger, A)[0]))

    # the CA file rotates under the server: with no grace period the old CA's certificates
    # stop opening streams at once
    (ca_dir / certs.CERT_FILE).write_bytes(stranger.cert_pem)
    assert not check.permits(A, peer(cert_a))
    assert check.permits(A, peer(issue_fleet_certificate(stranger, A)[0]))
    (ca_dir / certs.CERT_FILE).write_bytes(b"half written")  # kept: the last good CA
    assert check.permits(A, peer(issue_fleet_certificate(stranger, A)[0]))


def test_the_server_check_admits_the_previous_ca_during_the_grace(tmp_path: Path) -> None:
    bundle = certs.generate_xds_certificates()
    ca_file = certs.write_envoy_ca_dir(bundle, tmp_path) / certs.CERT_FILE
    check = FleetCertificates(ca_file, grace=3600)
    old = {"x509_pem_cert": [issue_fleet_certificate(bundle.envoy_ca, A)[0]]}
    rotated = certs.generate_xds_certificates().envoy_ca
    ca_file.write_bytes(rotated.cert_pem)
    assert check.permits(A, old)  # still trusted: within the grace period
    assert not check.permits(B, old)  # and still only for its own fleet
    assert check.permits(A, {"x509_pem_cert": [issue_fleet_certificate(rotated, A)[0]]})
    assert check.trust.in_grace


def spec(fleet: str) -> FleetSpec:
    namespace, _, name = fleet.partition("/")
    return FleetSpec(namespace=namespace, name=name, uid="u", ports=((8080, "TCP"),))


def test_each_fleets_secret_carries_its_own_certificate_and_stays_put(tmp_path: Path) -> None:
    bundle = certs.generate_xds_certificates()
    credentials = FleetCertificateCredentials(certs.write_envoy_ca_dir(bundle, tmp_path))
    controller = ControllerEndpoint()
    secrets = {}
    for fleet in (A, B):
        rendered = fleet_objects(spec(fleet), controller, credentials.secret(fleet, None))
        (secret,) = [o for o in rendered if o["kind"] == "Secret"]
        assert secret["metadata"]["namespace"] == fleet.partition("/")[0]
        data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
        assert fleet_of(data["tls.crt"], bundle.envoy_ca.cert_pem) == fleet
        assert key_matches(data["tls.crt"], data["tls.key"])
        assert data["ca.crt"] == bundle.ca.cert_pem  # what the Envoy verifies the server by
        assert data["tls.crt"] != bundle.envoy[0]  # never the shared certificate
        secrets[fleet] = secret
        # the next reconcile renders the same objects: no re-issue, no apply
        assert fleet_objects(spec(fleet), controller, credentials.secret(fleet, None)) == rendered
    assert secrets[A]["data"]["tls.key"] != secrets[B]["data"]["tls.key"]

    # a controller restarted (or a new leader) keeps what the Secrets hold
    again = FleetCertificateCredentials(tmp_path / "envoy-ca")
    assert again.secret(A, secrets[A])["data"] == secrets[A]["data"]
    assert again.secret(B, secrets[A])["data"] != secrets[A]["data"]  # not B's to take
    assert again.secret(B, {"data": {"tls.crt": "%%%"}})["data"]["tls.crt"]  # junk: issued


class RecordingApplier:
    """Applies nothing: keeps what it was given, answers it as stored."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(obj)
        return obj

    async def list_labeled(self, api_version: str, kind: str, selector: str) -> list[Any]:
        return []

    async def delete(self, *identity: str) -> bool:
        return False


async def test_the_ingress_fleet_gets_the_certificate_of_the_fleet_its_envoys_name(
    tmp_path: Path,
) -> None:
    bundle = certs.generate_xds_certificates()
    credentials = FleetCertificateCredentials(certs.write_envoy_ca_dir(bundle, tmp_path))
    applier = RecordingApplier()
    config = ImplicitFleetConfig(fleet="projectcontour/contour")
    implicit = ImplicitFleet(applier, ControllerEndpoint(), config)  # type: ignore[arg-type]
    listener = Listener(name="ingress_http", address="0.0.0.0", port=8080, protocol=Protocol.HTTP)
    ir = IR(gateways=(Gateway("projectcontour/contour", (listener,)),))
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "projectcontour"}}
    assert await implicit.reconcile(Snapshot.of([namespace]), ir, credentials)
    by_kind = {obj["kind"]: obj for obj in applier.applied}
    init_args = by_kind["DaemonSet"]["spec"]["template"]["spec"]["initContainers"][0]["args"]
    node_cluster = init_args[init_args.index("--fleet") + 1]
    cert = base64.b64decode(by_kind["Secret"]["data"]["tls.crt"])
    assert fleet_of(cert, bundle.envoy_ca.cert_pem) == node_cluster == "projectcontour/contour"


def test_serve_refuses_per_fleet_certificates_it_cannot_enforce(tmp_path: Path) -> None:
    ca_dir = certs.write_envoy_ca_dir(certs.generate_xds_certificates(), tmp_path)
    plaintext = ["serve", "--insecure-xds", "--envoy-ca-dir", str(ca_dir)]
    assert cli(plaintext) == 2  # no client certificates to check
    argv = ["serve", "--envoy-ca-dir", str(ca_dir), "--xds-cert-dir", str(tmp_path)]
    assert cli([*argv, "--provision", "host"]) == 2  # host Envoys carry tokens, not these


def test_certgen_signs_a_fleets_certificate_for_envoys_deployed_by_others(tmp_path: Path) -> None:
    assert cli(["certgen", "--output-dir", str(tmp_path / "certs")]) == 0
    ca_dir, out = tmp_path / "certs/envoy-ca", tmp_path / "web"
    argv = ["certgen", "--envoy-ca-dir", str(ca_dir), "--output-dir", str(out)]
    assert cli([*argv, "--fleet", "default/web"]) == 0
    cert, key, ca = certs.load_tls_dir(out)
    assert fleet_of(cert, (ca_dir / "tls.crt").read_bytes()) == "default/web"
    assert key_matches(cert, key) and ca == (tmp_path / "certs/envoy/ca.crt").read_bytes()
    for bad in ("web", "default/", "a/b/c"):
        assert cli([*argv, "--fleet", bad]) == 2
    assert cli(["certgen", "--fleet", "default/web", "--output-dir", str(out)]) == 2  # no CA
    missing = ["--envoy-ca-dir", str(tmp_path / "none"), "--output-dir", str(out)]
    assert cli(["certgen", "--fleet", "default/web", *missing]) == 2


def test_a_half_rotated_envoy_ca_is_not_signed_with(tmp_path: Path) -> None:
    bundle = certs.generate_xds_certificates()
    ca_dir = certs.write_envoy_ca_dir(bundle, tmp_path)
    credentials = FleetCertificateCredentials(ca_dir)
    issued = credentials.secret(A, None)
    # the new CA's key is written, its certificate not yet (write_tls_dir's order)
    (ca_dir / "tls.key").write_bytes(certs.generate_ca().key_pem)
    assert credentials.secret(A, None) == issued
    assert credentials.secret(B, None)["data"]["ca.crt"] == issued["data"]["ca.crt"]
    data = credentials.secret(B, None)["data"]
    assert fleet_of(base64.b64decode(data["tls.crt"]), bundle.envoy_ca.cert_pem) == B
