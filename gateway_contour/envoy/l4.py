"""Layer-4 proxying: IR TCPProxy / UDPProxy -> Envoy tcp_proxy network filter and udp_proxy
listener filter.

tcp_proxy sends to one cluster, or splits connections by weight over several (weight-0
entries dropped); the weight of unresolvable backends goes to `names.BLACKHOLE_CLUSTER`,
which no fleet defines, so that share of connections is closed at once.

udp_proxy routes each datagram session to the cluster its matcher picks, and Envoy's UDP
routes carry one cluster, never a weighted set. A weighted split is therefore made on the
session's client port: its last two decimal digits (00-99, uniform for the kernel's random
ephemeral ports) fall into consecutive buckets sized by weight, one regular-expression
predicate per cluster, the last cluster taking whatever matches no predicate. One session
stays on one backend, as with Envoy's own per-session load balancing.
"""

from __future__ import annotations

from envoy.config.listener.v3 import listener_components_pb2 as lc
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from envoy.extensions.filters.udp.udp_proxy.v3 import route_pb2 as udp_route_pb2
from envoy.extensions.filters.udp.udp_proxy.v3 import udp_proxy_pb2
from envoy.extensions.matching.common_inputs.network.v3 import network_inputs_pb2
from xds.core.v3 import extension_pb2
from xds.type.matcher.v3 import matcher_pb2, regex_pb2, string_pb2

from gateway_contour.envoy import names
from gateway_contour.envoy.common import duration, pack
from gateway_contour.ir.model import TCPProxy, UDPProxy, WeightedCluster

SOURCE_PORT_INPUT = "envoy.matching.inputs.source_port"
_BUCKETS = 100  # the last two digits of the client port


def positive_clusters(clusters: tuple[WeightedCluster, ...]) -> list[WeightedCluster]:
    return [wc for wc in clusters if wc.weight > 0]


def _targets(clusters: tuple[WeightedCluster, ...], invalid_weight: int) -> list[tuple[str, int]]:
    """(Envoy cluster name, weight) for every positive weight, the refused share last."""
    out = [(names.cluster(wc.cluster), wc.weight) for wc in positive_clusters(clusters)]
    if invalid_weight > 0:
        out.append((names.BLACKHOLE_CLUSTER, invalid_weight))
    return out


def tcp_proxy_filter(stat_prefix: str, proxy: TCPProxy) -> lc.Filter:
    out = tcp_proxy_pb2.TcpProxy(stat_prefix=names.stat_prefix(stat_prefix))
    targets = _targets(proxy.clusters, proxy.invalid_weight)
    if len(targets) == 1:
        out.cluster = targets[0][0]
    elif targets:
        out.weighted_clusters.clusters.extend(
            tcp_proxy_pb2.TcpProxy.WeightedCluster.ClusterWeight(name=name, weight=weight)
            for name, weight in targets
        )
    else:
        out.cluster = names.BLACKHOLE_CLUSTER
    if proxy.idle_timeout is not None:
        out.idle_timeout.CopyFrom(duration(proxy.idle_timeout))
    return lc.Filter(name=names.TCP_PROXY_FILTER, typed_config=pack(out))


def udp_proxy_filter(stat_prefix: str, proxy: UDPProxy) -> lc.ListenerFilter:
    targets = _targets(proxy.clusters, proxy.invalid_weight) or [(names.BLACKHOLE_CLUSTER, 1)]
    matcher = matcher_pb2.Matcher(on_no_match=_udp_route(targets[-1][0]))
    if len(targets) > 1:
        total = sum(weight for _, weight in targets)
        start = cumulative = 0
        for name, weight in targets[:-1]:
            cumulative += weight
            end = round(_BUCKETS * cumulative / total)
            if end > start:
                matcher.matcher_list.matchers.append(
                    matcher_pb2.Matcher.MatcherList.FieldMatcher(
                        predicate=_port_digits_predicate(start, end), on_match=_udp_route(name)
                    )
                )
            start = end
    config = udp_proxy_pb2.UdpProxyConfig(stat_prefix=names.stat_prefix(stat_prefix))
    config.matcher.CopyFrom(matcher)
    return lc.ListenerFilter(name=names.UDP_PROXY_FILTER, typed_config=pack(config))


def _udp_route(cluster: str) -> matcher_pb2.Matcher.OnMatch:
    route = extension_pb2.TypedExtensionConfig(
        name="route", typed_config=pack(udp_route_pb2.Route(cluster=cluster))
    )
    return matcher_pb2.Matcher.OnMatch(action=route)


def _port_digits_predicate(start: int, end: int) -> matcher_pb2.Matcher.MatcherList.Predicate:
    """Matches client ports whose last two digits are in [start, end)."""
    regex = string_pb2.StringMatcher(
        safe_regex=regex_pb2.RegexMatcher(
            google_re2=regex_pb2.RegexMatcher.GoogleRE2(),
            regex=rf"^\d*(?:{two_digit_range(start, end)})$",
        )
    )
    source_port = extension_pb2.TypedExtensionConfig(
        name=SOURCE_PORT_INPUT, typed_config=pack(network_inputs_pb2.SourcePortInput())
    )
    single = matcher_pb2.Matcher.MatcherList.Predicate.SinglePredicate(
        input=source_port, value_match=regex
    )
    return matcher_pb2.Matcher.MatcherList.Predicate(single_predicate=single)


def two_digit_range(start: int, end: int) -> str:
    """A regex alternation matching the two-digit strings "start".."end-1" (0 <= start <
    end <= 100): whole tens as one character class, partial tens digit by digit."""
    parts = []
    value = start
    while value < end:
        tens, units = divmod(value, 10)
        if units == 0 and value + 10 <= end:
            last_tens = min(end // 10, 10) - 1
            parts.append(f"[{tens}-{last_tens}][0-9]")
            value = (last_tens + 1) * 10
        else:
            last_units = min(9, end - tens * 10 - 1)
            parts.append(f"{tens}[{units}-{last_units}]")
            value = tens * 10 + last_units + 1
    return "|".join(parts)
