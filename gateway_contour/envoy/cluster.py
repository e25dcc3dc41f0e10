"""IR Cluster -> Envoy Cluster (CDS).

Every cluster is EDS over ADS with `service_name` = the cluster name, so endpoint changes
only touch ClusterLoadAssignments. Protocol: h2c and h2 set HTTP/2 explicitly through
`HttpProtocolOptions`; upstream TLS becomes an `UpstreamTlsContext` whose CA comes over SDS
(or from the system bundle, `SYSTEM_CA_BUNDLE`) and whose peer must present one of the
expected SANs (the SNI when the IR names none, as Gateway API BackendTLSPolicy requires);
with `verify` off (Contour's upstream-protocol annotations) there is no validation at all.
Health checks are HTTP; circuit breakers set the default-priority thresholds.
"""

from __future__ import annotations

from envoy.config.cluster.v3 import circuit_breaker_pb2, cluster_pb2
from envoy.config.core.v3 import base_pb2, health_check_pb2, protocol_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as hpo
from google.protobuf import wrappers_pb2

from gateway_contour.envoy import names
from gateway_contour.envoy.common import (
    ads_config_source,
    dns_san_matcher,
    duration,
    pack,
    sds_secret,
    uri_san_matcher,
)
from gateway_contour.ir.model import (
    CircuitBreakers,
    Cluster,
    HealthCheck,
    LBPolicy,
    UpstreamProtocol,
    UpstreamTLS,
)

_LB_POLICIES = {
    LBPolicy.ROUND_ROBIN: cluster_pb2.Cluster.ROUND_ROBIN,
    LBPolicy.LEAST_REQUEST: cluster_pb2.Cluster.LEAST_REQUEST,
    LBPolicy.RANDOM: cluster_pb2.Cluster.RANDOM,
    LBPolicy.RING_HASH: cluster_pb2.Cluster.RING_HASH,
    LBPolicy.MAGLEV: cluster_pb2.Cluster.MAGLEV,
}
_HTTP2 = (UpstreamProtocol.H2C, UpstreamProtocol.H2)
# The trust store for "system" CAs. Envoy 1.40 refuses SAN checks with `system_root_certs`
# ("without trusted CA is insecure"), so the Debian/Alpine bundle path is named explicitly;
# the Envoy image must ship it (the official images do).
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def cluster(c: Cluster) -> cluster_pb2.Cluster:
    name = names.cluster(c.name)
    out = cluster_pb2.Cluster(
        name=name,
        alt_stat_name=names.stat_prefix(name),
        type=cluster_pb2.Cluster.EDS,
        eds_cluster_config=cluster_pb2.Cluster.EdsClusterConfig(
            eds_config=ads_config_source(), service_name=name
        ),
        connect_timeout=duration(c.connect_timeout),
        lb_policy=_LB_POLICIES[c.lb_policy],
    )
    if c.protocol in _HTTP2:
        options = hpo.HttpProtocolOptions(
            explicit_http_config=hpo.HttpProtocolOptions.ExplicitHttpConfig(
                http2_protocol_options=protocol_pb2.Http2ProtocolOptions()
            )
        )
        out.typed_extension_protocol_options[names.HTTP_PROTOCOL_OPTIONS].CopyFrom(pack(options))
    if c.tls is not None:
        out.transport_socket.CopyFrom(
            base_pb2.TransportSocket(
                name=names.TLS_TRANSPORT, typed_config=pack(upstream_tls(c.tls, c.protocol))
            )
        )
    if c.health_check is not None:
        out.health_checks.append(health_check(c.health_check))
    if c.circuit_breakers is not None:
        out.circuit_breakers.CopyFrom(circuit_breakers(c.circuit_breakers))
    return out


def upstream_tls(tls: UpstreamTLS, protocol: UpstreamProtocol) -> tls_pb2.UpstreamTlsContext:
    matchers = [dns_san_matcher(san) for san in tls.subject_alt_names]
    matchers.extend(uri_san_matcher(uri) for uri in tls.subject_alt_uris)
    if not matchers:
        matchers.append(dns_san_matcher(tls.sni))
    validation = common_pb2.CertificateValidationContext(match_typed_subject_alt_names=matchers)
    common = tls_pb2.CommonTlsContext()
    if not tls.verify:
        pass  # encryption only: no validation context, any certificate is accepted
    elif tls.ca_secret is None:
        validation.trusted_ca.filename = SYSTEM_CA_BUNDLE
        common.validation_context.CopyFrom(validation)
    else:
        common.combined_validation_context.CopyFrom(
            tls_pb2.CommonTlsContext.CombinedCertificateValidationContext(
                default_validation_context=validation,
                validation_context_sds_secret_config=sds_secret(names.ca_secret(tls.ca_secret)),
            )
        )
    if tls.client_secret is not None:
        common.tls_certificate_sds_secret_configs.append(
            sds_secret(names.cert_secret(tls.client_secret))
        )
    if protocol is UpstreamProtocol.H2:
        common.alpn_protocols.append("h2")
    return tls_pb2.UpstreamTlsContext(sni=tls.sni, common_tls_context=common)


def health_check(hc: HealthCheck) -> health_check_pb2.HealthCheck:
    return health_check_pb2.HealthCheck(
        timeout=duration(hc.timeout),
        interval=duration(hc.interval),
        unhealthy_threshold=wrappers_pb2.UInt32Value(value=hc.unhealthy_threshold),
        healthy_threshold=wrappers_pb2.UInt32Value(value=hc.healthy_threshold),
        http_health_check=health_check_pb2.HealthCheck.HttpHealthCheck(host=hc.host, path=hc.path),
    )


def circuit_breakers(cb: CircuitBreakers) -> circuit_breaker_pb2.CircuitBreakers:
    thresholds = circuit_breaker_pb2.CircuitBreakers.Thresholds()
    if cb.max_connections is not None:
        thresholds.max_connections.value = cb.max_connections
    if cb.max_pending_requests is not None:
        thresholds.max_pending_requests.value = cb.max_pending_requests
    if cb.max_requests is not None:
        thresholds.max_requests.value = cb.max_requests
    if cb.max_retries is not None:
        thresholds.max_retries.value = cb.max_retries
    return circuit_breaker_pb2.CircuitBreakers(thresholds=[thresholds])
