"""Synthetic configurations of a given size, for benchmarks: Gateway API, Ingress, HTTPProxy."""

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
    objs += service_objects(services)
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


def service_objects(services: int) -> list[Obj]:
    """`services` Services svc-N with an EndpointSlice of three endpoints each."""
    objs: list[Obj] = []
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
    return objs


def ingress_objects(ingresses: int, hostnames: int = 100, services: int = 100) -> list[Obj]:
    """`ingresses` Ingresses of Contour's class spread over `hostnames` hosts, each with a
    Prefix and an Exact path to two Services, and the Services."""
    objs = service_objects(services)
    for r in range(ingresses):
        paths = [
            {
                "path": f"/app/{r}",
                "pathType": "Prefix",
                "backend": {"service": {"name": f"svc-{r % services}", "port": {"number": 80}}},
            },
            {
                "path": f"/exact/{r}",
                "pathType": "Exact",
                "backend": {
                    "service": {"name": f"svc-{(r + 1) % services}", "port": {"number": 80}}
                },
            },
        ]
        objs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": f"ingress-{r}",
                    "namespace": "default",
                    "generation": 1,
                    "annotations": {"kubernetes.io/ingress.class": "contour"},
                },
                "spec": {
                    "rules": [
                        {"host": f"host-{r % hostnames}.example.com", "http": {"paths": paths}}
                    ]
                },
            }
        )
    return objs


def httpproxy_objects(proxies: int, roots: int = 100, services: int = 100) -> list[Obj]:
    """`roots` root HTTPProxies (one fqdn each) including the other `proxies - roots`
    proxies between them under a prefix each; every proxy has a route to two weighted
    Services with a header condition; and the Services."""
    objs = service_objects(services)
    children = max(0, proxies - roots)
    for r in range(roots):
        includes = [
            {"name": f"child-{c}", "conditions": [{"prefix": f"/team/{c}"}]}
            for c in range(r, children, roots)
        ]
        objs.append(_proxy(f"root-{r}", r, services, {"fqdn": f"host-{r}.example.com"}, includes))
    objs += [_proxy(f"child-{c}", c, services, None, []) for c in range(children)]
    return objs


def _proxy(name: str, r: int, services: int, virtualhost: Obj | None, includes: list[Obj]) -> Obj:
    spec: Obj = {
        "routes": [
            {
                "conditions": [
                    {"prefix": f"/app/{r}"},
                    {"header": {"name": "x-tenant", "exact": f"t{r % 7}"}},
                ],
                "services": [
                    {"name": f"svc-{r % services}", "port": 80, "weight": 90},
                    {"name": f"svc-{(r + 1) % services}", "port": 80, "weight": 10},
                ],
            }
        ]
    }
    if virtualhost is not None:
        spec["virtualhost"] = virtualhost
    if includes:
        spec["includes"] = includes
    return {
        "apiVersion": "projectcontour.io/v1",
        "kind": "HTTPProxy",
        "metadata": {"name": name, "namespace": "default", "generation": 1},
        "spec": spec,
    }
