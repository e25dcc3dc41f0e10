"""IR LocalRateLimit -> Envoy's local_ratelimit HTTP filter.

The connection manager installs the filter without a token bucket (it then limits nothing)
when any host or route of its route configuration has a limit; each such virtual host or
route carries its own `LocalRateLimit` in `typed_per_filter_config` (a route's replaces its
virtual host's). The bucket holds `requests + burst` tokens and gets `requests` back every
`unit` seconds; the limit is enabled and enforced for every request.
"""

from __future__ import annotations

from collections.abc import Iterable

from envoy.config.core.v3 import base_pb2
from envoy.extensions.filters.http.local_ratelimit.v3 import local_rate_limit_pb2 as lrl_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.type.v3 import percent_pb2

from gateway_contour.envoy.common import pack, set_duration
from gateway_contour.ir.model import LocalRateLimit, VirtualHost

LOCAL_RATELIMIT_FILTER = "envoy.filters.http.local_ratelimit"
_STAT_PREFIX = "local_rate_limit"


def uses_rate_limit(virtual_hosts: Iterable[VirtualHost]) -> bool:
    return any(vh.rate_limit or any(r.rate_limit for r in vh.routes) for vh in virtual_hosts)


def rate_limit_http_filter() -> hcm_pb2.HttpFilter:
    return hcm_pb2.HttpFilter(
        name=LOCAL_RATELIMIT_FILTER,
        typed_config=pack(lrl_pb2.LocalRateLimit(stat_prefix=_STAT_PREFIX)),
    )


def rate_limit_per_route(limit: LocalRateLimit) -> lrl_pb2.LocalRateLimit:
    out = lrl_pb2.LocalRateLimit(stat_prefix=_STAT_PREFIX)
    out.token_bucket.max_tokens = limit.requests + limit.burst
    out.token_bucket.tokens_per_fill.value = limit.requests
    set_duration(out.token_bucket.fill_interval, float(limit.unit))
    for fraction, key in (
        (out.filter_enabled, "local_rate_limit_enabled"),
        (out.filter_enforced, "local_rate_limit_enforced"),
    ):
        fraction.runtime_key = key
        fraction.default_value.numerator = 100
        fraction.default_value.denominator = percent_pb2.FractionalPercent.HUNDRED
    if limit.status != 429:
        out.status.code = limit.status
    for header in limit.response_headers:
        option = out.response_headers_to_add.add()
        option.header.key = header.name
        option.header.value = header.value
        option.append_action = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
    return out
