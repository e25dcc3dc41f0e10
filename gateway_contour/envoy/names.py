"""Every Envoy resource name, derived from the IR and stable across rebuilds.

Names are what Envoy caches by and what Delta xDS diffs on, so they depend only on IR names,
never on order or on anything random:

- Listener: the IR `Listener.name` (unique within a fleet).
- RouteConfiguration of a plain HTTP listener: the listener name.
- RouteConfiguration of a TLS-terminating filter chain (one per SNI on HTTPS listeners):
  `"<listener>/<hostname>"`; the default chain (hostname "*") is `"<listener>/*"`.
- Filter chain of an SNI: its hostname (the default chain: "*").
- Cluster: the IR `Cluster.name` ("namespace/service/port/hash"); its EDS `service_name` and
  its ClusterLoadAssignment are named the same.
- Secret holding a certificate and key: the IR `Secret.name` ("namespace/name").
- `BLACKHOLE_CLUSTER`: never defined; traffic for unresolvable backends goes there.
- Secret holding a CA bundle (validation context): `"<secret>/ca"`. Kubernetes names contain
  no "/", so it never collides with a certificate secret, and one Kubernetes Secret that holds
  both tls.crt and ca.crt can serve as either.

Stat prefixes are the same names with characters other than letters, digits, "_", "-" and
"." replaced by "_" so Envoy's stat tree stays readable.
"""

from __future__ import annotations

import re

_UNSAFE_STAT = re.compile(r"[^A-Za-z0-9_.\-]")

HCM_FILTER = "envoy.filters.network.http_connection_manager"
TCP_PROXY_FILTER = "envoy.filters.network.tcp_proxy"
UDP_PROXY_FILTER = "envoy.filters.udp_listener.udp_proxy"
ROUTER_FILTER = "envoy.filters.http.router"
CORS_FILTER = "envoy.filters.http.cors"
TLS_INSPECTOR = "envoy.filters.listener.tls_inspector"
TLS_TRANSPORT = "envoy.transport_sockets.tls"
HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
DEFAULT_SNI = "*"
# the catch-all virtual host (and its route) of SNI route configurations: answers 421
MISDIRECTED_VHOST = "gateway-contour/misdirected"
# A cluster no fleet ever defines: the share of traffic sent there gets the route's
# `cluster_not_found_response_code` (backends that could not be resolved), and a tcp_proxy
# pointing at it refuses connections.
BLACKHOLE_CLUSTER = "gateway-contour/blackhole"


def listener(listener_name: str) -> str:
    return listener_name


def http_route_config(listener_name: str) -> str:
    """The RouteConfiguration of a plain HTTP listener."""
    return listener_name


def sni_route_config(listener_name: str, hostname: str) -> str:
    """The RouteConfiguration of one TLS-terminating filter chain."""
    return f"{listener_name}/{hostname}"


def filter_chain(hostname: str) -> str:
    return hostname


def cluster(cluster_name: str) -> str:
    return cluster_name


def cert_secret(secret_name: str) -> str:
    """The SDS name of a certificate + key."""
    return secret_name


def ca_secret(secret_name: str) -> str:
    """The SDS name of a CA bundle (a validation context)."""
    return f"{secret_name}/ca"


def stat_prefix(name: str) -> str:
    return _UNSAFE_STAT.sub("_", name)
