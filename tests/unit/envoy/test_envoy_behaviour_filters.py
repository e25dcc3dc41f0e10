"""HTTPRoute filters and policies on the wire: Gateway API objects are translated, built
and served by a real Envoy in front of a JSON echo backend, and the requests the backend
receives and the answers clients get are checked against what the spec (and the
conformance suite) asks: request and response header modifiers, CORS preflights and
simple requests, and retries on status codes, connection errors and backend timeouts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from envoy_runner import echo_server, free_port, request, running_envoy

from gateway_contour.envoy.resources import build_resources
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, translate

pytestmark = pytest.mark.e2e

ROUTES = """
- path: /hdr
  filters:
  - type: RequestHeaderModifier
    requestHeaderModifier:
      set: [{name: X-Set, value: set-by-gw}]
      add: [{name: X-Add, value: added-by-gw}]
      remove: [X-Remove]
  - type: ResponseHeaderModifier
    responseHeaderModifier:
      set: [{name: X-Resp-Set, value: set-by-gw}]
      add: [{name: X-Resp-Add, value: added-by-gw}]
      remove: [X-Resp-Remove]
- path: /cors-1
  filters:
  - type: CORS
    cors:
      allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
      allowMethods: [GET, OPTIONS]
      allowHeaders: [x-header-1, x-header-2]
      exposeHeaders: [x-header-3, x-header-4]
      allowCredentials: true
      maxAge: 3600
- path: /cors-any
  filters:
  - type: CORS
    cors:
      allowOrigins: ["*"]
      allowMethods: [PUT]
- path: /cors-wild-creds
  filters:
  - type: CORS
    cors: {allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"], allowCredentials: true}
- path: /retry
  retry: {codes: [500], attempts: 2}
- path: /retry-errors
  retry: {attempts: 2}
  timeouts: {backendRequest: 300ms}
- path: /no-retry
"""


def objects(http_port: int, echo_port: int) -> list[dict[str, Any]]:
    rules = []
    for entry in yaml.safe_load(ROUTES):
        rule: dict[str, Any] = {
            "matches": [{"path": {"type": "PathPrefix", "value": entry["path"]}}],
            "backendRefs": [{"name": "echo", "port": 80}],
        }
        for key in ("filters", "retry", "timeouts"):
            if key in entry:
                rule[key] = entry[key]
        rules.append(rule)
    meta = {"namespace": "default"}
    return [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "gc"},
            "spec": {"controllerName": "gateway-contour.dev/gateway-controller"},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", **meta},
            "spec": {
                "gatewayClassName": "gc",
                "listeners": [{"name": "http", "port": http_port, "protocol": "HTTP"}],
            },
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "filters", **meta},
            "spec": {"parentRefs": [{"name": "gw"}], "rules": rules},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "echo", **meta},
            "spec": {"ports": [{"name": "http", "port": 80}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "echo-1",
                "labels": {"kubernetes.io/service-name": "echo"},
                **meta,
            },
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": echo_port}],
            "endpoints": [{"addresses": ["127.0.0.1"]}],
        },
    ]


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The HTTP port of an Envoy serving the routes above."""
    with echo_server() as echo_port:
        http_port = free_port()
        ir, report = translate(
            Snapshot.of(objects(http_port, echo_port)),
            TranslateOptions(default_address="127.0.0.1"),
        )
        assert not report.problems
        resources = build_resources(ir)["default/gw"]
        with running_envoy(resources, tmp_path_factory.mktemp("envoy"), http_port):
            yield http_port


def echoed(body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(body)
    return data


def test_request_header_modifier(port: int) -> None:
    status, _, body = request(
        port,
        "/hdr",
        headers={
            "Host": "example.com",
            "X-Set": "from-client",
            "X-Add": "from-client",
            "X-Remove": "gone",
            "X-Keep": "kept",
        },
    )
    assert status == 200
    headers = echoed(body)["headers"]
    assert headers["x-set"] == "set-by-gw"  # set overwrites
    assert headers["x-add"] == "from-client,added-by-gw"  # add appends
    assert "x-remove" not in headers
    assert headers["x-keep"] == "kept"


def test_response_header_modifier(port: int) -> None:
    status, headers, _ = request(
        port, "/hdr?resp-X-Resp-Set=backend&resp-X-Resp-Add=backend&resp-X-Resp-Remove=backend"
    )
    assert status == 200
    assert headers.get_all("x-resp-set") == ["set-by-gw"]
    assert headers.get_all("x-resp-add") == ["backend", "added-by-gw"]
    assert headers.get("x-resp-remove") is None


def preflight(port: int, path: str, origin: str, method: str = "GET") -> tuple[int, Any]:
    status, headers, _ = request(
        port,
        path,
        method="OPTIONS",
        headers={
            "Host": "example.com",
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "x-header-1, x-header-2",
        },
    )
    return status, headers


@pytest.mark.parametrize(
    "origin", ["https://www.foo.com", "https://www.bar.com", "https://xpto.www.bar.com"]
)
def test_cors_preflight_from_allowed_origin(port: int, origin: str) -> None:
    status, headers = preflight(port, "/cors-1", origin)
    assert status in (200, 204)
    assert headers["access-control-allow-origin"] == origin
    assert headers["access-control-allow-methods"].replace(" ", "") == "GET,OPTIONS"
    assert headers["access-control-allow-headers"].replace(" ", "") == "x-header-1,x-header-2"
    assert headers["access-control-expose-headers"].replace(" ", "") == "x-header-3,x-header-4"
    assert headers["access-control-max-age"] == "3600"
    assert headers["access-control-allow-credentials"] == "true"


def test_cors_preflight_from_other_origin_gets_no_cors_headers(port: int) -> None:
    status, headers, body = request(
        port,
        "/cors-1",
        method="OPTIONS",
        headers={
            "Host": "example.com",
            "Origin": "https://foobar.com",
            "Access-Control-Request-Method": "GET",
        },
    )
    assert status in (200, 204, 403)
    assert headers.get("access-control-allow-origin") is None
    assert body == b"", "the preflight reached the backend"  # Envoy answers it itself


def test_cors_simple_request(port: int) -> None:
    status, headers, _ = request(
        port, "/cors-1", headers={"Host": "example.com", "Origin": "https://www.bar.com"}
    )
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://www.bar.com"
    status, headers, _ = request(
        port, "/cors-1", headers={"Host": "example.com", "Origin": "https://foobar.com"}
    )
    assert status == 200
    assert headers.get("access-control-allow-origin") is None


def test_cors_any_origin_without_credentials(port: int) -> None:
    status, headers = preflight(port, "/cors-any", "https://foobar.com:12345", method="PUT")
    assert status in (200, 204)
    assert headers["access-control-allow-origin"] in ("*", "https://foobar.com:12345")
    assert headers["access-control-allow-methods"] == "PUT"
    assert headers.get("access-control-allow-credentials") is None


def test_retry_on_listed_status_code(port: int) -> None:
    # fails twice, then succeeds: within 2 retries
    status, _, _ = request(port, "/retry?fail=2&key=a")
    assert status == 200
    # fails three times: more than 2 retries, the last 500 comes back
    status, _, _ = request(port, "/retry?fail=3&key=b")
    assert status == 500
    # a status code not listed is not retried
    status, _, _ = request(port, "/retry?fail=1&key=c&status=503")
    assert status == 503


def test_retry_on_connection_error(port: int) -> None:
    # HTTPRouteRetryConnectionError: a reset connection is retried (twice at most)
    status, _, body = request(port, "/retry-errors?fail=2&key=e&how=reset")
    assert status == 200, body
    status, _, _ = request(port, "/retry-errors?fail=3&key=f&how=reset")
    assert status == 503  # Envoy's answer once the retries are used up


def test_retry_on_backend_timeout(port: int) -> None:
    # HTTPRouteRetryBackendTimeout: an attempt past timeouts.backendRequest is retried
    status, _, body = request(port, "/retry-errors?fail=1&key=g&how=slow&delay=1")
    assert status == 200, body
    status, _, _ = request(port, "/retry-errors?fail=3&key=h&how=slow&delay=1")
    assert status == 504


def test_no_retry_without_policy(port: int) -> None:
    status, _, _ = request(port, "/no-retry?fail=1&key=d")
    assert status == 500


def test_cors_wildcards_with_credentials_echo_the_request(port: int) -> None:
    """With credentials a '*' may not be answered: origin, method and headers are echoed."""
    status, headers = preflight(port, "/cors-wild-creds", "https://other.foo.com", method="PUT")
    assert status in (200, 204)
    assert headers["access-control-allow-origin"] == "https://other.foo.com"
    assert headers["access-control-allow-methods"] == "PUT"
    assert headers["access-control-allow-headers"].replace(" ", "") == "x-header-1,x-header-2"
    assert headers["access-control-allow-credentials"] == "true"
