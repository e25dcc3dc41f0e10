"""The install, as README's "Installing" says, on the real node (tests/node/install.py does
it): the controller Pods Ready -> a Gateway of class gateway-contour gets its own Envoy Pod
(bootstrap init container, mTLS to the controller's Service by DNS name, Ready through
/ready) -> an HTTPRoute to a Deployment answers through the Envoy Service from this host;
an Ingress and an HTTPProxy answer through the implicit fleet's Envoy Service."""

from __future__ import annotations

from tests.node.conftest import NodeCluster
from tests.node.install import CONTROLLERS, NAMESPACE, answer, serve_gateway
from tests.node.objects import await_value, create, fresh_namespace, get, ready_pods


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
    assert served.address in (
        svc["spec"]["clusterIP"],
        *[i.get("ip") for i in (svc["status"].get("loadBalancer") or {}).get("ingress") or []],
    )
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
    _, svc = cluster.request(
        "GET", "/api/v1/namespaces/projectcontour/services/gateway-contour-envoy"
    )
    address = svc["spec"]["clusterIP"]
    for host in ("ingress.example", "proxy.example"):
        assert await_value(f"{host} through the implicit fleet", lambda h=host: answer(address, h))
        assert answer(address, host) == served.backend
    # the Ingress's status names the fleet's address
    await_value(
        "the Ingress's status address",
        lambda: (
            cluster.request("GET", f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/legacy")[
                1
            ]
            .get("status", {})
            .get("loadBalancer", {})
            .get("ingress")
        ),
    )
