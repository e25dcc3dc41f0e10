"""What the generated config does in a real Envoy: Gateway API path-prefix and rewrite
semantics, redirects without stray ports, and SNI routing on an HTTPS listener.

Envoy runs from a static bootstrap (`validate.static_bootstrap`) in front of a tiny echo
server that answers with the path and Host it received.
"""

from __future__ import annotations

import http.client
import http.server
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator

import pytest
from envoy_runner import free_port, wait_for
from envoy_testlib import self_signed, tls_secret

from gateway_contour.envoy.binary import envoy_binary
from gateway_contour.envoy.resources import build_resources
from gateway_contour.envoy.validate import static_bootstrap
from gateway_contour.ir.model import (
    IR,
    Cluster,
    ClusterEndpoints,
    DirectResponse,
    Endpoint,
    Forward,
    Gateway,
    Listener,
    Match,
    PathMatch,
    PathMatchKind,
    PathRewrite,
    PathRewriteKind,
    Protocol,
    Redirect,
    Rewrite,
    Route,
    TLSServer,
    VirtualHost,
    WeightedCluster,
)

pytestmark = pytest.mark.e2e

ECHO = "default/echo/80/x"


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"{self.path} host={self.headers.get('host')}".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def prefix(value: str) -> Match:
    return Match(path=PathMatch(PathMatchKind.PREFIX, value))


def to_echo(name: str, match: Match, rewrite: Rewrite | None = None) -> Route:
    return Route(name, match, Forward((WeightedCluster(ECHO),)), rewrite=rewrite)


def routes() -> tuple[Route, ...]:
    return (
        to_echo(
            "strip",
            prefix("/strip"),
            Rewrite(path=PathRewrite(PathRewriteKind.PREFIX, "/", matched_prefix="/strip")),
        ),
        to_echo(
            "xyz",
            prefix("/foo/"),
            Rewrite(path=PathRewrite(PathRewriteKind.PREFIX, "/xyz/", matched_prefix="/foo/")),
        ),
        to_echo(
            "full",
            prefix("/full"),
            Rewrite(
                hostname="rewritten.example", path=PathRewrite(PathRewriteKind.FULL, "/replaced")
            ),
        ),
        Route("https", prefix("/redir"), Redirect(scheme="https", port=443, status_code=301)),
        # what translation makes on a listener off its scheme's default port
        Route(
            "https-kept",
            prefix("/kept"),
            Redirect(scheme="https", port=443, keep_port=True, status_code=301),
        ),
        Route(
            "port",
            prefix("/r2"),
            Redirect(port=8080, path=PathRewrite(PathRewriteKind.PREFIX, "/new", "/r2")),
        ),
        Route("seg", prefix("/seg"), DirectResponse(200, "seg")),
        Route("root", prefix("/"), DirectResponse(404, "root")),
    )


@pytest.fixture(scope="module")
def envoy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """(http port, https port) of an Envoy serving `routes()`."""
    backend_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", backend_port), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    http_port, https_port = free_port(), free_port()
    tls_hosts = tuple(
        VirtualHost(
            host,
            host,
            (Route(host, prefix("/"), DirectResponse(200, f"tls {host}")),),
            tls=TLSServer(secrets=(f"default/{host}",)),
        )
        for host in ("a.example.com", "b.example.com")
    )
    ir = IR(
        gateways=(
            Gateway(
                "f",
                (
                    Listener(
                        "http",
                        "127.0.0.1",
                        http_port,
                        Protocol.HTTP,
                        (VirtualHost("*", "*", routes()),),
                    ),
                    Listener("https", "127.0.0.1", https_port, Protocol.HTTPS, tls_hosts),
                ),
            ),
        ),
        clusters=(Cluster(ECHO, "default/echo", 80),),
        endpoints=(ClusterEndpoints(ECHO, (Endpoint("127.0.0.1", backend_port),)),),
        secrets=tuple(tls_secret(f"default/{h.hostname}", h.hostname) for h in tls_hosts),
    )
    config = tmp_path_factory.mktemp("envoy") / "bootstrap.pb"
    config.write_bytes(static_bootstrap(build_resources(ir)["f"]).SerializeToString())
    proc = subprocess.Popen(
        [envoy_binary(), "-c", str(config), "-l", "error", "--use-dynamic-base-id"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(http_port)
        wait_for(https_port)
        yield http_port, https_port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        server.shutdown()


def get(port: int, path: str, host: str = "example.com") -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers={"Host": host})
    resp = conn.getresponse()
    return resp.status, resp.getheader("location") or "", resp.read().decode()


@pytest.mark.parametrize(
    ("path", "status", "location", "body"),
    [
        # ReplacePrefixMatch "/" after PathPrefix "/strip": no doubled or missing slash
        ("/strip", 200, "", "/ host=example.com"),
        ("/strip/", 200, "", "/ host=example.com"),
        ("/strip/a/b?q=1", 200, "", "/a/b?q=1 host=example.com"),
        ("/stripx", 404, "", "root"),  # not a segment match
        # "/foo/" -> "/xyz/" behaves like "/foo" -> "/xyz"
        ("/foo", 200, "", "/xyz host=example.com"),
        ("/foo/", 200, "", "/xyz/ host=example.com"),
        ("/foo/bar", 200, "", "/xyz/bar host=example.com"),
        ("/full/x?q=2", 200, "", "/replaced?q=2 host=rewritten.example"),
        # well-known ports are omitted
        ("/redir/a?b=1", 301, "https://example.com/redir/a?b=1", ""),
        ("/r2/x", 302, "http://example.com:8080/new/x", ""),
        ("/seg/x", 200, "", "seg"),
        ("/segx", 404, "", "root"),
    ],
)
def test_http_semantics(
    envoy: tuple[int, int], path: str, status: int, location: str, body: str
) -> None:
    assert get(envoy[0], path) == (status, location, body)


def test_port_in_host_matches_and_reaches_the_backend(envoy: tuple[int, int]) -> None:
    # Gateway API: the port in Host does not count when matching hostnames, and the backend
    # gets Host as the client sent it
    assert get(envoy[0], "/strip/a", host="example.com:1234") == (
        200,
        "",
        "/a host=example.com:1234",
    )


@pytest.mark.parametrize(
    ("path", "host", "location"),
    [
        # the http default port in Host goes when the scheme changes (Envoy's rule, which
        # lets translation omit 443 on listeners at port 80)
        ("/redir/a", "example.com:80", "https://example.com/redir/a"),
        # any other port would stay: translation writes the new one (keep_port)
        ("/kept/a", "example.com:8080", "https://example.com:443/kept/a"),
        ("/r2/x", "example.com:8080", "http://example.com:8080/new/x"),
    ],
)
def test_redirects_replace_the_port_in_host(
    envoy: tuple[int, int], path: str, host: str, location: str
) -> None:
    status, got, _ = get(envoy[0], path, host=host)
    assert (status, got) == (301 if "/r2" not in path else 302, location)


@pytest.mark.parametrize("host", ["a.example.com", "b.example.com"])
def test_sni_selects_certificate_and_routes(envoy: tuple[int, int], host: str) -> None:
    context = ssl.create_default_context(cadata=self_signed(host)[0].decode())
    conn = http.client.HTTPSConnection(host, envoy[1], timeout=5, context=context)
    # connect to 127.0.0.1 while sending the SNI and Host of `host`
    conn.sock = context.wrap_socket(
        socket.create_connection(("127.0.0.1", envoy[1]), 5), server_hostname=host
    )
    conn.request("GET", "/", headers={"Host": host})
    resp = conn.getresponse()
    assert (resp.status, resp.read().decode()) == (200, f"tls {host}")


def test_host_not_matching_sni_gets_421(envoy: tuple[int, int]) -> None:
    host = "a.example.com"
    context = ssl.create_default_context(cadata=self_signed(host)[0].decode())
    conn = http.client.HTTPSConnection(host, envoy[1], timeout=5, context=context)
    conn.sock = context.wrap_socket(
        socket.create_connection(("127.0.0.1", envoy[1]), 5), server_hostname=host
    )
    conn.request("GET", "/", headers={"Host": "b.example.com"})
    # the SNI's route configuration holds only a.example.com: Misdirected Request
    assert conn.getresponse().status == 421
