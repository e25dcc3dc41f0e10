"""Ties between routes go to the oldest, then to the first by the string "namespace/name"."""

from __future__ import annotations

from gateway_contour.ir.model import Forward
from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, translate
from gateway_contour.translate.gatewayapi.age import age

WORLD = """\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gc}
spec: {controllerName: gateway-contour.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gc
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
"""
ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: %s, creationTimestamp: "%s"}
spec:
  parentRefs: [{name: gw, namespace: default}]
  rules: [{backendRefs: [{name: %s, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: %s, namespace: %s}
spec: {ports: [{port: 80}]}
"""


def _winner(*routes: tuple[str, str]) -> str:
    text = "---\n".join(
        [WORLD, *(ROUTE % (ns, stamp, f"web-{ns}", f"web-{ns}", ns) for ns, stamp in routes)]
    )
    ir, _ = translate(Snapshot.of(load_text(text, "t.yaml").objects), TranslateOptions())
    (listener,) = ir.gateways[0].listeners
    first = listener.virtual_hosts[0].routes[0]
    assert isinstance(first.action, Forward)
    return first.action.clusters[0].cluster


def test_a_tie_goes_to_the_first_namespace_name_as_a_string() -> None:
    same = "2026-12-01T00:00:00Z"
    # "shop-eu/r" < "shop/r" ('-' before '/'), although ("shop", "r") < ("shop-eu", "r")
    assert age({"namespace": "shop-eu", "name": "r"}) < age({"namespace": "shop", "name": "r"})
    assert "web-shop-eu" in _winner(("shop", same), ("shop-eu", same))
    assert "web-shop-eu" in _winner(("shop-eu", same), ("shop", same))


def test_the_oldest_route_wins_before_names() -> None:
    assert "web-shop" in _winner(
        ("shop", "2026-11-01T00:00:00Z"), ("shop-eu", "2026-12-01T00:00:00Z")
    )
