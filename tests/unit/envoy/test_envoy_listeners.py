"""Listeners: HTTP connection manager settings, HTTPS SNI chains with SDS certificates and
client validation, TLS passthrough, TCP and UDP proxies; each accepted by the real Envoy."""

from __future__ import annotations

from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from envoy.extensions.filters.udp.udp_proxy.v3 import route_pb2 as udp_route_pb2
from envoy.extensions.filters.udp.udp_proxy.v3 import udp_proxy_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2
from envoy_testlib import (
    BACKEND,
    FLEET,
    OTHER,
    assert_envoy_accepts,
    ca_only_secret,
    cluster,
    endpoints,
    fleet_of,
    http_ir,
    route,
    tls_secret,
)

from gateway_contour.envoy import names
from gateway_contour.envoy.compression import COMPRESSOR_FILTER
from gateway_contour.envoy.resources import CLUSTER, LISTENER, ROUTE, SECRET
from gateway_contour.ir.model import (
    IR,
    ClientValidation,
    CORSPolicy,
    Gateway,
    Listener,
    Protocol,
    TCPProxy,
    TLSServer,
    UDPProxy,
    VirtualHost,
    WeightedCluster,
)


def hcm_of(chain: listener_pb2.FilterChain) -> hcm_pb2.HttpConnectionManager:
    (net_filter,) = chain.filters
    assert net_filter.name == names.HCM_FILTER
    out = hcm_pb2.HttpConnectionManager()
    assert net_filter.typed_config.Unpack(out)
    return out


def listener_of(resources: dict, name: str) -> listener_pb2.Listener:
    msg = resources[LISTENER][name]
    assert isinstance(msg, listener_pb2.Listener)
    return msg


def test_http_listener_connection_manager() -> None:
    resources = fleet_of(http_ir(route()))
    lst = listener_of(resources, "http-80")
    assert lst.address.socket_address.address == "0.0.0.0"
    assert lst.address.socket_address.port_value == 80
    (chain,) = lst.filter_chains
    hcm = hcm_of(chain)
    assert hcm.rds.route_config_name == "http-80"
    assert hcm.rds.config_source.HasField("ads")
    # Host reaches the backend with its port; routes match hostnames without it
    assert not hcm.strip_matching_host_port and not hcm.strip_any_host_port
    assert resources[ROUTE]["http-80"].ignore_port_in_host_matching
    assert hcm.use_remote_address.value
    assert hcm.normalize_path.value and hcm.merge_slashes
    # gzip by default (HTTPSettings), then the router
    assert [f.name for f in hcm.http_filters] == [COMPRESSOR_FILTER, names.ROUTER_FILTER]
    (upgrade,) = hcm.upgrade_configs
    assert upgrade.upgrade_type == "websocket" and not upgrade.enabled.value
    assert list(resources[ROUTE]) == ["http-80"]


def test_cors_filter_installed_only_when_used() -> None:
    hcm = hcm_of(
        listener_of(
            fleet_of(http_ir(route(cors=CORSPolicy(allow_origins=("*",))))), "http-80"
        ).filter_chains[0]
    )
    assert [f.name for f in hcm.http_filters] == [
        COMPRESSOR_FILTER,
        names.CORS_FILTER,
        names.ROUTER_FILTER,
    ]
    assert hcm.http_filters[1].typed_config.Is(cors_pb2.Cors.DESCRIPTOR)


def https_ir() -> IR:
    secrets = (
        tls_secret("default/www", "www.example.com"),
        tls_secret("default/wild", "*.example.org"),
        tls_secret("default/fallback", "fallback.example.com", with_ca=True),
        ca_only_secret("default/client-ca"),
    )
    hosts = (
        VirtualHost(
            "www",
            "www.example.com",
            routes=(route("www"),),
            tls=TLSServer(
                secrets=("default/www",),
                min_version="1.3",
                alpn=("http/1.1",),
                client_validation=ClientValidation(
                    "default/client-ca", subject_alt_names=("client.example.com",)
                ),
            ),
        ),
        VirtualHost(
            "wild",
            "*.example.org",
            routes=(route("wild"),),
            tls=TLSServer(
                secrets=("default/wild",),
                client_validation=ClientValidation("default/fallback", optional=True),
            ),
        ),
        VirtualHost(
            "pass",
            "db.example.com",
            passthrough=TCPProxy((WeightedCluster(OTHER),), idle_timeout=60),
        ),
        VirtualHost("dup", "www.example.com", tls=TLSServer(secrets=("default/wild",))),
        VirtualHost("plain", "plain.example.com", routes=(route("plain"),)),  # no TLS: skipped
        VirtualHost(
            "default", "*", routes=(route("default"),), tls=TLSServer(secrets=("default/fallback",))
        ),
    )
    listener = Listener("https-443", "0.0.0.0", 443, Protocol.HTTPS, hosts)
    return IR(
        gateways=(Gateway(FLEET, (listener,)),),
        clusters=(cluster(BACKEND), cluster(OTHER)),
        endpoints=(endpoints(BACKEND), endpoints(OTHER)),
        secrets=secrets,
    )


def test_https_listener_sni_chains() -> None:
    resources = fleet_of(https_ir())
    lst = listener_of(resources, "https-443")
    assert [f.name for f in lst.listener_filters] == [names.TLS_INSPECTOR]
    chains = {c.name: c for c in lst.filter_chains}
    assert list(chains) == ["www.example.com", "*.example.org", "db.example.com", "*"]
    assert list(chains["www.example.com"].filter_chain_match.server_names) == ["www.example.com"]
    assert list(chains["*.example.org"].filter_chain_match.server_names) == ["*.example.org"]
    assert not chains["*"].filter_chain_match.server_names  # the default chain

    # each terminating chain has its own route configuration holding only its host
    assert hcm_of(chains["www.example.com"]).rds.route_config_name == "https-443/www.example.com"
    assert list(resources[ROUTE]) == [
        "https-443/*",
        "https-443/*.example.org",
        "https-443/www.example.com",
    ]
    www_routes = resources[ROUTE]["https-443/www.example.com"]
    assert isinstance(www_routes, route_pb2.RouteConfiguration)
    # the other chains' names and any other host are misdirected here
    assert [list(vh.domains) for vh in www_routes.virtual_hosts] == [
        ["www.example.com"],
        ["*.example.org", "db.example.com", "*"],
    ]
    misdirected = www_routes.virtual_hosts[1].routes[0]
    assert misdirected.direct_response.status == 421
    default_routes = resources[ROUTE]["https-443/*"]
    assert isinstance(default_routes, route_pb2.RouteConfiguration)
    # the default chain keeps unknown hosts (its "*" host) and sends the named ones away
    assert [list(vh.domains) for vh in default_routes.virtual_hosts] == [
        ["*"],
        ["*.example.org", "db.example.com", "www.example.com"],
    ]

    tls = tls_pb2.DownstreamTlsContext()
    assert chains["www.example.com"].transport_socket.typed_config.Unpack(tls)
    common = tls.common_tls_context
    assert [s.name for s in common.tls_certificate_sds_secret_configs] == ["default/www"]
    assert common.tls_certificate_sds_secret_configs[0].sds_config.HasField("ads")
    assert list(common.alpn_protocols) == ["http/1.1"]
    assert common.tls_params.tls_minimum_protocol_version == common_pb2.TlsParameters.TLSv1_3
    assert tls.require_client_certificate.value
    combined = common.combined_validation_context
    assert combined.validation_context_sds_secret_config.name == "default/client-ca/ca"
    (san,) = combined.default_validation_context.match_typed_subject_alt_names
    assert san.matcher.exact == "client.example.com"

    wild = tls_pb2.DownstreamTlsContext()
    assert chains["*.example.org"].transport_socket.typed_config.Unpack(wild)
    assert not wild.require_client_certificate.value  # optional client certificates
    # the insecure fallback also lets a certificate that fails verification through
    fallback = wild.common_tls_context.combined_validation_context
    assert fallback.validation_context_sds_secret_config.name == "default/fallback/ca"
    assert (
        fallback.default_validation_context.trust_chain_verification
        == common_pb2.CertificateValidationContext.ACCEPT_UNTRUSTED
    )
    assert list(wild.common_tls_context.alpn_protocols) == ["h2", "http/1.1"]

    passthrough = chains["db.example.com"]
    assert not passthrough.HasField("transport_socket")
    (net_filter,) = passthrough.filters
    proxy = tcp_proxy_pb2.TcpProxy()
    assert net_filter.typed_config.Unpack(proxy)
    assert proxy.cluster == OTHER and proxy.idle_timeout.seconds == 60

    # exactly the referenced secrets: certificates by name, CAs as "<name>/ca"
    assert list(resources[SECRET]) == [
        "default/client-ca/ca",
        "default/fallback",
        "default/fallback/ca",
        "default/wild",
        "default/www",
    ]
    assert list(resources[CLUSTER]) == [BACKEND, OTHER]
    assert_envoy_accepts(resources)


def test_https_hosts_of_one_listener_share_its_chain() -> None:
    """Hosts owned by one Gateway listener (same `sni`) are one chain and one route
    configuration; the chain is matched on the listener's hostname."""
    tls = TLSServer(secrets=("default/wild",))
    hosts = (
        VirtualHost("a", "a.example.org", routes=(route("a"),), tls=tls, sni="*.example.org"),
        VirtualHost("w", "*.example.org", routes=(route("w"),), tls=tls, sni="*.example.org"),
        VirtualHost("x", "x.example.com", routes=(route("x"),), tls=tls, sni="*"),
        VirtualHost("any", "*", tls=tls, sni="*"),
    )
    listener = Listener("https-443", "0.0.0.0", 443, Protocol.HTTPS, hosts)
    ir = IR(
        gateways=(Gateway(FLEET, (listener,)),),
        clusters=(cluster(BACKEND),),
        endpoints=(endpoints(BACKEND),),
        secrets=(tls_secret("default/wild", "*.example.org"),),
    )
    resources = fleet_of(ir)
    chains = {c.name: c for c in listener_of(resources, "https-443").filter_chains}
    assert list(chains) == ["*.example.org", "*"]
    assert list(chains["*.example.org"].filter_chain_match.server_names) == ["*.example.org"]
    wild = resources[ROUTE]["https-443/*.example.org"]
    assert isinstance(wild, route_pb2.RouteConfiguration)
    assert [list(vh.domains) for vh in wild.virtual_hosts] == [
        ["a.example.org"],
        ["*.example.org"],
        ["*"],
    ]
    default = resources[ROUTE]["https-443/*"]
    assert isinstance(default, route_pb2.RouteConfiguration)
    assert [list(vh.domains) for vh in default.virtual_hosts] == [
        ["x.example.com"],
        ["*"],
        ["*.example.org"],
    ]
    assert_envoy_accepts(resources)


def l4_ir() -> IR:
    tls_listener = Listener(
        "tls-8443",
        "0.0.0.0",
        8443,
        Protocol.TLS,
        (
            VirtualHost(
                "pass", "pass.example.com", passthrough=TCPProxy((WeightedCluster(BACKEND),))
            ),
            VirtualHost(
                "term",
                "term.example.com",
                tls=TLSServer(secrets=("default/www",)),
                passthrough=TCPProxy((WeightedCluster(OTHER),)),
            ),
        ),
    )
    tcp = Listener(
        "tcp-9000",
        "0.0.0.0",
        9000,
        Protocol.TCP,
        tcp_proxy=TCPProxy(
            (WeightedCluster(BACKEND, 1), WeightedCluster(OTHER, 3), WeightedCluster("gone", 0))
        ),
    )
    udp = Listener(
        "udp-5353", "0.0.0.0", 5353, Protocol.UDP, udp_proxy=UDPProxy((WeightedCluster(OTHER),))
    )
    empty = Listener("tcp-9001", "0.0.0.0", 9001, Protocol.TCP)
    return IR(
        gateways=(Gateway(FLEET, (tls_listener, tcp, udp, empty)),),
        clusters=(cluster(BACKEND), cluster(OTHER)),
        endpoints=(endpoints(BACKEND), endpoints(OTHER)),
        secrets=(tls_secret("default/www"),),
    )


def test_tls_tcp_udp_listeners() -> None:
    resources = fleet_of(l4_ir())
    assert list(resources[LISTENER]) == ["tcp-9000", "tls-8443", "udp-5353"]  # empty one dropped
    assert list(resources[ROUTE]) == []

    tls_chains = {c.name: c for c in listener_of(resources, "tls-8443").filter_chains}
    assert not tls_chains["pass.example.com"].HasField("transport_socket")
    assert tls_chains["term.example.com"].HasField("transport_socket")
    term_proxy = tcp_proxy_pb2.TcpProxy()
    assert tls_chains["term.example.com"].filters[0].typed_config.Unpack(term_proxy)
    assert term_proxy.cluster == OTHER

    tcp = listener_of(resources, "tcp-9000")
    proxy = tcp_proxy_pb2.TcpProxy()
    assert tcp.filter_chains[0].filters[0].typed_config.Unpack(proxy)
    got = [(c.name, c.weight) for c in proxy.weighted_clusters.clusters]
    assert got == [(BACKEND, 1), (OTHER, 3)]

    udp = listener_of(resources, "udp-5353")
    assert udp.address.socket_address.protocol == udp.address.socket_address.UDP
    assert udp.HasField("udp_listener_config")
    (listener_filter,) = udp.listener_filters
    config = udp_proxy_pb2.UdpProxyConfig()
    assert listener_filter.typed_config.Unpack(config)
    udp_route = udp_route_pb2.Route()
    assert config.matcher.on_no_match.action.typed_config.Unpack(udp_route)
    assert udp_route.cluster == OTHER

    assert list(resources[SECRET]) == ["default/www"]
    assert_envoy_accepts(resources)


def test_http_listener_ignores_tls_fields() -> None:
    """A virtual host with TLS on a plain HTTP listener is served as plain HTTP."""
    vh = VirtualHost("h", "h.example.com", routes=(route(),), tls=TLSServer(secrets=("x/y",)))
    ir = IR(
        gateways=(Gateway(FLEET, (Listener("http-80", "0.0.0.0", 80, Protocol.HTTP, (vh,)),)),),
        clusters=(cluster(BACKEND),),
    )
    resources = fleet_of(ir)
    assert not listener_of(resources, "http-80").filter_chains[0].HasField("transport_socket")
    assert resources[SECRET] == {}
    assert_envoy_accepts(resources)


def test_l4_without_usable_backend_goes_to_blackhole() -> None:
    zero = (WeightedCluster(BACKEND, 0),)
    ir = IR(
        gateways=(
            Gateway(
                FLEET,
                (
                    Listener("tcp", "0.0.0.0", 9000, Protocol.TCP, tcp_proxy=TCPProxy(zero)),
                    Listener("udp", "0.0.0.0", 9001, Protocol.UDP, udp_proxy=UDPProxy(zero)),
                ),
            ),
        ),
        clusters=(cluster(BACKEND),),
    )
    resources = fleet_of(ir)
    proxy = tcp_proxy_pb2.TcpProxy()
    assert listener_of(resources, "tcp").filter_chains[0].filters[0].typed_config.Unpack(proxy)
    assert proxy.cluster == names.BLACKHOLE_CLUSTER
    assert resources[CLUSTER] == {}  # nothing references the weight-0 backend
    assert_envoy_accepts(resources)
