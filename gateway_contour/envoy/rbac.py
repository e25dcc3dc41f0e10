"""IR IPFilter -> Envoy's RBAC HTTP filter.

The connection manager installs the filter without rules (it then enforces nothing) when
any host or route of its route configuration has an IP filter; each such virtual host or
route carries an `RBACPerRoute` in `typed_per_filter_config` (a route's replaces its virtual
host's, as Envoy resolves the most specific one). Allow lists become an ALLOW policy (anyone
else gets 403), deny lists a DENY policy. `peer` rules match the TCP peer
(`direct_remote_ip`); the others the client address Envoy derived (`remote_ip`, which with
`use_remote_address` is the peer unless trusted hops forwarded it).
"""

from __future__ import annotations

from collections.abc import Iterable

from envoy.config.core.v3 import address_pb2
from envoy.config.rbac.v3 import rbac_pb2 as rbac_config
from envoy.extensions.filters.http.rbac.v3 import rbac_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from gateway_contour.envoy.common import pack
from gateway_contour.ir.model import IPFilter, IPRule, VirtualHost

RBAC_FILTER = "envoy.filters.http.rbac"
_POLICY = "ip-filter"


def uses_ip_filter(virtual_hosts: Iterable[VirtualHost]) -> bool:
    return any(vh.ip_filter or any(r.ip_filter for r in vh.routes) for vh in virtual_hosts)


def rbac_http_filter() -> hcm_pb2.HttpFilter:
    return hcm_pb2.HttpFilter(name=RBAC_FILTER, typed_config=pack(rbac_pb2.RBAC()))


def rbac_per_route(ip_filter: IPFilter) -> rbac_pb2.RBACPerRoute:
    allow = bool(ip_filter.allow)
    rules = rbac_config.RBAC(action=rbac_config.RBAC.ALLOW if allow else rbac_config.RBAC.DENY)
    policy = rules.policies[_POLICY]
    policy.permissions.add().any = True
    for rule in ip_filter.allow if allow else ip_filter.deny:
        _principal(policy.principals.add(), rule)
    return rbac_pb2.RBACPerRoute(rbac=rbac_pb2.RBAC(rules=rules))


def _principal(out: rbac_config.Principal, rule: IPRule) -> None:
    address, _, length = rule.cidr.partition("/")
    cidr = address_pb2.CidrRange(address_prefix=address)
    cidr.prefix_len.value = int(length) if length else (128 if ":" in address else 32)
    (out.direct_remote_ip if rule.peer else out.remote_ip).CopyFrom(cidr)
