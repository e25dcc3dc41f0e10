"""A host-mode world for end-to-end tests of the implicit (Ingress/HTTPProxy) fleet and of
Gateways: echo backends, a config directory of YAML, `HostMode` with real Envoys, and HTTP
and HTTPS clients that send requests to 127.0.0.1 with any Host and SNI.

`HostWorld.start(objects_yaml)` writes the YAML (the text may use `{backend:NAME}` to get the
Service + EndpointSlice of an echo backend), starts host mode on free ports and returns once
`ready` holds for the world.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import textwrap
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import anyio
import yaml

from gateway_contour.app import HostMode
from gateway_contour.demo.echo import EchoBackend, start_echo
from gateway_contour.ir.model import HTTPSettings
from gateway_contour.provisioner.host import free_port
from tests.e2e.host_controller import host_config
from tests.e2e.host_controller import running as host_mode_running
from tests.e2e.http_client import Response, arequest


def service_and_slice_yaml(
    name: str,
    *,
    address: str,
    port: int,
    namespace: str = "default",
    annotations: str = "{}",
    port_name: str = "http",
    service_port: int = 80,
    protocol: str = "TCP",
) -> str:
    """A Service with one port and an EndpointSlice pointing that port at `address`:`port`."""
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Service
        metadata: {{name: {name}, namespace: {namespace}, annotations: {annotations}}}
        spec:
          ports: [{{name: {port_name}, port: {service_port}, protocol: {protocol}}}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: {name}
          namespace: {namespace}
          labels: {{kubernetes.io/service-name: {name}}}
        addressType: IPv4
        ports: [{{name: {port_name}, port: {port}, protocol: {protocol}}}]
        endpoints:
          - addresses: ["{address}"]
        """)


def service_yaml(
    name: str, backend: EchoBackend, namespace: str = "default", annotations: str = "{}"
) -> str:
    """A Service (port 80, named http) whose EndpointSlice points at `backend`."""
    return service_and_slice_yaml(
        name, address=backend.host, port=backend.port, namespace=namespace, annotations=annotations
    )


def tls_secret_yaml(name: str, namespace: str, cert_pem: bytes, key_pem: bytes) -> str:
    crt = textwrap.indent(cert_pem.decode(), "    ")
    key = textwrap.indent(key_pem.decode(), "    ")
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"type: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{crt}  tls.key: |\n{key}"
    )


def https_request(
    port: int,
    path: str,
    host: str,
    ca_pem: bytes,
    sni: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    max_version: ssl.TLSVersion | None = None,
) -> Response:
    """A GET over TLS to 127.0.0.1:`port` with SNI `sni` (default: `host`), trusting only
    `ca_pem` and checking the certificate against the SNI."""
    context = ssl.create_default_context(cadata=ca_pem.decode())
    context.set_alpn_protocols(["http/1.1"])
    if max_version is not None:
        context.maximum_version = max_version
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.sock = context.wrap_socket(raw, server_hostname=sni or host)
        conn.request("GET", path, headers={"Host": host, **(headers or {})})
        r = conn.getresponse()
        body = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, body)
    finally:
        conn.close()


def start_tls_echo(name: str, cert_pem: bytes, key_pem: bytes, directory: Path) -> EchoBackend:
    """An echo backend that speaks HTTP/1.1 over TLS with this certificate."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    backend = start_echo(name)
    # the listening socket (same descriptor) now hands out TLS connections
    server = backend._server
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return backend


class _TrickyHandler(BaseHTTPRequestHandler):
    """The first request for each path fails with 503 (`forget` starts over); /slow/...
    answers after 2 s."""

    seen: ClassVar[set[str]] = set()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(2)
        with self.lock:
            first = self.path not in self.seen
            self.seen.add(self.path)
        status = 503 if first and not self.path.startswith("/slow") else 200
        body = json.dumps({"backend": "tricky", "path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @classmethod
    def forget(cls) -> None:
        with cls.lock:
            cls.seen.clear()


forget_tricky_paths = _TrickyHandler.forget


def start_tricky_backend() -> EchoBackend:
    """A backend named "tricky" (see `_TrickyHandler`), stopped like an echo backend."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TrickyHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="tricky", daemon=True)
    thread.start()
    port = server.server_address[1]
    return EchoBackend("tricky", "127.0.0.1", port, server, thread)  # type: ignore[arg-type]


@dataclass
class HostWorld:
    tmp_path: Path
    backend_names: tuple[str, ...]
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    backends: dict[str, EchoBackend] = field(default_factory=dict)
    # backend name -> its Service's namespace (default: "default"), its Service's annotations
    namespaces: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, dict[str, str]] = field(default_factory=dict)
    mode: HostMode | None = None
    config_dir: Path | None = None
    fallback_certificate: str | None = None  # "namespace/name" (HTTPProxy fallback)
    http: HTTPSettings = field(default_factory=HTTPSettings)  # the operator's HTTP settings
    metrics_address: str | None = None  # "host:port" of /metrics (None: not served)
    delta: bool = True  # the Envoys' xDS protocol: Delta, or State of the World

    def backend_yaml(self) -> str:
        return "---\n".join(
            service_yaml(
                n,
                b,
                self.namespaces.get(n, "default"),
                json.dumps(self.annotations.get(n, {})),
            )
            for n, b in self.backends.items()
        )

    async def get(self, path: str = "/", host: str = "", **kwargs: object) -> Response:
        return await arequest("127.0.0.1", self.http_port, path, host=host, **kwargs)

    async def get_tls(self, path: str, host: str, ca_pem: bytes, **kwargs: object) -> Response:
        return await anyio.to_thread.run_sync(
            lambda: https_request(self.https_port, path, host, ca_pem, **kwargs)  # type: ignore[arg-type]
        )

    def statuses(self, name: str = "world") -> dict[str, dict[str, Any]]:
        """Object ("Kind namespace/name") -> the status host mode last wrote for it."""
        data = yaml.safe_load((self.tmp_path / f"{name}-status.yaml").read_text())
        return {entry["object"]: entry["status"] for entry in data["statuses"]}

    @contextlib.asynccontextmanager
    async def running(self, objects_yaml: str, name: str = "world") -> AsyncIterator[HostMode]:
        """Host mode serving `objects_yaml` plus the backends' Services, until exit."""
        self.config_dir = self.tmp_path / f"{name}-config"
        self.config_dir.mkdir()
        (self.config_dir / "backends.yaml").write_text(self.backend_yaml())
        (self.config_dir / "objects.yaml").write_text(objects_yaml)
        config = host_config(
            self.config_dir,
            self.tmp_path / f"{name}-envoy",
            status_file=self.tmp_path / f"{name}-status.yaml",
            legacy_http_port=self.http_port,
            legacy_https_port=self.https_port,
            fallback_certificate=self.fallback_certificate,
            http=self.http,
            metrics_address=self.metrics_address,
            delta=self.delta,
        )
        async with host_mode_running(config) as mode:
            self.mode = mode
            yield mode
        assert mode.fleet is not None and not mode.fleet.envoys

    def start_backends(self) -> None:
        for name in self.backend_names:
            self.backends[name] = start_echo(name)

    def stop_backends(self) -> None:
        for backend in self.backends.values():
            backend.stop()


PathSpec = tuple[str, str, str]  # (path, pathType, Service name); Service port 80


def ingress_yaml(
    name: str,
    rules: list[tuple[str, list[PathSpec]]],
    *,
    namespace: str = "default",
    annotations: dict[str, str] | None = None,
    tls: list[tuple[list[str], str]] | None = None,
    default_backend: str | None = None,
    class_name: str | None = None,
) -> str:
    """An Ingress: `rules` are (host, paths) with host "" for none; `tls` (hosts, Secret)."""

    def backend(service: str) -> dict[str, object]:
        return {"service": {"name": service, "port": {"number": 80}}}

    spec: dict[str, object] = {}
    if class_name:
        spec["ingressClassName"] = class_name
    if default_backend:
        spec["defaultBackend"] = backend(default_backend)
    if tls:
        spec["tls"] = [{"hosts": hosts, "secretName": secret} for hosts, secret in tls]
    spec["rules"] = [
        {
            **({"host": host} if host else {}),
            "http": {
                "paths": [{"path": p, "pathType": t, "backend": backend(s)} for p, t, s in paths]
            },
        }
        for host, paths in rules
    ]
    metadata: dict[str, object] = {"name": name, "namespace": namespace}
    if annotations:
        metadata["annotations"] = annotations
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata}
    return yaml.safe_dump({**obj, "spec": spec}, sort_keys=False)
