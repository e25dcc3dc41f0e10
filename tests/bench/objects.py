"""Synthetic Gateway API configurations of a given size, for benchmarks."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

CONTROLLER = "gateway-contour.dev/gateway-controller"


def gateway_objects(routes: int, hostnames: int = 100, services: int = 100) -> list[Obj]:
    """One Gateway, `routes` HTTPRoutes spread over `hostnames` hostnames, each route with two
    path matches and a header match over two weighted backends, and `services` Services with
    EndpointSlices of three endpoints each."""
    objs: list[Obj] = [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "bench", "generation": 1},
            "spec": {"controllerName": CONTROLLER},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": "default", "generation": 1},
            "spec": {
                "gatewayClassName": "bench",
                "listeners": [
                    {
                        "name": "http",
                        "protocol": "HTTP",
                        "port": 80,
                        "allowedRoutes": {"namespaces": {"from": "Same"}},
                    }
                ],
            },
        },
    ]
    for s in range(services):
        name = f"svc-{s}"
        objs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": "default", "generation": 1},
                "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
            }
        )
        objs.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-abc",
                    "namespace": "default",
                    "generation": 1,
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                "endpoints": [
                    {"addresses": [f"10.{s // 250}.{s % 250}.{e}"], "conditions": {"ready": True}}
                    for e in range(1, 4)
                ],
            }
        )
    for r in range(routes):
        host = f"host-{r % hostnames}.example.com"
        objs.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": {
                    "name": f"route-{r}",
                    "namespace": "default",
                    "generation": 1,
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                },
                "spec": {
                    "parentRefs": [{"name": "gw"}],
                    "hostnames": [host],
                    "rules": [
                        {
                            "matches": [
                                {"path": {"type": "PathPrefix", "value": f"/app/{r}"}},
                                {
                                    "path": {"type": "Exact", "value": f"/exact/{r}"},
                                    "headers": [{"name": "x-tenant", "value": f"t{r % 7}"}],
                                },
                            ],
                            "backendRefs": [
                                {"name": f"svc-{r % services}", "port": 80, "weight": 90},
                                {"name": f"svc-{(r + 1) % services}", "port": 80, "weight": 10},
                            ],
                        }
                    ],
                },
            }
        )
    return objs
