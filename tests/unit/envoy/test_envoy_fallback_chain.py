"""VirtualHost.fallback_tls (HTTPProxy's fallback certificate) in the Envoy stage: the host
keeps its own SNI chain and also joins the default chain, which presents the fallback
certificate and sends every other host away (421)."""

from __future__ import annotations

from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2
from envoy_testlib import (
    BACKEND,
    FLEET,
    assert_envoy_accepts,
    cluster,
    endpoints,
    fleet_of,
    route,
    tls_secret,
)

from gateway_contour.envoy.resources import LISTENER, ROUTE, SECRET
from gateway_contour.ir.model import IR, Gateway, Listener, Protocol, TLSServer, VirtualHost

FALLBACK = TLSServer(secrets=("certs/fallback",))


def _ir(*hosts: VirtualHost) -> IR:
    listener = Listener("https", "0.0.0.0", 8443, Protocol.HTTPS, hosts)
    return IR(
        gateways=(Gateway(FLEET, (listener,)),),
        clusters=(cluster(BACKEND),),
        endpoints=(endpoints(BACKEND),),
        secrets=(
            tls_secret("certs/fallback", "fallback.invalid"),
            tls_secret("default/a", "a.example.com"),
            tls_secret("default/b", "b.example.com"),
            tls_secret("default/any", "any.example.com"),
        ),
    )


def _host(name: str, fallback: bool) -> VirtualHost:
    return VirtualHost(
        name,
        f"{name}.example.com",
        routes=(route(name),),
        tls=TLSServer(secrets=(f"default/{name}",)),
        fallback_tls=FALLBACK if fallback else None,
    )


def _certificates(chain: listener_pb2.FilterChain) -> list[str]:
    tls = tls_pb2.DownstreamTlsContext()
    assert chain.transport_socket.typed_config.Unpack(tls)
    return [s.name for s in tls.common_tls_context.tls_certificate_sds_secret_configs]


def _domains(resources: dict, name: str) -> list[list[str]]:
    config = resources[ROUTE][name]
    assert isinstance(config, route_pb2.RouteConfiguration)
    return [list(vh.domains) for vh in config.virtual_hosts]


def test_fallback_hosts_join_a_default_chain_with_the_fallback_certificate() -> None:
    resources = fleet_of(_ir(_host("a", True), _host("b", False)))
    lst = resources[LISTENER]["https"]
    assert isinstance(lst, listener_pb2.Listener)
    chains = {c.name: c for c in lst.filter_chains}
    assert list(chains) == ["a.example.com", "b.example.com", "*"]
    assert not chains["*"].filter_chain_match.server_names
    assert _certificates(chains["*"]) == ["certs/fallback"]
    assert _certificates(chains["a.example.com"]) == ["default/a"]  # its own chain stays
    # the default chain serves only the host that enabled the fallback
    assert _domains(resources, "https/*") == [["a.example.com"], ["b.example.com", "*"]]
    assert _domains(resources, "https/a.example.com") == [["a.example.com"], ["b.example.com", "*"]]
    assert "certs/fallback" in resources[SECRET]
    assert_envoy_accepts(resources)


def test_no_fallback_host_no_default_chain() -> None:
    resources = fleet_of(_ir(_host("a", False), _host("b", False)))
    lst = resources[LISTENER]["https"]
    assert isinstance(lst, listener_pb2.Listener)
    assert [c.name for c in lst.filter_chains] == ["a.example.com", "b.example.com"]
    assert "certs/fallback" not in resources[SECRET]


def test_a_terminating_star_host_keeps_the_default_chain() -> None:
    star = VirtualHost("any", "*", routes=(route("any"),), tls=TLSServer(secrets=("default/any",)))
    resources = fleet_of(_ir(_host("a", True), star))
    lst = resources[LISTENER]["https"]
    assert isinstance(lst, listener_pb2.Listener)
    chains = {c.name: c for c in lst.filter_chains}
    assert list(chains) == ["a.example.com", "*"]
    assert _certificates(chains["*"]) == ["default/any"]
    # the fallback host is still served there, next to the "*" host
    assert _domains(resources, "https/*") == [["*"], ["a.example.com"]]
    assert_envoy_accepts(resources)
