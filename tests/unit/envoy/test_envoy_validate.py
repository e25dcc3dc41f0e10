"""validate_fleet: the static bootstrap it builds, and that the real Envoy rejects what it
should (so a passing validation means something)."""

from __future__ import annotations

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2
from envoy_testlib import BACKEND, FLEET, fleet_of, http_ir, route, tls_secret

from gateway_contour.envoy.resources import CLUSTER, ROUTE, build_resources
from gateway_contour.envoy.validate import static_bootstrap, validate_fleet
from gateway_contour.ir.model import (
    IR,
    Gateway,
    Listener,
    Match,
    PathMatch,
    PathMatchKind,
    Protocol,
    TLSServer,
    VirtualHost,
)


def test_static_bootstrap_inlines_routes_endpoints_and_secrets() -> None:
    vh = VirtualHost("s", "s.example.com", routes=(route(),), tls=TLSServer(secrets=("d/c",)))
    base = http_ir(route())
    ir = IR(
        gateways=(
            Gateway(
                FLEET,
                (
                    *base.gateways[0].listeners,
                    Listener("https-443", "0.0.0.0", 443, Protocol.HTTPS, (vh,)),
                ),
            ),
        ),
        clusters=base.clusters,
        endpoints=base.endpoints,
        secrets=(tls_secret("d/c"),),
    )
    bootstrap = static_bootstrap(build_resources(ir)[FLEET])
    static = bootstrap.static_resources
    http, https = static.listeners
    hcm = hcm_pb2.HttpConnectionManager()
    assert http.filter_chains[0].filters[0].typed_config.Unpack(hcm)
    assert not hcm.HasField("rds") and hcm.route_config.name == "http-80"
    tls = tls_pb2.DownstreamTlsContext()
    assert https.filter_chains[0].transport_socket.typed_config.Unpack(tls)
    sds = tls.common_tls_context.tls_certificate_sds_secret_configs[0]
    assert sds.name == "d/c" and not sds.HasField("sds_config")
    clusters = {c.name: c for c in static.clusters}
    assert clusters[BACKEND].type == cluster_pb2.Cluster.STATIC
    assert clusters[BACKEND].load_assignment.endpoints[0].lb_endpoints
    assert [s.name for s in static.secrets] == ["d/c"]
    assert validate_fleet(build_resources(ir)[FLEET]).ok


def test_resources_are_not_modified_by_validation() -> None:
    resources = fleet_of(http_ir(route()))
    before = {t: {n: m.SerializeToString() for n, m in d.items()} for t, d in resources.items()}
    assert validate_fleet(resources).ok
    after = {t: {n: m.SerializeToString() for n, m in d.items()} for t, d in resources.items()}
    assert before == after


def test_envoy_rejects_a_route_to_a_missing_cluster() -> None:
    resources = fleet_of(http_ir(route()))
    del resources[CLUSTER][BACKEND]
    result = validate_fleet(resources)
    assert not result.ok
    assert BACKEND in result.output


def test_envoy_rejects_an_invalid_regex() -> None:
    resources = fleet_of(http_ir(route(match=Match(path=PathMatch(PathMatchKind.REGEX, "(")))))
    result = validate_fleet(resources)
    assert not result.ok
    assert "missing )" in result.output  # RE2 compile error


def test_missing_route_configuration_is_reported() -> None:
    resources = fleet_of(http_ir(route()))
    config = resources[ROUTE].pop("http-80")
    assert isinstance(config, route_pb2.RouteConfiguration)
    result = validate_fleet(resources)
    assert not result.ok and "http-80" in result.output
