"""The install, as README's "Installing" says, on the real node (tests/node/install.py does
it): the controller Pods Ready -> a Gateway of class gateway-contour gets its own Envoy Pod
(bootstrap init container, mTLS to the controller's Service by DNS name, Ready through
/ready) -> an HTTPRoute to a Deployment answers through the Envoy Service from this host;
an Ingress and an HTTPProxy answer through the implicit fleet's Envoy Service."""

from __future__ import annotations

import ipaddress

from tests.node.install import CONTROLLERS, NAMESPACE, answer, serve_gateway
from tests.node.objects import await_value, create, fresh_namespace, get, ready_pods
from tests.support.kube_cluster import KubeCluster
from tests.support.kube_node import LB_CIDR
from tests.support.node_cluster import NodeCluster


def load_balancer_ips(cluster: KubeCluster, namespace: str, name: str) -> list[str]:
    _, svc = cluster.request("GET", f"/api/v1/namespaces/{namespace}/services/{name}")
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [point["ip"] for point in ingress]


def test_install_serves_an_httproute_through_a_provisioned_envoy_pod(
    installed: NodeCluster,
) -> None:
    cluster = installed.cluster
    assert len(ready_pods(cluster, NAMESPACE, CONTROLLERS)) == 2
    ns = fresh_namespace(cluster)
    served = serve_gateway(installed, ns, "edge", "web.example")
    assert served.backend.startswith("web-")
    envoys = ready_pods(cluster, ns, "gateway.networking.k8s.io/gateway-name=edge")
    assert [c["name"] for c in envoys[0]["spec"]["initContainers"]] == ["bootstrap"]
    _, svc = cluster.request("GET", f"/api/v1/namespaces/{ns}/services/envoy-edge")
    # the address the load balancer stand-in gave the Envoy Service, as a cloud's would be
    assert svc["spec"]["type"] == "LoadBalancer"
    assert load_balancer_ips(cluster, ns, "envoy-edge") == [served.address]
    assert ipaddress.ip_address(served.address) in ipaddress.ip_network(LB_CIDR)
    assert get(f"http://{served.address}/")[0] == 404  # no route for this host: Envoy answers


def test_ingress_and_httpproxy_answer_through_the_implicit_fleet(installed: NodeCluster) -> None:
    cluster = installed.cluster
    # the Ingress/HTTPProxy fleet (serve --legacy-fleet, default projectcontour/contour) is
    # provisioned into its namespace once that exists
    create(cluster, "/api/v1/namespaces", {"metadata": {"name": "projectcontour"}})
    ns = fresh_namespace(cluster)
    served = serve_gateway(installed, ns, "side", "side.example")
    create(
        cluster,
        f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
        {
            "metadata": {"name": "legacy"},
            "spec": {
                "rules": [
                    {
                        "host": "ingress.example",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": "web", "port": {"number": 8080}}
                                    },
                                }
                            ]
                        },
                    }
                ]
            },
        },
    )
    create(
        cluster,
        f"/apis/projectcontour.io/v1/namespaces/{ns}/httpproxies",
        {
            "apiVersion": "projectcontour.io/v1",
            "kind": "HTTPProxy",
            "metadata": {"name": "proxy"},
            "spec": {
                "virtualhost": {"fqdn": "proxy.example"},
                "routes": [{"services": [{"name": "web", "port": 8080}]}],
            },
        },
    )
    await_value(
        "a Ready Envoy Pod of the implicit fleet",
        lambda: ready_pods(cluster, "projectcontour", "gateway-contour.dev/implicit-fleet"),
        timeout=120,
    )
    address = await_value(
        "the implicit fleet's load balancer address",
        lambda: load_balancer_ips(cluster, "projectcontour", "gateway-contour-envoy"),
    )[0]
    for host in ("ingress.example", "proxy.example"):
        assert await_value(f"{host} through the implicit fleet", lambda h=host: answer(address, h))
        assert answer(address, host) == served.backend
    # the Ingress's status names the fleet's address
    legacy = f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/legacy"
    ingress = await_value(
        "the Ingress's status address",
        lambda: (
            (cluster.request("GET", legacy)[1].get("status") or {})
            .get("loadBalancer", {})
            .get("ingress")
        ),
    )
    assert [point.get("ip") for point in ingress] == [address]
