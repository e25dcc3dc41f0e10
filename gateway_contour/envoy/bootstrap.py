"""Envoy bootstrap documents: the dynamic one that points an Envoy at our ADS server.

Envoys identify with `node.cluster` = the fleet (the IR Gateway name, e.g. "default/web");
the xDS server serves each fleet its own snapshot. `node.id` is unique per process.
Every xDS type, secrets included, comes over one ADS stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

XDS_CLUSTER = "gateway-contour-xds"


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


def _config_source() -> dict[str, Any]:
    return {"ads": {}, "resource_api_version": "V3"}


def ads_bootstrap(opts: BootstrapOptions) -> dict[str, Any]:
    api_type = "DELTA_GRPC" if opts.delta else "GRPC"
    return {
        "node": {"id": opts.node_id, "cluster": opts.fleet},
        "admin": {
            "address": {
                "socket_address": {"address": opts.admin_address, "port_value": opts.admin_port}
            }
        },
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
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "typed_extension_protocol_options": {
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                            "@type": "type.googleapis.com/"
                            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                            "explicit_http_config": {"http2_protocol_options": {}},
                        }
                    },
                    "load_assignment": {
                        "cluster_name": XDS_CLUSTER,
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {
                                                    "address": opts.xds_address,
                                                    "port_value": opts.xds_port,
                                                }
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                }
            ]
        },
    }


def write_bootstrap(opts: BootstrapOptions, path: Path) -> Path:
    """Write the bootstrap as JSON (a YAML subset Envoy reads with either suffix)."""
    path.write_text(json.dumps(ads_bootstrap(opts), indent=2) + "\n")
    return path
