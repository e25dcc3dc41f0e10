"""IR Listener -> Envoy Listener, plus the RouteConfigurations its HTTP filter chains load.

HTTP: one filter chain with an HttpConnectionManager that loads its routes over RDS (ADS),
named after the listener. The connection manager trusts the peer address as the client
(`use_remote_address`), normalizes paths (merging adjacent slashes unless the IR's
HTTPSettings say not to: Contour's disableMergeSlashes), keeps the Host header as the client
sent it, port included (Gateway API wants the backend to see it; route configurations ignore
the port when matching hostnames), and lists websocket upgrades as disabled so that routes
asking for websockets enable them one by one.

HTTPS / TLS: a `tls_inspector` reads the SNI and each server name gets its own filter chain
matched on `server_names` ("*" is the chain with no server name, used when nothing else
matches). Terminating hosts share the chain of their `sni` (the Gateway listener owning
them), which carries a DownstreamTlsContext with certificates over SDS and its own
RouteConfiguration ("<listener>/<server name>") holding those hosts and answering 421
Misdirected Request for the hosts of the other chains (and for any host when the chain has
no "*" host): a request cannot reach another listener's routes by sending a Host that does
not go with its SNI (clients that coalesced connections retry on a new one), and one
listener's change re-sends one small route configuration. A passthrough host's chain has no
TLS context and a tcp_proxy; a host with both `tls` and `passthrough` terminates TLS and
proxies TCP. A server name already used on the listener is skipped (Envoy rejects identical
chain matches). A host with `fallback_tls` is served on its own chain and also on the "*"
chain, which then presents the fallback certificate (HTTPProxy's enableFallbackCertificate).

TCP: one chain with a tcp_proxy. UDP: a UDP socket with a udp_proxy listener filter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from envoy.config.core.v3 import address_pb2, base_pb2
from envoy.config.listener.v3 import listener_components_pb2 as lc
from envoy.config.listener.v3 import listener_pb2, udp_listener_config_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.listener.tls_inspector.v3 import tls_inspector_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2
from google.protobuf import wrappers_pb2

from gateway_contour.envoy import names
from gateway_contour.envoy.common import ads_config_source, dns_san_matcher, pack, sds_secret
from gateway_contour.envoy.compression import compressor_filter
from gateway_contour.envoy.l4 import tcp_proxy_filter, udp_proxy_filter
from gateway_contour.envoy.memo import BuildMemo
from gateway_contour.envoy.misdirected import checks_sni, sni_host_filter
from gateway_contour.envoy.ratelimit import rate_limit_http_filter, uses_rate_limit
from gateway_contour.envoy.rbac import rbac_http_filter, uses_ip_filter
from gateway_contour.envoy.route import route_configuration, sni_route_configuration, uses_cors
from gateway_contour.ir.model import HTTPSettings, Listener, Protocol, TLSServer, VirtualHost

_TLS_VERSIONS = {
    "1.0": common_pb2.TlsParameters.TLSv1_0,
    "1.1": common_pb2.TlsParameters.TLSv1_1,
    "1.2": common_pb2.TlsParameters.TLSv1_2,
    "1.3": common_pb2.TlsParameters.TLSv1_3,
}

RouteConfigs = list[route_pb2.RouteConfiguration]


def listener(
    ir_listener: Listener, memo: BuildMemo | None = None, http: HTTPSettings | None = None
) -> tuple[listener_pb2.Listener | None, RouteConfigs]:
    """The Envoy Listener for an IR listener and the route configurations it refers to;
    `http` shapes its HTTP connection managers.

    None when the listener has nothing to serve (a TLS listener without hosts, a TCP/UDP
    listener without a proxy): Envoy rejects listeners without filter chains.
    """
    protocol = ir_listener.protocol
    http = http if http is not None else HTTPSettings()
    if protocol is Protocol.HTTP:
        return _http_listener(ir_listener, memo, http)
    if protocol in (Protocol.HTTPS, Protocol.TLS):
        out, routes = _tls_listener(ir_listener, memo, http)
        return (out if out.filter_chains else None), routes
    if protocol is Protocol.TCP:
        return _tcp_listener(ir_listener), []
    if protocol is Protocol.UDP:
        return _udp_listener(ir_listener), []
    raise ValueError(f"unknown listener protocol {protocol}")


def _base(ir_listener: Listener, udp: bool = False) -> listener_pb2.Listener:
    socket = address_pb2.SocketAddress(address=ir_listener.address, port_value=ir_listener.port)
    if udp:
        socket.protocol = address_pb2.SocketAddress.UDP
    name = names.listener(ir_listener.name)
    return listener_pb2.Listener(
        name=name,
        stat_prefix=names.stat_prefix(name),
        address=address_pb2.Address(socket_address=socket),
    )


def served_virtual_hosts(ir_listener: Listener) -> list[VirtualHost]:
    """The virtual hosts that end up in Envoy config, in order: the first of each hostname,
    and on TLS listeners only those that terminate TLS or pass it through."""
    seen: set[str] = set()
    out = []
    tls = ir_listener.protocol in (Protocol.HTTPS, Protocol.TLS)
    for vh in ir_listener.virtual_hosts:
        if vh.hostname in seen or (tls and vh.tls is None and vh.passthrough is None):
            continue
        seen.add(vh.hostname)
        out.append(vh)
    return out


def _http_listener(
    ir_listener: Listener, memo: BuildMemo | None, http: HTTPSettings
) -> tuple[listener_pb2.Listener, RouteConfigs]:
    out = _base(ir_listener)
    route_name = names.http_route_config(ir_listener.name)
    hosts = served_virtual_hosts(ir_listener)
    hcm = http_connection_manager(
        ir_listener.name, route_name, cors=uses_cors(hosts), hosts=hosts, http=http
    )
    out.filter_chains.append(lc.FilterChain(filters=[hcm]))
    return out, [route_configuration(route_name, hosts, scheme="http", memo=memo)]


def http_connection_manager(
    stat_prefix: str,
    route_config_name: str,
    cors: bool,
    hosts: Sequence[VirtualHost] = (),
    http: HTTPSettings | None = None,
) -> lc.Filter:
    """`hosts` (the virtual hosts of the route configuration) decide which optional
    filters are installed: the SNI check of wildcard hosts, RBAC for IP filters,
    local_ratelimit for rate limits; `http` the response compressor (envoy/compression)."""
    http = http if http is not None else HTTPSettings()
    filters = []
    if checks_sni(hosts):
        filters.append(sni_host_filter())
    compressor = compressor_filter(http.compression)
    if compressor is not None:
        filters.append(compressor)
    if cors:
        filters.append(
            hcm_pb2.HttpFilter(name=names.CORS_FILTER, typed_config=pack(cors_pb2.Cors()))
        )
    if uses_ip_filter(hosts):
        filters.append(rbac_http_filter())
    if uses_rate_limit(hosts):
        filters.append(rate_limit_http_filter())
    filters.append(
        hcm_pb2.HttpFilter(name=names.ROUTER_FILTER, typed_config=pack(router_pb2.Router()))
    )
    config = hcm_pb2.HttpConnectionManager(
        codec_type=hcm_pb2.HttpConnectionManager.AUTO,
        stat_prefix=names.stat_prefix(stat_prefix),
        rds=hcm_pb2.Rds(config_source=ads_config_source(), route_config_name=route_config_name),
        http_filters=filters,
        use_remote_address=wrappers_pb2.BoolValue(value=True),
        normalize_path=wrappers_pb2.BoolValue(value=True),
        merge_slashes=http.merge_slashes,
        upgrade_configs=[
            hcm_pb2.HttpConnectionManager.UpgradeConfig(
                upgrade_type="websocket", enabled=wrappers_pb2.BoolValue(value=False)
            )
        ],
    )
    return lc.Filter(name=names.HCM_FILTER, typed_config=pack(config))


def _tls_listener(
    ir_listener: Listener, memo: BuildMemo | None, http: HTTPSettings
) -> tuple[listener_pb2.Listener, RouteConfigs]:
    out = _base(ir_listener)
    out.listener_filters.append(
        lc.ListenerFilter(
            name=names.TLS_INSPECTOR, typed_config=pack(tls_inspector_pb2.TlsInspector())
        )
    )
    # one chain per server name: terminating hosts gather under their `sni`, a passthrough
    # host is a chain of its own
    chains: dict[str, list[VirtualHost]] = {}
    for vh in served_virtual_hosts(ir_listener):
        server_name = vh.sni if vh.sni is not None and vh.passthrough is None else vh.hostname
        group = chains.setdefault(server_name, [])
        if not group or (group[0].passthrough is None and vh.passthrough is None):
            group.append(vh)
    _add_fallback_hosts(chains, served_virtual_hosts(ir_listener))
    routes: RouteConfigs = []
    for server_name, group in chains.items():
        first = group[0]
        chain = lc.FilterChain(name=names.filter_chain(server_name))
        if server_name != names.DEFAULT_SNI:
            chain.filter_chain_match.server_names.append(server_name)
        if first.tls is not None:
            chain.transport_socket.CopyFrom(
                base_pb2.TransportSocket(
                    name=names.TLS_TRANSPORT, typed_config=pack(downstream_tls(first.tls))
                )
            )
        if first.passthrough is not None:
            stat = f"{ir_listener.name}/{first.hostname}"
            chain.filters.append(tcp_proxy_filter(stat, first.passthrough))
        else:
            route_name = names.sni_route_config(ir_listener.name, server_name)
            chain.filters.append(
                http_connection_manager(
                    ir_listener.name, route_name, cors=uses_cors(group), hosts=group, http=http
                )
            )
            elsewhere = [name for name in chains if name != server_name]
            routes.append(sni_route_configuration(route_name, group, elsewhere, memo))
        out.filter_chains.append(chain)
    return out, routes


def _add_fallback_hosts(chains: dict[str, list[VirtualHost]], hosts: list[VirtualHost]) -> None:
    """Hosts with `fallback_tls` also join the default chain, presenting that TLS (the chain
    is made for them when no "*" host has one; a terminating "*" host keeps its own)."""
    joining = [
        dataclasses.replace(vh, tls=vh.fallback_tls, sni=names.DEFAULT_SNI)
        for vh in hosts
        if vh.fallback_tls is not None and vh.tls is not None and vh.passthrough is None
    ]
    if not joining:
        return
    group = chains.setdefault(names.DEFAULT_SNI, [])
    if not group or group[0].passthrough is None:
        group.extend(joining)


def downstream_tls(tls: TLSServer) -> tls_pb2.DownstreamTlsContext:
    out = tls_pb2.DownstreamTlsContext()
    common = out.common_tls_context  # a reference: filled in place
    common.tls_params.tls_minimum_protocol_version = _TLS_VERSIONS.get(
        tls.min_version, common_pb2.TlsParameters.TLSv1_2
    )
    common.tls_params.tls_maximum_protocol_version = _TLS_VERSIONS.get(
        tls.max_version, common_pb2.TlsParameters.TLSv1_3
    )
    common.tls_certificate_sds_secret_configs.extend(
        sds_secret(names.cert_secret(s)) for s in tls.secrets
    )
    common.alpn_protocols.extend(tls.alpn)
    validation = tls.client_validation
    if validation is not None:
        ca = sds_secret(names.ca_secret(validation.ca_secret))
        if validation.subject_alt_names or validation.optional:
            combined = common.combined_validation_context
            combined.validation_context_sds_secret_config.CopyFrom(ca)
            default = combined.default_validation_context
            default.match_typed_subject_alt_names.extend(
                dns_san_matcher(san) for san in validation.subject_alt_names
            )
            if validation.optional:
                # the insecure fallback: a certificate that fails verification is let
                # through like a missing one
                default.trust_chain_verification = (
                    common_pb2.CertificateValidationContext.ACCEPT_UNTRUSTED
                )
        else:
            common.validation_context_sds_secret_config.CopyFrom(ca)
        out.require_client_certificate.value = not validation.optional
    return out


def _tcp_listener(ir_listener: Listener) -> listener_pb2.Listener | None:
    if ir_listener.tcp_proxy is None:
        return None
    out = _base(ir_listener)
    out.filter_chains.append(
        lc.FilterChain(filters=[tcp_proxy_filter(ir_listener.name, ir_listener.tcp_proxy)])
    )
    return out


def _udp_listener(ir_listener: Listener) -> listener_pb2.Listener | None:
    if ir_listener.udp_proxy is None:
        return None
    out = _base(ir_listener, udp=True)
    out.udp_listener_config.CopyFrom(udp_listener_config_pb2.UdpListenerConfig())
    out.listener_filters.append(udp_proxy_filter(ir_listener.name, ir_listener.udp_proxy))
    return out
