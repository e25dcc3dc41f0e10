"""Envoy bootstrap documents: the dynamic one that points an Envoy at our ADS server.

Envoys identify with `node.cluster` = the fleet (the IR Gateway name, e.g. "default/web");
the xDS server serves each fleet its own snapshot. `node.id` is unique per process.
Every xDS type, secrets included, comes over one ADS stream.

With `tls`, the Envoy dials the ADS server over mutual TLS: its client certificate and the
CA it trusts come from a directory (tls.crt, tls.key, ca.crt: a mounted Secret or the
`envoy/` directory of `gateway-contour certgen`), and the server must present a certificate
naming `server_name`. The files are not inlined: they reach Envoy through file-based SDS
(two small JSON documents written beside the bootstrap) with the certificate directory
watched, so when the Secret rotates Envoy uses the new files for its next connection
without a restart.

With `ready_port`, a static listener on `ready_address:ready_port` (Contour's 8002) serves
GET `/ready` (Envoy's readiness: 200 LIVE, 503 after `/healthcheck/fail`) and
`/stats/prometheus` from the admin interface through a static cluster; every other path is
a 404, so the admin API itself (config dumps, `/quitquitquit`, ...) stays on loopback. Like
every listener it opens only once Envoy has its first configuration (before that, probes
find the port closed: not ready, which is true). Its listener stats carry the
prefix `READY_LISTENER`, so a drain can leave its probes out of the connections it counts.

When the ADS server is not up yet (Pods start in any order), Envoy keeps reconnecting with a
jittered backoff from `ADS_RETRY_BASE` to `ADS_RETRY_MAX` and stays not ready meanwhile.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway_contour.defaults import CA_FILE, CERT_FILE, KEY_FILE

XDS_CLUSTER = "gateway-contour-xds"
ADMIN_CLUSTER = "envoy-admin"
READY_LISTENER = "envoy-ready"
# the only admin paths the ready listener passes on (GET only)
READY_PATHS = ("/ready", "/stats/prometheus")
ADS_RETRY_BASE = "0.25s"
ADS_RETRY_MAX = "5s"
# the gRPC metadata key of a fleet's token on the ADS stream (xds/fleet_tokens.py checks it)
TOKEN_HEADER = "x-gateway-contour-fleet-token"
CLIENT_CERT_SECRET = "xds-client-certificate"
TRUSTED_CA_SECRET = "xds-trusted-ca"
_SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
_UPSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"


@dataclass(frozen=True, slots=True)
class XdsClientTLS:
    cert_dir: Path  # tls.crt, tls.key, ca.crt
    server_name: str = "gateway-contour"  # SNI, and a SAN the server's certificate must carry


@dataclass(frozen=True, slots=True)
class BootstrapOptions:
    node_id: str
    fleet: str  # node.cluster: the IR Gateway name this Envoy serves
    xds_address: str = "127.0.0.1"
    xds_port: int = 18000
    admin_address: str = "127.0.0.1"
    admin_port: int = 9901
    delta: bool = True  # Delta (incremental) ADS; False for State of the World
    # gRPC message limit Envoy accepts from us (large route configurations)
    max_receive_message_bytes: int = 64 * 1024 * 1024
    tls: XdsClientTLS | None = None  # mutual TLS to the ADS server
    # the fleet's secret, sent as gRPC metadata on the ADS stream (xds/fleet_tokens.py)
    fleet_token: str | None = None
    # the listener exposing READY_PATHS of the admin (None: no such listener)
    ready_port: int | None = None
    ready_address: str = "0.0.0.0"


def is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _config_source() -> dict[str, Any]:
    return {"ads": {}, "resource_api_version": "V3"}


def sds_documents(tls: XdsClientTLS) -> dict[str, dict[str, Any]]:
    """File name -> the file-based SDS document of the client certificate and trusted CA."""
    directory = str(tls.cert_dir.absolute())
    certificate = {
        "@type": _SECRET_TYPE,
        "name": CLIENT_CERT_SECRET,
        "tls_certificate": {
            "certificate_chain": {"filename": str(tls.cert_dir.absolute() / CERT_FILE)},
            "private_key": {"filename": str(tls.cert_dir.absolute() / KEY_FILE)},
            "watched_directory": {"path": directory},
        },
    }
    trusted = {
        "@type": _SECRET_TYPE,
        "name": TRUSTED_CA_SECRET,
        "validation_context": {
            "trusted_ca": {"filename": str(tls.cert_dir.absolute() / CA_FILE)},
            "watched_directory": {"path": directory},
            "match_typed_subject_alt_names": [
                {"san_type": "DNS", "matcher": {"exact": tls.server_name}}
            ],
        },
    }
    return {
        f"{CLIENT_CERT_SECRET}.json": {"resources": [certificate]},
        f"{TRUSTED_CA_SECRET}.json": {"resources": [trusted]},
    }


def _client_tls_socket(tls: XdsClientTLS, sds_dir: Path) -> dict[str, Any]:
    def from_file(name: str) -> dict[str, Any]:
        path = str(sds_dir.absolute() / f"{name}.json")
        return {
            "name": name,
            "sds_config": {"path_config_source": {"path": path}, "resource_api_version": "V3"},
        }

    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": _UPSTREAM_TLS,
            "sni": tls.server_name,
            "common_tls_context": {
                "alpn_protocols": ["h2"],
                "tls_certificate_sds_secret_configs": [from_file(CLIENT_CERT_SECRET)],
                "validation_context_sds_secret_config": from_file(TRUSTED_CA_SECRET),
            },
        },
    }


def ads_bootstrap(opts: BootstrapOptions, sds_dir: Path | None = None) -> dict[str, Any]:
    """The bootstrap document; with `opts.tls`, `sds_dir` is where `sds_documents` live."""
    if opts.tls is not None and sds_dir is None:
        raise ValueError("a TLS bootstrap needs the directory of its SDS documents")
    api_type = "DELTA_GRPC" if opts.delta else "GRPC"
    bootstrap: dict[str, Any] = {
        "node": {"id": opts.node_id, "cluster": opts.fleet},
        "admin": {"address": _socket_address(opts.admin_address, opts.admin_port)},
        "dynamic_resources": {
            "ads_config": {
                "api_type": api_type,
                "transport_api_version": "V3",
                "set_node_on_first_message_only": True,
                "grpc_services": [
                    {
                        "envoy_grpc": {
                            "cluster_name": XDS_CLUSTER,
                            "max_receive_message_length": opts.max_receive_message_bytes,
                            "retry_policy": {
                                "retry_back_off": {
                                    "base_interval": ADS_RETRY_BASE,
                                    "max_interval": ADS_RETRY_MAX,
                                }
                            },
                        }
                    }
                ],
            },
            "lds_config": _config_source(),
            "cds_config": _config_source(),
        },
        "static_resources": {
            "clusters": [
                {
                    "name": XDS_CLUSTER,
                    # a Service name (in a Pod: gateway-contour.gateway-contour.svc) is
                    # resolved by DNS; Envoy refuses a name in a STATIC cluster
                    "type": "STATIC" if is_ip(opts.xds_address) else "STRICT_DNS",
                    "connect_timeout": "1s",
                    "typed_extension_protocol_options": {
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                            "@type": "type.googleapis.com/"
                            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                            "explicit_http_config": {"http2_protocol_options": {}},
                        }
                    },
                    "load_assignment": _load_assignment(
                        XDS_CLUSTER, opts.xds_address, opts.xds_port
                    ),
                }
            ]
        },
    }
    if opts.fleet_token is not None:
        (grpc_service,) = bootstrap["dynamic_resources"]["ads_config"]["grpc_services"]
        grpc_service["initial_metadata"] = [{"key": TOKEN_HEADER, "value": opts.fleet_token}]
    if opts.tls is not None and sds_dir is not None:
        (xds_cluster,) = bootstrap["static_resources"]["clusters"]
        xds_cluster["transport_socket"] = _client_tls_socket(opts.tls, sds_dir)
    if opts.ready_port is not None:
        static = bootstrap["static_resources"]
        static["clusters"].append(_admin_cluster(opts))
        static["listeners"] = [_ready_listener(opts)]
    return bootstrap


def _socket_address(address: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": address, "port_value": port}}


def _load_assignment(cluster: str, address: str, port: int) -> dict[str, Any]:
    endpoint = {"endpoint": {"address": _socket_address(address, port)}}
    return {"cluster_name": cluster, "endpoints": [{"lb_endpoints": [endpoint]}]}


def _admin_cluster(opts: BootstrapOptions) -> dict[str, Any]:
    return {
        "name": ADMIN_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "0.25s",
        "load_assignment": _load_assignment(ADMIN_CLUSTER, opts.admin_address, opts.admin_port),
    }


def _ready_listener(opts: BootstrapOptions) -> dict[str, Any]:
    assert opts.ready_port is not None
    get_only = [{"name": ":method", "string_match": {"exact": "GET"}}]
    routes = [
        {"match": {"path": path, "headers": get_only}, "route": {"cluster": ADMIN_CLUSTER}}
        for path in READY_PATHS
    ]
    manager = {
        "@type": "type.googleapis.com/"
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": READY_LISTENER,
        "route_config": {
            "name": READY_LISTENER,
            # no route matches anything else: Envoy answers 404
            "virtual_hosts": [{"name": READY_LISTENER, "domains": ["*"], "routes": routes}],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                },
            }
        ],
    }
    return {
        "name": READY_LISTENER,
        "stat_prefix": READY_LISTENER,
        "address": _socket_address(opts.ready_address, opts.ready_port),
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": manager,
                    }
                ]
            }
        ],
    }


def write_bootstrap(opts: BootstrapOptions, path: Path) -> Path:
    """Write the bootstrap as JSON (a YAML subset Envoy reads with either suffix), and with
    TLS the SDS documents it names, beside it. The directory is created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if opts.tls is not None:
        for name, document in sds_documents(opts.tls).items():
            _replace(path.parent / name, json.dumps(document, indent=2) + "\n")
    text = json.dumps(ads_bootstrap(opts, path.parent), indent=2) + "\n"
    # owner-only: with a fleet token the bootstrap is that fleet's credential
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)
    return path


def _replace(path: Path, text: str) -> None:
    """Write `text` unless `path` holds it already, by a rename: an Envoy of another
    bootstrap in this directory may be reading the same SDS document right now."""
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
