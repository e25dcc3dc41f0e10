"""Clusters, load assignments and secrets: EDS over ADS, protocols, upstream TLS, health
checks, circuit breakers; ready endpoints only; certificate and CA secrets."""

from __future__ import annotations

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2, tls_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as hpo
from envoy_testlib import (
    BACKEND,
    FLEET,
    assert_envoy_accepts,
    ca_only_secret,
    cluster,
    route,
    tls_secret,
)

from gateway_contour.envoy import names
from gateway_contour.envoy.cluster import SYSTEM_CA_BUNDLE
from gateway_contour.envoy.endpoint import load_assignment
from gateway_contour.envoy.resources import CLUSTER, ENDPOINT, SECRET, build_resources
from gateway_contour.envoy.secret import ca_secret, certificate_secret
from gateway_contour.ir.model import (
    IR,
    CircuitBreakers,
    Cluster,
    ClusterEndpoints,
    Endpoint,
    Forward,
    Gateway,
    HealthCheck,
    LBPolicy,
    Listener,
    Protocol,
    UpstreamProtocol,
    UpstreamTLS,
    VirtualHost,
    WeightedCluster,
)

H2C = "default/grpc/50051/aaa"
TLS_CA = "default/secure/443/bbb"
TLS_SYSTEM = "default/public/443/ccc"
NO_ENDPOINTS = "default/empty/80/ddd"


def clusters_ir() -> IR:
    clusters = (
        cluster(
            BACKEND,
            lb_policy=LBPolicy.LEAST_REQUEST,
            connect_timeout=0.25,
            health_check=HealthCheck("/healthz", interval=3, timeout=1),
            circuit_breakers=CircuitBreakers(max_connections=10, max_retries=2),
        ),
        cluster(H2C, protocol=UpstreamProtocol.H2C),
        cluster(
            TLS_CA,
            protocol=UpstreamProtocol.H2,
            tls=UpstreamTLS(
                "secure.internal", ca_secret="default/backend-ca", client_secret="default/client"
            ),
        ),
        cluster(
            TLS_SYSTEM,
            tls=UpstreamTLS(
                "public.example.com", subject_alt_names=("a.example.com", "b.example.com")
            ),
        ),
        cluster(NO_ENDPOINTS),
    )
    routes = tuple(
        route(f"r{i}", action=Forward((WeightedCluster(c.name),))) for i, c in enumerate(clusters)
    )
    vh = VirtualHost("*", "*", routes=routes)
    return IR(
        gateways=(Gateway(FLEET, (Listener("http-80", "0.0.0.0", 80, Protocol.HTTP, (vh,)),)),),
        clusters=clusters,
        endpoints=(
            ClusterEndpoints(
                BACKEND,
                (
                    Endpoint("10.0.0.9", 8080, zone="zone-b"),
                    Endpoint("10.0.0.3", 8080),
                    Endpoint("10.0.0.2", 8080, ready=False),
                    Endpoint("10.0.0.1", 9090, zone="zone-b"),
                    Endpoint("10.0.0.1", 8080, zone="zone-b"),
                ),
            ),
            ClusterEndpoints(H2C, (Endpoint("10.0.1.1", 50051),)),
            ClusterEndpoints(TLS_CA, (Endpoint("10.0.2.1", 8443),)),
            ClusterEndpoints(TLS_SYSTEM, (Endpoint("10.0.3.1", 443),)),
        ),
        secrets=(
            ca_only_secret("default/backend-ca"),
            tls_secret("default/client", "client.example.com"),
        ),
    )


def get_cluster(resources: dict, name: str) -> cluster_pb2.Cluster:
    msg = resources[CLUSTER][name]
    assert isinstance(msg, cluster_pb2.Cluster)
    return msg


def test_clusters() -> None:
    resources = build_resources(clusters_ir())[FLEET]
    assert list(resources[CLUSTER]) == sorted([BACKEND, H2C, TLS_CA, TLS_SYSTEM, NO_ENDPOINTS])

    plain = get_cluster(resources, BACKEND)
    assert plain.type == cluster_pb2.Cluster.EDS
    assert plain.eds_cluster_config.service_name == BACKEND
    assert plain.eds_cluster_config.eds_config.HasField("ads")
    assert plain.alt_stat_name == "default_backend_80_abc"
    assert plain.lb_policy == cluster_pb2.Cluster.LEAST_REQUEST
    assert plain.connect_timeout.ToMilliseconds() == 250
    (hc,) = plain.health_checks
    assert hc.http_health_check.path == "/healthz"
    assert hc.interval.seconds == 3 and hc.timeout.seconds == 1
    assert hc.unhealthy_threshold.value == 3 and hc.healthy_threshold.value == 2
    (thresholds,) = plain.circuit_breakers.thresholds
    assert thresholds.max_connections.value == 10
    assert thresholds.max_retries.value == 2
    assert not thresholds.HasField("max_requests")
    assert not plain.typed_extension_protocol_options

    h2c = get_cluster(resources, H2C)
    options = hpo.HttpProtocolOptions()
    assert h2c.typed_extension_protocol_options[names.HTTP_PROTOCOL_OPTIONS].Unpack(options)
    assert options.explicit_http_config.HasField("http2_protocol_options")
    assert not h2c.HasField("transport_socket")

    secure = get_cluster(resources, TLS_CA)
    tls = tls_pb2.UpstreamTlsContext()
    assert secure.transport_socket.typed_config.Unpack(tls)
    assert tls.sni == "secure.internal"
    combined = tls.common_tls_context.combined_validation_context
    assert combined.validation_context_sds_secret_config.name == "default/backend-ca/ca"
    sans = combined.default_validation_context.match_typed_subject_alt_names
    assert [s.matcher.exact for s in sans] == ["secure.internal"]  # defaults to the SNI
    assert [s.name for s in tls.common_tls_context.tls_certificate_sds_secret_configs] == [
        "default/client"
    ]
    assert list(tls.common_tls_context.alpn_protocols) == ["h2"]

    public = get_cluster(resources, TLS_SYSTEM)
    tls = tls_pb2.UpstreamTlsContext()
    assert public.transport_socket.typed_config.Unpack(tls)
    validation = tls.common_tls_context.validation_context
    assert validation.trusted_ca.filename == SYSTEM_CA_BUNDLE
    assert [s.matcher.exact for s in validation.match_typed_subject_alt_names] == [
        "a.example.com",
        "b.example.com",
    ]

    assert list(resources[SECRET]) == ["default/backend-ca/ca", "default/client"]
    assert_envoy_accepts(resources)


def test_load_assignments_ready_only_grouped_by_zone() -> None:
    resources = build_resources(clusters_ir())[FLEET]
    assert list(resources[ENDPOINT]) == list(resources[CLUSTER])
    cla = resources[ENDPOINT][BACKEND]
    assert isinstance(cla, endpoint_pb2.ClusterLoadAssignment)
    assert cla.cluster_name == BACKEND
    groups = [
        (
            g.locality.zone,
            [
                (
                    e.endpoint.address.socket_address.address,
                    e.endpoint.address.socket_address.port_value,
                )
                for e in g.lb_endpoints
            ],
        )
        for g in cla.endpoints
    ]
    assert groups == [
        ("", [("10.0.0.3", 8080)]),  # 10.0.0.2 is not ready: never sent
        ("zone-b", [("10.0.0.1", 8080), ("10.0.0.1", 9090), ("10.0.0.9", 8080)]),
    ]
    empty = resources[ENDPOINT][NO_ENDPOINTS]
    assert isinstance(empty, endpoint_pb2.ClusterLoadAssignment)
    assert empty.cluster_name == NO_ENDPOINTS and not empty.endpoints


def test_load_assignment_is_order_independent() -> None:
    eps = (
        Endpoint("10.0.0.2", 80, zone="b"),
        Endpoint("10.0.0.1", 80),
        Endpoint("10.0.0.3", 80, zone="a"),
    )
    forward = load_assignment(ClusterEndpoints("c", eps))
    backward = load_assignment(ClusterEndpoints("c", eps[::-1]))
    assert forward.SerializeToString() == backward.SerializeToString()


def test_secrets_certificate_and_ca() -> None:
    secret = tls_secret("default/both", with_ca=True)
    cert = certificate_secret(secret)
    assert cert.name == "default/both"
    assert cert.tls_certificate.certificate_chain.inline_bytes == secret.cert_chain
    assert cert.tls_certificate.private_key.inline_bytes == secret.private_key
    ca = ca_secret(secret)
    assert isinstance(ca, secret_pb2.Secret)
    assert ca.name == "default/both/ca"
    assert ca.validation_context.trusted_ca.inline_bytes == secret.ca
    assert not ca.HasField("tls_certificate")


def test_unknown_cluster_reference_is_left_out() -> None:
    """A route to a cluster the IR does not define yields no cluster (Envoy answers 503)."""
    vh = VirtualHost("*", "*", routes=(route(action=Forward((WeightedCluster("nope/x/1/z"),))),))
    ir = IR(
        gateways=(Gateway(FLEET, (Listener("http-80", "0.0.0.0", 80, Protocol.HTTP, (vh,)),)),),
        clusters=(Cluster("other/y/1/z", "other/y", 1),),
    )
    resources = build_resources(ir)[FLEET]
    assert resources[CLUSTER] == {} and resources[ENDPOINT] == {}
