"""RouteConfigurations: one per plain HTTP listener, one per TLS-terminating SNI chain.

Each IR VirtualHost becomes an Envoy VirtualHost whose domains are its hostname ("*" for any
host, "*.example.com" as an Envoy suffix wildcard, which like Gateway API matches one or more
labels and not the bare domain). Ports never need listing: `ignore_port_in_host_matching`
matches the Host header without its port (Gateway API ignores it), while the header itself
reaches the backend unchanged. A hostname that already appeared in the same configuration is
skipped (Envoy rejects duplicate domains; the translator should never produce one).

Routes keep IR order (the translator sorts them by precedence). See `route_match` for matches
and `route_action` for actions and policies. CORS policies go into `typed_per_filter_config`
of the virtual host or route, for the CORS filter the listener installs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2

from gateway_contour.envoy import names
from gateway_contour.envoy.common import add_header_options, glob_matcher, pack
from gateway_contour.envoy.memo import BuildMemo
from gateway_contour.envoy.ratelimit import LOCAL_RATELIMIT_FILTER, rate_limit_per_route
from gateway_contour.envoy.rbac import RBAC_FILTER, rbac_per_route
from gateway_contour.envoy.route_action import fill_direct_response, fill_forward, fill_redirect
from gateway_contour.envoy.route_match import fill_route_match
from gateway_contour.ir.model import (
    CORSPolicy,
    DirectResponse,
    Forward,
    IPFilter,
    LocalRateLimit,
    PathMatchKind,
    Redirect,
    Route,
    VirtualHost,
)


def route_configuration(
    name: str,
    virtual_hosts: Iterable[VirtualHost],
    scheme: str = "http",
    memo: BuildMemo | None = None,
) -> route_pb2.RouteConfiguration:
    """`scheme` is what clients speak on this listener ("http" or "https"): redirects use it
    to decide whether a port is the scheme's default."""
    out = route_pb2.RouteConfiguration(name=name, ignore_port_in_host_matching=True)
    seen: set[str] = set()
    for vh in virtual_hosts:
        if vh.hostname in seen:
            continue
        seen.add(vh.hostname)
        fill_virtual_host(out.virtual_hosts.add(), vh, scheme, memo)
    return out


def sni_route_configuration(
    name: str,
    hosts: Sequence[VirtualHost],
    elsewhere: Iterable[str] = (),
    memo: BuildMemo | None = None,
) -> route_pb2.RouteConfiguration:
    """The route configuration of one TLS-terminating chain: its hosts, then a host answering
    421 Misdirected Request for the server names of the other chains (`elsewhere`) and,
    unless the chain has a "*" host, for any other host. A client that reuses a connection
    for a host served under another SNI (HTTP/2 coalescing under a shared or wildcard
    certificate) is told to open a new one instead of getting this chain's answer."""
    out = route_configuration(name, hosts, scheme="https", memo=memo)
    served = {vh.hostname for vh in hosts}
    domains = sorted({d for d in elsewhere if d not in served and d != names.DEFAULT_SNI})
    if names.DEFAULT_SNI not in served:
        domains.append(names.DEFAULT_SNI)
    if domains:
        misdirected = out.virtual_hosts.add(name=names.MISDIRECTED_VHOST, domains=domains)
        catch_all = misdirected.routes.add(name=names.MISDIRECTED_VHOST)
        catch_all.match.prefix = "/"
        catch_all.direct_response.status = 421
    return out


def virtual_host(vh: VirtualHost, scheme: str = "http") -> rc.VirtualHost:
    out = rc.VirtualHost()
    fill_virtual_host(out, vh, scheme)
    return out


def fill_virtual_host(
    out: rc.VirtualHost, vh: VirtualHost, scheme: str, memo: BuildMemo | None = None
) -> None:
    """With `memo`, the Envoy route of an IR route seen in the last build (the very same
    object: translation reuses the routes of unchanged objects) is copied, not built. The
    memo keeps standalone route messages, never parts of a configuration (see memo.py)."""
    out.name = vh.name
    out.domains.append(vh.hostname)
    routes = out.routes
    if memo is None:
        for r in vh.routes:
            fill_route(routes.add(), r, scheme)
    else:
        kind = f"route/{scheme}"
        messages = []
        for r in vh.routes:
            known = memo.find(kind, r)
            if known is None:
                # built on its own, never in place: a message inside this configuration holds
                # the configuration's whole upb arena, so keeping it would keep every
                # superseded configuration alive for as long as the route is unchanged
                known = route(r, scheme)
                memo.keep(kind, r, known)
            messages.append(known)
        routes.extend(messages)  # copies: the configuration shares nothing with the memo
    if vh.cors:
        out.typed_per_filter_config[names.CORS_FILTER].CopyFrom(pack(cors_policy(vh.cors)))
    _fill_access_policies(out.typed_per_filter_config, vh.ip_filter, vh.rate_limit)


def route(r: Route, scheme: str = "http") -> rc.Route:
    out = rc.Route()
    fill_route(out, r, scheme)
    return out


def fill_route(out: rc.Route, r: Route, scheme: str) -> None:
    out.name = r.name
    fill_route_match(out.match, r.match)
    action = r.action
    # rewrites after a PathPrefix match follow Gateway API segment rules; after a plain
    # string prefix (Ingress, HTTPProxy) the prefix is swapped as is
    segments = r.match.path.kind is not PathMatchKind.STRING_PREFIX
    if isinstance(action, Forward):
        fill_forward(out, action, r, segments)
    elif isinstance(action, Redirect):
        fill_redirect(out.redirect, action, scheme, segments)
    elif isinstance(action, DirectResponse):
        fill_direct_response(out.direct_response, action)
    else:
        raise TypeError(f"unknown route action {type(action).__name__}")
    if r.request_headers:
        add_header_options(
            out.request_headers_to_add, out.request_headers_to_remove, r.request_headers, True
        )
    if r.response_headers:
        add_header_options(
            out.response_headers_to_add, out.response_headers_to_remove, r.response_headers, False
        )
    if r.cors:
        out.typed_per_filter_config[names.CORS_FILTER].CopyFrom(pack(cors_policy(r.cors)))
    _fill_access_policies(out.typed_per_filter_config, r.ip_filter, r.rate_limit)


def _fill_access_policies(
    out: Any, ip_filter: IPFilter | None, rate_limit: LocalRateLimit | None
) -> None:
    """IP filters and local rate limits: per-filter config for the RBAC and local_ratelimit
    filters the listener installs (see envoy/rbac.py, envoy/ratelimit.py)."""
    if ip_filter:
        out[RBAC_FILTER].CopyFrom(pack(rbac_per_route(ip_filter)))
    if rate_limit:
        out[LOCAL_RATELIMIT_FILTER].CopyFrom(pack(rate_limit_per_route(rate_limit)))


def cors_policy(cors: CORSPolicy) -> cors_pb2.CorsPolicy:
    out = cors_pb2.CorsPolicy(
        allow_origin_string_match=[glob_matcher(o) for o in cors.allow_origins],
        allow_methods=",".join(cors.allow_methods),
        allow_headers=",".join(cors.allow_headers),
        expose_headers=",".join(cors.expose_headers),
    )
    # a preflight from an origin the policy does not allow is answered here, not forwarded
    out.forward_not_matching_preflights.value = False
    if cors.allow_credentials:
        out.allow_credentials.value = True
    if cors.max_age is not None:
        out.max_age = str(cors.max_age)
    return out


def uses_cors(virtual_hosts: Iterable[VirtualHost]) -> bool:
    return any(vh.cors or any(r.cors for r in vh.routes) for vh in virtual_hosts)
