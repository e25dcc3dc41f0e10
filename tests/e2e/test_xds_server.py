"""The xDS server driving a real Envoy (Delta and SotW ADS): routes, updates, NACK, SDS.

Per protocol, one Envoy walks through: connected before the cache is ready and given
nothing; served once ready (a direct_response route and a route to a local HTTP backend
over EDS); a route update applied without restart; an invalid route NACKed by Envoy with
the previous route still answering; a valid update accepted again; an endpoint-only update.
Another Envoy serves TLS with a certificate that comes over the same ADS stream (SDS over
ADS) and picks up a rotated certificate.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import address_pb2, base_pb2, config_source_pb2
from envoy.config.endpoint.v3 import endpoint_components_pb2, endpoint_pb2
from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm,
)
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, secret_pb2, tls_pb2
from envoy.type.matcher.v3 import regex_pb2
from google.protobuf import any_pb2

from gateway_contour.certs import self_signed
from gateway_contour.envoy.bootstrap import BootstrapOptions, write_bootstrap
from gateway_contour.xds import types
from gateway_contour.xds.cache import SnapshotCache
from gateway_contour.xds.server import XdsServer

pytestmark = pytest.mark.e2e

FLEET = "default/web"
ROUTE_NAME = "default/web/http"
BACKEND = "default/backend/8080/e2e"
SECRET_NAME = "default/web-cert"
DEADLINE = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _socket(port: int) -> address_pb2.Address:
    return address_pb2.Address(
        socket_address=address_pb2.SocketAddress(address="127.0.0.1", port_value=port)
    )


def _ads_source() -> config_source_pb2.ConfigSource:
    return config_source_pb2.ConfigSource(
        ads=config_source_pb2.AggregatedConfigSource(),
        resource_api_version=config_source_pb2.V3,
    )


def listener(port: int) -> listener_pb2.Listener:
    manager = hcm.HttpConnectionManager(
        stat_prefix="http",
        rds=hcm.Rds(route_config_name=ROUTE_NAME, config_source=_ads_source()),
        http_filters=[
            hcm.HttpFilter(
                name="envoy.filters.http.router", typed_config=_packed(router_pb2.Router())
            )
        ],
    )
    return listener_pb2.Listener(
        name="http",
        address=_socket(port),
        filter_chains=[
            listener_components_pb2.FilterChain(
                filters=[
                    listener_components_pb2.Filter(
                        name="envoy.filters.network.http_connection_manager",
                        typed_config=_packed(manager),
                    )
                ]
            )
        ],
    )


def route_config(answer: str, *, bad_regex: bool = False) -> route_pb2.RouteConfiguration:
    routes = [
        rc.Route(match=rc.RouteMatch(prefix="/backend"), route=rc.RouteAction(cluster=BACKEND)),
        rc.Route(
            match=rc.RouteMatch(prefix="/"),
            direct_response=rc.DirectResponseAction(status=200, body={"inline_string": answer}),
        ),
    ]
    if bad_regex:  # RE2 rejects this pattern: Envoy NACKs the whole RouteConfiguration
        bad = rc.RouteMatch(safe_regex=regex_pb2.RegexMatcher(regex="(unclosed"))
        routes.insert(0, rc.Route(match=bad, direct_response=rc.DirectResponseAction(status=500)))
    vhost = rc.VirtualHost(name="all", domains=["*"], routes=routes)
    return route_pb2.RouteConfiguration(name=ROUTE_NAME, virtual_hosts=[vhost])


def backend_cluster() -> cluster_pb2.Cluster:
    cluster = cluster_pb2.Cluster(name=BACKEND, type=cluster_pb2.Cluster.EDS)
    cluster.connect_timeout.seconds = 1
    cluster.eds_cluster_config.eds_config.ads.SetInParent()
    cluster.eds_cluster_config.eds_config.resource_api_version = config_source_pb2.V3
    return cluster


def backend_endpoints(port: int) -> endpoint_pb2.ClusterLoadAssignment:
    lb = endpoint_components_pb2.LbEndpoint(
        endpoint=endpoint_components_pb2.Endpoint(address=_socket(port))
    )
    return endpoint_pb2.ClusterLoadAssignment(
        cluster_name=BACKEND,
        endpoints=[endpoint_components_pb2.LocalityLbEndpoints(lb_endpoints=[lb])],
    )


def world(
    listen_port: int, backend_port: int, route: route_pb2.RouteConfiguration
) -> dict[str, Any]:
    return {
        types.CLUSTER: {BACKEND: backend_cluster()},
        types.ENDPOINT: {BACKEND: backend_endpoints(backend_port)},
        types.LISTENER: {"http": listener(listen_port)},
        types.ROUTE: {ROUTE_NAME: route},
    }


class _Backend(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"backend {self.server.server_address[1]} saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def backends() -> Iterator[list[int]]:
    """Two local HTTP backends; each answers "backend <its port> saw <path>"."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Backend) for _ in range(2)]
    threads = [threading.Thread(target=srv.serve_forever, daemon=True) for srv in servers]
    for thread in threads:
        thread.start()
    yield [int(srv.server_address[1]) for srv in servers]
    for srv, thread in zip(servers, threads, strict=True):
        srv.shutdown()
        srv.server_close()
        thread.join()


async def eventually(probe: Callable[[], Awaitable[Any]], expected: Any, what: str) -> None:
    """Poll an HTTP answer until it equals `expected` (Envoy applies config asynchronously)."""
    deadline = time.monotonic() + DEADLINE
    while (got := await probe()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: expected {expected!r}, still {got!r}")
        await asyncio.sleep(0.05)


async def until(server: XdsServer, predicate: Callable[[], bool]) -> None:
    await asyncio.wait_for(server.stats.wait_until(lambda _: predicate()), DEADLINE)


@pytest.mark.parametrize("delta", [True, False], ids=["delta", "sotw"])
async def test_envoy_follows_snapshot_updates_and_nacks(
    delta: bool,
    tmp_path: Path,
    backends: list[int],
    start_envoy: Callable[..., Awaitable[Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    listen_port = free_port()
    backend_port, other_backend = backends
    cache = SnapshotCache()
    server = XdsServer(cache)
    xds_port = await server.start("127.0.0.1", 0)
    try:
        cache.set_fleet(FLEET, world(listen_port, backend_port, route_config("v1")))
        options = BootstrapOptions(
            node_id="e2e-envoy", fleet=FLEET, xds_port=xds_port, admin_port=0, delta=delta
        )
        envoy = await start_envoy(write_bootstrap(options, tmp_path / "bootstrap.json"))

        # Connected and asking for clusters (listeners come after), but the cache is not ready.
        await until(server, lambda: server.stats.requests >= 1)
        assert server.stats.responses == 0
        (stream,) = server.streams()
        assert (stream.fleet, stream.node_id, stream.protocol) == (
            FLEET,
            "e2e-envoy",
            "delta" if delta else "sotw",
        )
        assert await envoy.admin("/listeners") == (200, "")
        assert (await envoy.admin("/ready"))[0] == 503
        assert await envoy.get(listen_port) is None

        cache.mark_ready()
        await envoy.wait_ready()
        await eventually(lambda: envoy.get(listen_port, "/"), (200, "v1"), "direct response")
        assert await envoy.get(listen_port, "/backend/x") == (
            200,
            f"backend {backend_port} saw /backend/x",
        )

        cache.set_fleet(FLEET, world(listen_port, backend_port, route_config("v2")))
        await eventually(lambda: envoy.get(listen_port, "/"), (200, "v2"), "updated route")

        cache.set_fleet(FLEET, world(listen_port, backend_port, route_config("v3", bad_regex=True)))
        await until(server, lambda: server.stats.nacks >= 1)
        nack = server.stats.recent_nacks[-1]
        assert nack.type_url == types.ROUTE
        assert nack.fleet == FLEET and nack.node_id == "e2e-envoy"
        assert "(unclosed" in nack.message  # Envoy's own words, naming the bad pattern
        assert await envoy.get(listen_port, "/") == (200, "v2")  # last accepted config serves

        cache.set_fleet(FLEET, world(listen_port, backend_port, route_config("v4")))
        await eventually(lambda: envoy.get(listen_port, "/"), (200, "v4"), "route after NACK")
        snapshot = cache.snapshot(FLEET)
        assert snapshot is not None
        await until(
            server,
            lambda: stream.types[types.ROUTE].accepted_version == snapshot.version(types.ROUTE),
        )
        assert server.stats.nacks == 1

        # EDS fast path: new endpoints only; traffic moves to the other backend.
        assert cache.set_endpoints({BACKEND: backend_endpoints(other_backend)}) == {FLEET}
        await eventually(
            lambda: envoy.get(listen_port, "/backend/y"),
            (200, f"backend {other_backend} saw /backend/y"),
            "endpoint update",
        )
    finally:
        await server.stop(grace=None)
    assert server.streams() == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def self_signed_pems(common_name: str) -> tuple[str, str, bytes]:
    """(certificate PEM, key PEM, certificate DER) of a fresh self-signed certificate."""
    cert, key = self_signed(common_name)
    return cert.decode(), key.decode(), ssl.PEM_cert_to_DER_cert(cert.decode())


def certificate_secret(cert_pem: str, key_pem: str) -> secret_pb2.Secret:
    return secret_pb2.Secret(
        name=SECRET_NAME,
        tls_certificate=common_pb2.TlsCertificate(
            certificate_chain=base_pb2.DataSource(inline_string=cert_pem),
            private_key=base_pb2.DataSource(inline_string=key_pem),
        ),
    )


def tls_listener(port: int) -> listener_pb2.Listener:
    plain = listener(port)
    tls = tls_pb2.DownstreamTlsContext(
        common_tls_context=tls_pb2.CommonTlsContext(
            tls_certificate_sds_secret_configs=[
                secret_pb2.SdsSecretConfig(name=SECRET_NAME, sds_config=_ads_source())
            ]
        )
    )
    chain = plain.filter_chains[0]
    chain.transport_socket.name = "envoy.transport_sockets.tls"
    chain.transport_socket.typed_config.Pack(tls)
    plain.name = "https"
    return plain


def tls_get(port: int, path: str) -> tuple[int, str, bytes] | None:
    """(status, body, server certificate DER) of a GET over TLS, or None if refused."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=2)
    try:
        conn.request("GET", path, headers={"Host": "web.example.com"})
        response = conn.getresponse()
        peer = conn.sock.getpeercert(binary_form=True) if conn.sock else b""
        return response.status, response.read().decode(), peer or b""
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


@pytest.mark.parametrize("delta", [True, False], ids=["delta", "sotw"])
async def test_tls_certificate_comes_over_ads_and_rotates(
    delta: bool,
    tmp_path: Path,
    start_envoy: Callable[..., Awaitable[Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    first_pem, first_key, first_der = self_signed_pems("web.example.com")
    second_pem, second_key, second_der = self_signed_pems("web.example.com")
    cache = SnapshotCache()
    server = XdsServer(cache)
    xds_port = await server.start("127.0.0.1", 0)

    def resources(cert_pem: str, key_pem: str) -> dict[str, Any]:
        return {
            types.CLUSTER: {},
            types.LISTENER: {"https": tls_listener(port)},
            types.ROUTE: {ROUTE_NAME: route_config("over tls")},
            types.SECRET: {SECRET_NAME: certificate_secret(cert_pem, key_pem)},
        }

    try:
        cache.set_fleet(FLEET, resources(first_pem, first_key))
        cache.mark_ready()
        options = BootstrapOptions(
            node_id="e2e-tls", fleet=FLEET, xds_port=xds_port, admin_port=0, delta=delta
        )
        envoy = await start_envoy(write_bootstrap(options, tmp_path / "bootstrap.json"))
        await envoy.wait_ready()

        def fetch() -> Awaitable[tuple[int, str, bytes] | None]:
            return asyncio.to_thread(tls_get, port, "/")

        await eventually(fetch, (200, "over tls", first_der), "TLS with the first certificate")
        (stream,) = server.streams()
        assert types.SECRET in stream.types  # requested on the ADS stream, by name
        assert stream.types[types.SECRET].names == {SECRET_NAME}

        cache.set_fleet(FLEET, resources(second_pem, second_key))
        await eventually(fetch, (200, "over tls", second_der), "rotated certificate")
        assert server.stats.nacks == 0

        await asyncio.to_thread(envoy.stop)  # Envoy goes away: a normal end of its stream
        await until(server, lambda: server.stats.streams_active == 0)
        assert server.streams() == []
    finally:
        await server.stop(grace=None)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
