"""envoy/l4.py: tcp_proxy weights (the refused share to the blackhole cluster) and the UDP
proxy's split of sessions by the client port's last two digits."""

from __future__ import annotations

import re

from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from envoy.extensions.filters.udp.udp_proxy.v3 import route_pb2, udp_proxy_pb2
from hypothesis import given
from hypothesis import strategies as st

from gateway_contour.envoy import names
from gateway_contour.envoy.l4 import tcp_proxy_filter, two_digit_range, udp_proxy_filter
from gateway_contour.ir.model import TCPProxy, UDPProxy, WeightedCluster


@given(
    st.integers(0, 99).flatmap(lambda start: st.tuples(st.just(start), st.integers(start + 1, 100)))
)
def test_two_digit_range_matches_exactly_the_range(bounds: tuple[int, int]) -> None:
    start, end = bounds
    pattern = re.compile(two_digit_range(start, end))
    matched = [n for n in range(100) if pattern.fullmatch(f"{n:02d}")]
    assert matched == list(range(start, end))


def test_tcp_proxy_weights_and_refused_share() -> None:
    proxy = TCPProxy(
        (WeightedCluster("ns/a/80/x", 70), WeightedCluster("ns/b/80/x", 0)), invalid_weight=30
    )
    out = tcp_proxy_pb2.TcpProxy()
    tcp_proxy_filter("l", proxy).typed_config.Unpack(out)
    weights = {c.name: c.weight for c in out.weighted_clusters.clusters}
    assert weights == {names.cluster("ns/a/80/x"): 70, names.BLACKHOLE_CLUSTER: 30}
    # nothing valid at all: every connection is refused
    tcp_proxy_filter("l", TCPProxy((), invalid_weight=1)).typed_config.Unpack(out)
    assert out.cluster == names.BLACKHOLE_CLUSTER


def _udp_buckets(proxy: UDPProxy) -> dict[str, int]:
    """How many of the 100 last-two-digit buckets each cluster gets."""
    config = udp_proxy_pb2.UdpProxyConfig()
    udp_proxy_filter("l", proxy).typed_config.Unpack(config)
    rules = []
    for field_matcher in config.matcher.matcher_list.matchers:
        regex = field_matcher.predicate.single_predicate.value_match.safe_regex.regex
        route = route_pb2.Route()
        field_matcher.on_match.action.typed_config.Unpack(route)
        rules.append((re.compile(regex), route.cluster))
    default = route_pb2.Route()
    config.matcher.on_no_match.action.typed_config.Unpack(default)
    counts: dict[str, int] = {}
    for port in range(40000, 40100):  # every last-two-digit value once
        cluster = next((c for r, c in rules if r.fullmatch(str(port))), default.cluster)
        counts[cluster] = counts.get(cluster, 0) + 1
    return counts


def test_udp_sessions_split_by_weight() -> None:
    proxy = UDPProxy(
        (
            WeightedCluster("ns/a/53/x", 7),
            WeightedCluster("ns/b/53/x", 3),
            WeightedCluster("ns/c/53/x", 0),
        )
    )
    assert _udp_buckets(proxy) == {names.cluster("ns/a/53/x"): 70, names.cluster("ns/b/53/x"): 30}


def test_udp_refused_share_and_single_cluster() -> None:
    split = _udp_buckets(UDPProxy((WeightedCluster("ns/a/53/x", 1),), invalid_weight=3))
    assert split == {names.cluster("ns/a/53/x"): 25, names.BLACKHOLE_CLUSTER: 75}
    # one cluster: no predicates, everything goes there
    config = udp_proxy_pb2.UdpProxyConfig()
    udp_proxy_filter("l", UDPProxy((WeightedCluster("ns/a/53/x", 5),))).typed_config.Unpack(config)
    assert not config.matcher.matcher_list.matchers
    assert _udp_buckets(UDPProxy(())) == {names.BLACKHOLE_CLUSTER: 100}
