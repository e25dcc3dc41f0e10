"""A real control plane on loopback: etcd + kube-apiserver (+ kube-controller-manager).

Used by the tests/k8s fixtures, the Kubernetes benchmarks and the conformance harness. The
binaries come from hack/build-control-plane.sh (built from Go modules, cached under
.cache/control-plane/); `ensure_binaries()` runs the idempotent build and reads what it made.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "hack" / "build-control-plane.sh"
CACHE_DIR = Path(os.environ.get("CONTROL_PLANE_CACHE", REPO / ".cache" / "control-plane"))
OWN_CRDS = REPO / "manifests" / "crds"
THIS_DIR = Path(__file__).resolve().parent

SERVICE_CIDR = "10.0.0.0/24"
ADMIN_TOKEN_USER = "admin"  # in group system:masters: everything allowed
# A user in no group: it can do only what RBAC grants it, like the controller in a real cluster.
CONTROLLER_TOKEN_USER = "gateway-contour"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

# --------------------------------------------------------------------------- binaries


@dataclass(frozen=True)
class ControlPlaneBinaries:
    """What hack/build-control-plane.sh built, read from the paths.env it writes."""

    kube_version: str
    etcd_version: str
    gateway_api_version: str
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    gateway_api_crds: Path
    # the node of tests/node, and kubectl for the install it runs
    kube_scheduler: Path
    kubelet: Path
    kube_proxy: Path
    kubectl: Path


def read_binaries() -> ControlPlaneBinaries:
    """What the last build produced (paths.env)."""
    values = dict(
        line.split("=", 1)
        for line in (CACHE_DIR / "paths.env").read_text().splitlines()
        if "=" in line
    )
    return ControlPlaneBinaries(
        kube_version=values["KUBE_VERSION"],
        etcd_version=values["ETCD_VERSION"],
        gateway_api_version=values["GATEWAY_API_VERSION"],
        etcd=Path(values["ETCD"]),
        kube_apiserver=Path(values["KUBE_APISERVER"]),
        kube_controller_manager=Path(values["KUBE_CONTROLLER_MANAGER"]),
        gateway_api_crds=Path(values["GATEWAY_API_CRDS"]),
        kube_scheduler=Path(values["KUBE_SCHEDULER"]),
        kubelet=Path(values["KUBELET"]),
        kube_proxy=Path(values["KUBE_PROXY"]),
        kubectl=Path(values["KUBECTL"]),
    )


def ensure_binaries() -> ControlPlaneBinaries:
    """Run the (idempotent) build script, progress on stderr, and read what it produced.
    Warm this takes a fraction of a second; cold, several minutes."""
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], cwd=REPO, stdout=sys.stderr, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{BUILD_SCRIPT} failed (exit {result.returncode})")
    return read_binaries()


# --------------------------------------------------------------------------- certificates


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_credentials(directory: Path, extra_ips: Sequence[str] = ()) -> dict[str, str]:
    """Write a CA, the API server's serving certificate (valid also for `extra_ips`), service
    account keys and the static token file into `directory`. Returns the bearer token of each
    user."""
    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gateway-contour-test-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    serving_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName(name)
        for name in (
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        )
    ]
    # 10.0.0.1: the first address of the service range, the in-cluster `kubernetes` Service.
    names += [
        x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "10.0.0.1", *extra_ips)
    ]
    serving_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(serving_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    # Service account tokens are signed with RS256 by default: an RSA key.
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    (directory / "ca.crt").write_bytes(_pem_cert(ca_cert))
    (directory / "ca.key").write_bytes(_pem_key(ca_key))
    (directory / "apiserver.crt").write_bytes(_pem_cert(serving_cert))
    (directory / "apiserver.key").write_bytes(_pem_key(serving_key))
    (directory / "sa.key").write_bytes(_pem_key(sa_key))
    (directory / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    tokens = {
        ADMIN_TOKEN_USER: base64.urlsafe_b64encode(os.urandom(24)).decode(),
        CONTROLLER_TOKEN_USER: base64.urlsafe_b64encode(os.urandom(24)).decode(),
    }
    # --token-auth-file format: token,user,uid,"group1,group2"
    (directory / "tokens.csv").write_text(
        f'{tokens[ADMIN_TOKEN_USER]},{ADMIN_TOKEN_USER},uid-admin,"system:masters"\n'
        f"{tokens[CONTROLLER_TOKEN_USER]},{CONTROLLER_TOKEN_USER},uid-gateway-contour\n"
    )
    return tokens


def issue_client_cert(directory: Path, name: str, common_name: str, groups: Sequence[str]) -> None:
    """A client certificate `name`.crt/.key signed by the CA in `directory` (written by
    write_credentials): the API server maps CN to the user and O to its groups."""
    ca_key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    subject += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / f"{name}.crt").write_bytes(_pem_cert(cert))
    (directory / f"{name}.key").write_bytes(_pem_key(key))


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """A port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A child process in its own process group, logging to a file; stopping it stops the
    whole group."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: killpg reaches any children
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.popen.returncode}; last log lines:\n"
                + self.log_tail()
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


def wait_until(
    what: str, check: Any, processes: Sequence[Process], timeout: float = START_TIMEOUT
) -> None:
    """Poll `check` until it is true; fail at once when one of `processes` (what it needs)
    exits, and with their last log lines after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: object = None
    while time.monotonic() < deadline:
        for process in processes:
            process.check_alive()
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ssl.SSLError) as error:
            last_error = error
        time.sleep(0.1)
    tails = "".join(f"\nlast log lines of {p.name}:\n{p.log_tail()}" for p in processes)
    raise TimeoutError(f"{what} not ready after {timeout} s (last error: {last_error});{tails}")


# --------------------------------------------------------------------------- the cluster


class KubeCluster:
    """etcd + kube-apiserver (+ optionally kube-controller-manager) on 127.0.0.1.

    Attributes tests use: `kubeconfig` (admin), `server`, `token`, `ca_file`, `ca_pem`,
    `controller_kubeconfig` and `controller_token` (a user with no rights beyond RBAC),
    `workdir`, `binaries`. Helpers for fault tests: `restart_apiserver()`, `compact_etcd()`,
    `etcd_revision()`, `start_controller_manager()`.
    """

    def __init__(
        self,
        binaries: ControlPlaneBinaries,
        workdir: Path,
        address: str = "127.0.0.1",
        with_nodes: bool = False,
    ) -> None:
        """`address`: where the API server listens and what it advertises (the `kubernetes`
        Service's endpoint when `with_nodes`). `with_nodes`: set up for real kubelets (see
        tests/support/kube_node.py): the Node authorizer and NodeRestriction, service account
        tokens for Pods, kubelet client credentials, endpoints of the `kubernetes` Service."""
        self.binaries = binaries
        self.workdir = workdir
        self.address = address
        self.with_nodes = with_nodes
        self.etcd_url = f"http://127.0.0.1:{free_port()}"
        self.apiserver_port = free_port()
        self.server = f"https://{address}:{self.apiserver_port}"
        self.certs = workdir / "certs"
        self.certs.mkdir()
        tokens = write_credentials(self.certs, extra_ips=[address])
        if with_nodes:
            # The API server's identity towards kubelets (pods/log, exec, port-forward).
            issue_client_cert(self.certs, "kubelet-client", "kube-apiserver", ["system:masters"])
        self.token = tokens[ADMIN_TOKEN_USER]
        self.controller_token = tokens[CONTROLLER_TOKEN_USER]
        self.ca_file = self.certs / "ca.crt"
        self.ca_pem = self.ca_file.read_text()
        self.kubeconfig = workdir / "kubeconfig"
        self.controller_kubeconfig = workdir / "kubeconfig-controller"
        self.write_kubeconfig(self.kubeconfig, ADMIN_TOKEN_USER, self.token)
        self.write_kubeconfig(
            self.controller_kubeconfig, CONTROLLER_TOKEN_USER, self.controller_token
        )
        self._ssl = ssl.create_default_context(cafile=str(self.ca_file))
        self.etcd: Process | None = None
        self.apiserver: Process | None = None
        # Appended to the API server's flags; restart_apiserver(extra_args=...) changes them.
        self.apiserver_extra_args: list[str] = []
        self.controller_manager: Process | None = None

    # -- kubeconfig and raw HTTP

    def write_kubeconfig(
        self, path: Path, user: str, token: str = "", credentials: dict[str, Any] | None = None
    ) -> None:
        """A kubeconfig for this cluster as `user`, authenticating with `token`, or with
        `credentials` when given (a kubeconfig `user` entry: tokenFile, exec, ...)."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "test",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": base64.b64encode(
                            (self.certs / "ca.crt").read_bytes()
                        ).decode(),
                    },
                }
            ],
            "users": [{"name": user, "user": credentials or {"token": token}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": user}}],
            "current-context": "test",
        }
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)

    def request(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        """One HTTP call to the API server as admin; returns (status, decoded JSON or text)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.server + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def _etcd_call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # etcd's gRPC-JSON gateway on the client port; keys and values are base64.
        req = urllib.request.Request(
            self.etcd_url + path, data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(req, timeout=30) as response:
            return dict(json.loads(response.read()))

    # -- etcd

    def start_etcd(self) -> None:
        self.etcd = Process(
            "etcd",
            [
                str(self.binaries.etcd),
                f"--data-dir={self.workdir / 'etcd'}",
                f"--client-url={self.etcd_url}",
                f"--peer-url=http://127.0.0.1:{free_port()}",
            ],
            self.workdir / "etcd.log",
        )

        def healthy() -> bool:
            with urllib.request.urlopen(self.etcd_url + "/health", timeout=2) as response:
                return bool(json.loads(response.read()).get("health") == "true")

        wait_until("etcd", healthy, [self.etcd])

    def etcd_revision(self) -> int:
        """etcd's current revision (what a resourceVersion counts)."""
        header = self._etcd_call("/v3/kv/range", {"key": base64.b64encode(b"/").decode()})
        return int(header["header"]["revision"])

    def compact_etcd(self, revision: int | None = None) -> int:
        """Compact etcd's history up to `revision` (default: the current one) and return it.

        Watches served by etcd (the API server runs with --watch-cache=false) from an older
        resourceVersion then fail with 410 Gone. The watch cache (on by default) keeps its own
        window of events and ignores etcd's compaction; it forgets on `restart_apiserver()`.
        """
        if revision is None:
            revision = self.etcd_revision()
        self._etcd_call("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    # -- kube-apiserver

    def apiserver_args(self) -> list[str]:
        return [
            str(self.binaries.kube_apiserver),
            f"--etcd-servers={self.etcd_url}",
            f"--bind-address={self.address}",
            f"--advertise-address={self.address}",
            f"--secure-port={self.apiserver_port}",
            f"--tls-cert-file={self.certs / 'apiserver.crt'}",
            f"--tls-private-key-file={self.certs / 'apiserver.key'}",
            # Client certificates signed by our CA are accepted too (CN = user, O = groups).
            f"--client-ca-file={self.ca_file}",
            f"--token-auth-file={self.certs / 'tokens.csv'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={self.certs / 'sa.pub'}",
            f"--service-account-signing-key-file={self.certs / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            *(self._node_args() if self.with_nodes else self._no_node_args()),
            # On SIGTERM, end open watches after 1 s. Without it the server waits for every
            # watch to end by itself (minutes), so each restart_apiserver() under a running
            # controller would end in SIGKILL after STOP_TIMEOUT.
            "--shutdown-watch-termination-grace-period=1s",
            *self.apiserver_extra_args,
        ]

    def _no_node_args(self) -> list[str]:
        return [
            "--authorization-mode=RBAC",
            # No kubelet mounts service account tokens into Pods.
            "--disable-admission-plugins=ServiceAccount",
            # No kubelet or Pods behind the `kubernetes` Service: do not maintain its
            # endpoints (127.0.0.1 would be rejected anyway).
            "--endpoint-reconciler-type=none",
        ]

    def _node_args(self) -> list[str]:
        return [
            # A list flag: repeating it would append. Node: a kubelet may read only what its
            # own Pods need.
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--kubelet-client-certificate={self.certs / 'kubelet-client.crt'}",
            f"--kubelet-client-key={self.certs / 'kubelet-client.key'}",
            # Dial kubelets by the node IP, not by a name nothing resolves.
            "--kubelet-preferred-address-types=InternalIP",
        ]

    def start_apiserver(self) -> None:
        self.apiserver = Process(
            "kube-apiserver", self.apiserver_args(), self.workdir / "kube-apiserver.log"
        )
        wait_until(
            "kube-apiserver /readyz",
            lambda: self.request("GET", "/readyz")[0] == 200,
            [self.apiserver],
        )

    def stop_apiserver(self) -> None:
        if self.apiserver is not None:
            self.apiserver.stop()
            self.apiserver = None

    def restart_apiserver(self, extra_args: Sequence[str] | None = None) -> None:
        """Stop kube-apiserver and start it again on the same port and etcd: every open watch
        breaks, the watch caches start over at etcd's current revision (a watch from an older
        resourceVersion is then 410 Gone, as in a real cluster). `extra_args` replaces the
        extra flags from then on, e.g. ["--watch-cache=false"] to serve watches from etcd."""
        if extra_args is not None:
            self.apiserver_extra_args = list(extra_args)
        self.stop_apiserver()
        self.start_apiserver()

    # -- kube-controller-manager (Deployments -> ReplicaSets -> Pods, Services ->
    #    EndpointSlices, namespace deletion, garbage collection)

    def start_controller_manager(self) -> None:
        if self.controller_manager is not None:
            return
        port = free_port()
        self.controller_manager = Process(
            "kube-controller-manager",
            [
                str(self.binaries.kube_controller_manager),
                f"--kubeconfig={self.kubeconfig}",
                # Delegated authn/authz of its own /healthz etc. through the API server.
                f"--authentication-kubeconfig={self.kubeconfig}",
                f"--authorization-kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'kcm-certs'}",
                # Signs the service account tokens it creates; must match the API server's.
                f"--service-account-private-key-file={self.certs / 'sa.key'}",
                # Published in every namespace as ConfigMap kube-root-ca.crt.
                f"--root-ca-file={self.ca_file}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                # Each controller authenticates as itself (the admin kubeconfig), not as a
                # per-controller service account that nothing would create tokens for.
                "--use-service-account-credentials=false",
            ],
            self.workdir / "kube-controller-manager.log",
        )
        wait_until(
            "kube-controller-manager /healthz",
            lambda: self._kcm_healthy(port),
            [self.controller_manager],
        )

    def _kcm_healthy(self, port: int) -> bool:
        # Its serving certificate is self-signed; only liveness matters here.
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        req = urllib.request.Request(
            f"https://127.0.0.1:{port}/healthz", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(req, context=insecure, timeout=2) as response:
            return bool(response.status == 200)

    def stop_controller_manager(self) -> None:
        if self.controller_manager is not None:
            self.controller_manager.stop()
            self.controller_manager = None

    # -- CRDs

    def install_crds(self, files: list[Path]) -> list[str]:
        """Create (or update) every CustomResourceDefinition in `files` with server-side
        apply and wait until each is Established. Returns the CRD names."""
        names = []
        for file in files:
            for document in yaml.safe_load_all(file.read_text()):
                if not document or document.get("kind") != "CustomResourceDefinition":
                    continue  # e.g. the ValidatingAdmissionPolicy next to the CRDs
                name = document["metadata"]["name"]
                status, body = self.request_apply(
                    f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}", document
                )
                if status not in (200, 201):
                    raise RuntimeError(f"installing CRD {name} from {file}: {status} {body}")
                names.append(name)
        for name in names:
            self.wait_crd_established(name)
        return names

    def request_apply(self, path: str, document: dict[str, Any]) -> tuple[int, Any]:
        req = urllib.request.Request(
            f"{self.server}{path}?fieldManager=gateway-contour-tests&force=true",
            data=json.dumps(document).encode(),
            method="PATCH",
            headers={
                "Authorization": f"Bearer {self.token}",
                # Server-side apply accepts JSON as well as YAML.
                "Content-Type": "application/apply-patch+yaml",
            },
        )
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def wait_crd_established(self, name: str, timeout: float = 30.0) -> None:
        assert self.apiserver is not None

        def established() -> bool:
            status, crd = self.request(
                "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
            )
            # status.conditions may be null while the CRD is being set up
            conditions = (crd.get("status") or {}).get("conditions") or [] if status == 200 else []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

        wait_until(f"CRD {name} Established", established, [self.apiserver], timeout)

    # -- lifecycle

    def start(self) -> None:
        self.start_etcd()
        self.start_apiserver()

    def stop(self) -> None:
        self.stop_controller_manager()
        self.stop_apiserver()
        if self.etcd is not None:
            self.etcd.stop()
            self.etcd = None


def gateway_api_crd_files(binaries: ControlPlaneBinaries) -> list[Path]:
    # The experimental channel is a superset of standard (TLSRoute, TCPRoute, UDPRoute,
    # ListenerSet, X* types) and carries the bundle-version and channel annotations.
    return sorted((binaries.gateway_api_crds / "experimental").glob("*.yaml"))


def start_cluster(binaries: ControlPlaneBinaries, workdir: Path) -> KubeCluster:
    """A started cluster with the Gateway API CRDs (experimental channel) and ours installed."""
    cluster = KubeCluster(binaries, workdir)
    try:
        cluster.start()
        cluster.install_crds(gateway_api_crd_files(binaries))
        if OWN_CRDS.is_dir():
            cluster.install_crds(sorted(OWN_CRDS.glob("*.yaml")))
    except BaseException:
        cluster.stop()
        raise
    return cluster
