"""Layer-4 proxying: IR TCPProxy / UDPProxy -> Envoy tcp_proxy network filter and udp_proxy
listener filter.

tcp_proxy sends to one cluster, or splits connections by weight over several (weight-0
entries dropped). udp_proxy routes every datagram session to one cluster (Envoy's UDP proxy
has no weighted split): the first backend with a positive weight.
"""

from __future__ import annotations

from envoy.config.listener.v3 import listener_components_pb2 as lc
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from envoy.extensions.filters.udp.udp_proxy.v3 import route_pb2 as udp_route_pb2
from envoy.extensions.filters.udp.udp_proxy.v3 import udp_proxy_pb2
from xds.core.v3 import extension_pb2
from xds.type.matcher.v3 import matcher_pb2

from gateway_contour.envoy import names
from gateway_contour.envoy.common import duration, pack
from gateway_contour.ir.model import TCPProxy, UDPProxy, WeightedCluster


def positive_clusters(clusters: tuple[WeightedCluster, ...]) -> list[WeightedCluster]:
    return [wc for wc in clusters if wc.weight > 0]


def tcp_proxy_filter(stat_prefix: str, proxy: TCPProxy) -> lc.Filter:
    out = tcp_proxy_pb2.TcpProxy(stat_prefix=names.stat_prefix(stat_prefix))
    positive = positive_clusters(proxy.clusters)
    if len(positive) == 1:
        out.cluster = names.cluster(positive[0].cluster)
    elif positive:
        out.weighted_clusters.clusters.extend(
            tcp_proxy_pb2.TcpProxy.WeightedCluster.ClusterWeight(
                name=names.cluster(wc.cluster), weight=wc.weight
            )
            for wc in positive
        )
    else:
        out.cluster = names.BLACKHOLE_CLUSTER
    if proxy.idle_timeout is not None:
        out.idle_timeout.CopyFrom(duration(proxy.idle_timeout))
    return lc.Filter(name=names.TCP_PROXY_FILTER, typed_config=pack(out))


def udp_proxy_filter(stat_prefix: str, proxy: UDPProxy) -> lc.ListenerFilter:
    positive = positive_clusters(proxy.clusters)
    cluster = names.cluster(positive[0].cluster) if positive else names.BLACKHOLE_CLUSTER
    route = extension_pb2.TypedExtensionConfig(
        name="route", typed_config=pack(udp_route_pb2.Route(cluster=cluster))
    )
    config = udp_proxy_pb2.UdpProxyConfig(
        stat_prefix=names.stat_prefix(stat_prefix),
        matcher=matcher_pb2.Matcher(on_no_match=matcher_pb2.Matcher.OnMatch(action=route)),
    )
    return lc.ListenerFilter(name=names.UDP_PROXY_FILTER, typed_config=pack(config))
