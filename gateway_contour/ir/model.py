"""The internal route model: one frozen, deterministic description of what Envoy must do.

Every source API is translated into these types and nothing downstream looks at a source
object again. The model is Envoy-aware in its shapes (listeners per port, virtual hosts per
hostname, clusters per backend port) but carries no protobuf: `envoy/` turns it into xDS.

How the source APIs map onto it
-------------------------------

Gateway API
    Each Gateway of our GatewayClass is one `Gateway` (one Envoy fleet). Its listeners that
    share a port share one `Listener`: plain HTTP listeners contribute `VirtualHost`s keyed by
    hostname, HTTPS listeners contribute `VirtualHost`s that carry a `TLSServer` (one filter
    chain per SNI), TLS passthrough listeners contribute `VirtualHost`s with `passthrough` set,
    TCP/UDP listeners set `tcp_proxy`/`udp_proxy`. Each HTTPRoute rule x match becomes a `Route`
    in every virtual host whose hostname the route intersects, ordered by Gateway API
    precedence. backendRefs become `WeightedCluster`s of a `Forward` action; filters become
    `Redirect`, `HeaderModifier`, `Rewrite`, `Mirror`; timeouts and retries become
    `Timeouts` and `RetryPolicy`. Each (Service, port, protocol, TLS) becomes a `Cluster` whose
    endpoints come from EndpointSlices.
Ingress
    All Ingresses of our class are merged into the listeners of one implicit `Gateway`
    shared with HTTPProxy (`translate/legacy.py`: plain HTTP, and HTTPS when any Ingress
    has TLS). Each rule host is a `VirtualHost`; paths become `Route`s (Exact -> exact,
    Prefix -> segment prefix, ImplementationSpecific -> string prefix or regex); rules
    without a host and the default backend are routes of the `*` host, which every plain
    HTTP host also serves after its own; `spec.tls` gives the host a `TLSServer` on the
    HTTPS listener. Contour's annotations map onto route policies (timeouts, retries,
    websocket, redirects) and cluster settings (protocol, upstream TLS, circuit breakers).
HTTPProxy
    A root HTTPProxy is one `VirtualHost` (with `TLSServer` when `virtualhost.tls` is set, or
    `passthrough` for TLS passthrough); included proxies contribute routes with their include
    conditions prepended to the match. `services` become weighted clusters, `mirror` services
    become `Mirror`s, `requestHeadersPolicy`/`responseHeadersPolicy` become `HeaderModifier`s,
    `pathRewritePolicy` a `Rewrite`, `tcpproxy` a `TCPProxy`, `loadBalancerPolicy` a cluster
    `lb_policy`, health checks a `HealthCheck`, `ipAllowPolicy`/`ipDenyPolicy` an `IPFilter`
    and `rateLimitPolicy.local` a `LocalRateLimit` (on the virtual host or the route).

Conventions: tuples everywhere (hashable, deterministic order); names are stable and
derived, never random; secrets are referenced by name and carried in `IR.secrets`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Protocol(enum.StrEnum):
    """What an Envoy listener speaks."""

    HTTP = "HTTP"
    HTTPS = "HTTPS"  # TLS terminated by Envoy, HTTP inside; may also carry passthrough hosts
    TLS = "TLS"  # SNI routing only (passthrough or terminate-to-TCP)
    TCP = "TCP"
    UDP = "UDP"


class PathMatchKind(enum.StrEnum):
    EXACT = "Exact"
    PREFIX = "PathPrefix"  # Gateway API semantics: matches whole path segments
    STRING_PREFIX = "StringPrefix"  # plain string prefix (Ingress, HTTPProxy)
    REGEX = "RegularExpression"


class StringMatchKind(enum.StrEnum):
    EXACT = "Exact"
    REGEX = "RegularExpression"
    PREFIX = "Prefix"
    SUFFIX = "Suffix"
    CONTAINS = "Contains"
    PRESENT = "Present"


# ---------------------------------------------------------------- matches


@dataclass(frozen=True, slots=True)
class PathMatch:
    kind: PathMatchKind = PathMatchKind.PREFIX
    value: str = "/"


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    name: str  # lower-cased by the translator
    value: str = ""
    kind: StringMatchKind = StringMatchKind.EXACT
    invert: bool = False  # HTTPProxy notpresent / notcontains / notexact
    ignore_case: bool = False
    # a missing header is matched as "" (HTTPProxy treatMissingAsEmpty): an inverted match
    # then holds for a request without it
    treat_missing_as_empty: bool = False


@dataclass(frozen=True, slots=True)
class QueryMatch:
    name: str  # case-sensitive, as the spec says
    value: str = ""
    kind: StringMatchKind = StringMatchKind.EXACT
    ignore_case: bool = False


@dataclass(frozen=True, slots=True)
class Match:
    path: PathMatch = field(default_factory=PathMatch)
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[QueryMatch, ...] = ()
    method: str | None = None  # matched on the :method pseudo-header
    grpc: bool = False  # only gRPC requests (content-type application/grpc)


# ---------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class WeightedCluster:
    cluster: str  # a Cluster.name in IR.clusters
    weight: int = 1
    # per-backend filters (Gateway API backendRef filters)
    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None


@dataclass(frozen=True, slots=True)
class Forward:
    """Send the request upstream, split by weight. Weights of zero are kept for status/debug
    and dropped by the envoy builder; a Forward with no positive weight answers `status`."""

    clusters: tuple[WeightedCluster, ...]
    # answer sent when no backend can take traffic (all weights 0, or a backend is invalid)
    unavailable_status: int = 500
    # summed weight of backends that could not be resolved (Gateway API: that share of the
    # requests gets `unavailable_status`; with no positive cluster weight, all requests do)
    invalid_weight: int = 0


@dataclass(frozen=True, slots=True)
class Redirect:
    """A redirect; None fields keep the request's value."""

    scheme: str | None = None
    hostname: str | None = None
    port: int | None = None
    path: PathRewrite | None = None
    status_code: int = 302
    # scheme change without explicit port: drop the port (Gateway API rule)
    strip_port: bool = False
    # write `port` into Location even when it is the scheme's default: the client's Host
    # carries a port of its own (a listener off its scheme's default port), which Envoy
    # would otherwise keep
    keep_port: bool = False


@dataclass(frozen=True, slots=True)
class DirectResponse:
    status: int
    body: str | None = None


Action = Forward | Redirect | DirectResponse


# ---------------------------------------------------------------- policies


@dataclass(frozen=True, slots=True)
class HeaderValue:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class HeaderModifier:
    set: tuple[HeaderValue, ...] = ()
    add: tuple[HeaderValue, ...] = ()
    remove: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.set or self.add or self.remove)


class PathRewriteKind(enum.StrEnum):
    FULL = "ReplaceFullPath"
    PREFIX = "ReplacePrefixMatch"


@dataclass(frozen=True, slots=True)
class PathRewrite:
    kind: PathRewriteKind
    value: str
    # for PREFIX: the prefix of the route's match that is replaced
    matched_prefix: str = "/"


@dataclass(frozen=True, slots=True)
class Rewrite:
    hostname: str | None = None
    path: PathRewrite | None = None
    # Host is rewritten to the value of this request header (HTTPProxy `%REQ(name)%`)
    hostname_header: str | None = None


@dataclass(frozen=True, slots=True)
class Mirror:
    cluster: str
    percent: float = 100.0  # 0..100, fractions allowed


@dataclass(frozen=True, slots=True)
class Timeouts:
    request: float | None = None  # seconds; 0 means no timeout
    backend_request: float | None = None  # per try
    idle: float | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 1
    per_try_timeout: float | None = None
    retry_on: tuple[str, ...] = ("5xx",)
    status_codes: tuple[int, ...] = ()
    backoff_base: float | None = None


@dataclass(frozen=True, slots=True)
class CORSPolicy:
    allow_origins: tuple[str, ...] = ()  # exact origins or patterns with '*'
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


@dataclass(frozen=True, slots=True)
class HashPolicy:
    """One key for consistent hashing (clusters with a RING_HASH or MAGLEV lb_policy): a
    request header, a query parameter, a cookie (a session cookie `cookie` is set on the
    response when the request has none), or the client's source IP. With `terminal`, later
    keys are not consulted once this one yields a hash."""

    header: str | None = None
    query_parameter: str | None = None
    cookie: str | None = None
    source_ip: bool = False
    terminal: bool = False


@dataclass(frozen=True, slots=True)
class IPRule:
    """A client address range. `peer`: the address of the TCP peer itself; otherwise the
    remote client address (which honours X-Forwarded-For from trusted hops)."""

    cidr: str  # "10.0.0.0/8", "192.168.1.7/32", "::1/128"
    peer: bool = False


@dataclass(frozen=True, slots=True)
class IPFilter:
    """Who may send requests: with `allow` only matching clients, with `deny` everyone but
    matching clients (403 otherwise). A route's filter replaces its virtual host's."""

    allow: tuple[IPRule, ...] = ()
    deny: tuple[IPRule, ...] = ()


@dataclass(frozen=True, slots=True)
class LocalRateLimit:
    """A token bucket per Envoy: `requests` per `unit` seconds plus `burst`; requests over
    the limit get `status` and `response_headers`. A route's limit replaces its virtual
    host's."""

    requests: int
    unit: int = 1  # seconds
    burst: int = 0
    status: int = 429
    response_headers: tuple[HeaderValue, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """One match and what to do with it, with its per-route policies.

    `name` is stable: derived from the source object and rule, unique within its virtual host.
    `source` names the object it came from (kind/namespace/name), for debugging only.
    """

    name: str
    match: Match
    action: Action
    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None
    rewrite: Rewrite | None = None
    mirrors: tuple[Mirror, ...] = ()
    timeouts: Timeouts | None = None
    retry: RetryPolicy | None = None
    cors: CORSPolicy | None = None
    websocket: bool = False
    ip_filter: IPFilter | None = None
    rate_limit: LocalRateLimit | None = None
    hash_policies: tuple[HashPolicy, ...] = ()
    source: str = ""


# ---------------------------------------------------------------- TLS and hosts


@dataclass(frozen=True, slots=True)
class ClientValidation:
    ca_secret: str  # name of a Secret in IR.secrets holding ca.crt
    optional: bool = False  # insecure fallback: accept clients without a certificate
    subject_alt_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TLSServer:
    """Downstream TLS termination for one SNI."""

    secrets: tuple[str, ...]  # names in IR.secrets (several: RSA + ECDSA)
    min_version: str = "1.2"
    max_version: str = "1.3"
    alpn: tuple[str, ...] = ("h2", "http/1.1")
    client_validation: ClientValidation | None = None
    # on a wildcard server name's chain, a request whose Host is not the SNI gets 421
    # (Contour's Ingress and HTTPProxy; envoy/misdirected.py)
    host_must_match_sni: bool = False


@dataclass(frozen=True, slots=True)
class TCPProxy:
    clusters: tuple[WeightedCluster, ...]
    idle_timeout: float | None = None
    # summed weight of backends that could not be resolved: that share of connections is
    # refused (Gateway API)
    invalid_weight: int = 0


@dataclass(frozen=True, slots=True)
class UDPProxy:
    """Datagram sessions split over `clusters` by weight (`invalid_weight`: dropped)."""

    clusters: tuple[WeightedCluster, ...]
    invalid_weight: int = 0


@dataclass(frozen=True, slots=True)
class VirtualHost:
    """Requests for `hostname` ("*" for any, "*.example.com" for a wildcard).

    With `tls` set the host is served on a TLS filter chain: the chain of server name `sni`
    (the hostname of the Gateway listener owning the host, "*" for the default chain), or of
    its own hostname when `sni` is None. Hosts sharing an `sni` share a chain; a request whose
    Host belongs to another chain is answered 421 Misdirected Request. With `passthrough`
    set, TLS is not terminated and the connection goes to that TCP proxy. With `fallback_tls`
    set (HTTPProxy's fallback certificate), a terminating host is also served on the default
    chain ("*": clients sending no SNI, or one no chain matches), which presents that TLS.
    """

    name: str
    hostname: str
    routes: tuple[Route, ...] = ()
    tls: TLSServer | None = None
    passthrough: TCPProxy | None = None
    cors: CORSPolicy | None = None
    sni: str | None = None
    ip_filter: IPFilter | None = None
    rate_limit: LocalRateLimit | None = None
    fallback_tls: TLSServer | None = None


@dataclass(frozen=True, slots=True)
class Listener:
    """One Envoy listener: an address and port, and everything served on it."""

    name: str
    address: str
    port: int
    protocol: Protocol
    virtual_hosts: tuple[VirtualHost, ...] = ()
    tcp_proxy: TCPProxy | None = None
    udp_proxy: UDPProxy | None = None


@dataclass(frozen=True, slots=True)
class GatewayAddress:
    """An address asked for a Gateway (Gateway API spec.addresses): "IPAddress" or
    "Hostname"."""

    type: str
    value: str


@dataclass(frozen=True, slots=True)
class Gateway:
    """One Envoy fleet and its listeners. `name` is "namespace/name" of the source Gateway
    (or a fixed name for Ingress/HTTPProxy); Envoys of this fleet identify with it.

    `backend_client_secret` is the Gateway's client certificate for backends it reaches
    over TLS (Gateway API spec.tls.backend). `addresses`, `labels` and `annotations` are for
    the provisioner: the static addresses the
    fleet must be reachable on, and the metadata to put on everything it creates for the
    fleet (Gateway API spec.infrastructure), as sorted (key, value) pairs."""

    name: str
    listeners: tuple[Listener, ...] = ()
    addresses: tuple[GatewayAddress, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    # a Secret in IR.secrets this fleet presents as client certificate to TLS backends
    backend_client_secret: str | None = None


# ---------------------------------------------------------------- upstreams


class UpstreamProtocol(enum.StrEnum):
    HTTP1 = "http/1.1"
    H2C = "h2c"
    H2 = "h2"  # over TLS
    TCP = "tcp"
    UDP = "udp"


class LBPolicy(enum.StrEnum):
    ROUND_ROBIN = "RoundRobin"
    LEAST_REQUEST = "LeastRequest"
    RANDOM = "Random"
    RING_HASH = "RingHash"
    MAGLEV = "Maglev"


@dataclass(frozen=True, slots=True)
class UpstreamTLS:
    sni: str
    ca_secret: str | None = None  # name in IR.secrets; None means system trust store
    subject_alt_names: tuple[str, ...] = ()  # DNS names
    client_secret: str | None = None  # client certificate presented to the backend
    subject_alt_uris: tuple[str, ...] = ()  # URI SANs (e.g. SPIFFE IDs)
    # False: encrypt without checking the backend's certificate (Contour's
    # upstream-protocol.tls/h2 Service annotations without HTTPProxy validation)
    verify: bool = True


@dataclass(frozen=True, slots=True)
class HealthCheck:
    path: str
    host: str = "contour-envoy-healthcheck"
    interval: float = 5.0
    timeout: float = 2.0
    unhealthy_threshold: int = 3
    healthy_threshold: int = 2


@dataclass(frozen=True, slots=True)
class CircuitBreakers:
    max_connections: int | None = None
    max_pending_requests: int | None = None
    max_requests: int | None = None
    max_retries: int | None = None


@dataclass(frozen=True, slots=True)
class Cluster:
    """An upstream: one Service port (with its protocol and TLS). Endpoints come over EDS
    under the same name."""

    name: str  # "namespace/service/port/hash"
    service: str  # "namespace/name", for debugging and EDS lookups
    port: int  # the Service port
    protocol: UpstreamProtocol = UpstreamProtocol.HTTP1
    tls: UpstreamTLS | None = None
    lb_policy: LBPolicy = LBPolicy.ROUND_ROBIN
    connect_timeout: float = 2.0
    health_check: HealthCheck | None = None
    circuit_breakers: CircuitBreakers | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    address: str
    port: int
    ready: bool = True
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterEndpoints:
    cluster: str
    endpoints: tuple[Endpoint, ...] = ()


@dataclass(frozen=True, slots=True, repr=False)
class Secret:
    """A TLS certificate/key pair or a CA bundle, served over SDS. Never printed."""

    name: str  # "namespace/name"
    cert_chain: bytes = b""
    private_key: bytes = b""
    ca: bytes = b""

    def __repr__(self) -> str:
        return f"Secret(name={self.name!r}, <redacted>)"


class Compression(enum.StrEnum):
    """The response compression every HTTP listener offers (Contour's compression setting)."""

    GZIP = "gzip"
    BROTLI = "brotli"
    ZSTD = "zstd"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class HTTPSettings:
    """How every HTTP connection manager of every fleet treats requests (Contour's global
    settings). `merge_slashes`: adjacent slashes of a path are merged before routing and
    forwarding ("//foo" is "/foo"; Contour's disableMergeSlashes turns it off).
    `compression`: responses are compressed with this when the client accepts it."""

    merge_slashes: bool = True
    compression: Compression = Compression.GZIP


@dataclass(frozen=True, slots=True)
class IR:
    """Everything Envoy needs, in deterministic order (sorted by name)."""

    gateways: tuple[Gateway, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    endpoints: tuple[ClusterEndpoints, ...] = ()
    secrets: tuple[Secret, ...] = ()
    http: HTTPSettings = field(default_factory=HTTPSettings)
