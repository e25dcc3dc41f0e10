"""HTTPProxy end to end: YAML files -> the implicit legacy fleet -> a real Envoy (host mode)
-> echo backends. Inclusion across namespaces with include conditions, TLS termination
with a delegated cross-namespace Secret (plain HTTP redirected, permitInsecure routes
served), and the route policies a client can observe: header policies, path rewrite,
redirects, direct responses, IP deny lists, local rate limits and weights."""

from __future__ import annotations

import ssl
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gateway_contour.certs.authority import CertificateAuthority, generate_ca, issue
from tests.e2e.host_world import HostWorld, service_yaml, tls_secret_yaml
from tests.e2e.http_client import eventually

pytestmark = pytest.mark.e2e

PROXIES = textwrap.dedent("""\
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: site, namespace: default}
    spec:
      virtualhost: {fqdn: site.example.com}
      routes:
      - services: [{name: app, port: 80}]
      - conditions: [{prefix: /headers}]
        requestHeadersPolicy:
          set: [{name: X-Added, value: by-proxy}]
        responseHeadersPolicy:
          set: [{name: X-Served-By, value: gateway-contour}]
        services: [{name: app, port: 80}]
      - conditions: [{prefix: /old}]
        pathRewritePolicy:
          replacePrefix: [{replacement: /new}]
        services: [{name: app, port: 80}]
      - conditions: [{prefix: /moved}]
        requestRedirectPolicy: {hostname: elsewhere.example.com, statusCode: 301}
      - conditions: [{prefix: /teapot}]
        directResponsePolicy: {statusCode: 418, body: "short and stout"}
      - conditions: [{prefix: /private}]
        ipDenyPolicy: [{source: Peer, cidr: 127.0.0.0/8}]
        services: [{name: app, port: 80}]
      - conditions: [{prefix: /limited}]
        rateLimitPolicy:
          local: {requests: 2, unit: hour}
        services: [{name: app, port: 80}]
      - conditions: [{prefix: /split}]
        services:
        - {name: app, port: 80, weight: 1}
        - {name: api, port: 80, weight: 0}
      includes:
      - name: blog
        namespace: blog
        conditions: [{prefix: /blog}]
      - name: beta
        namespace: blog
        conditions:
        - prefix: /blog
        - header: {name: x-beta, exact: "yes"}
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: blog, namespace: blog}
    spec:
      routes:
      - services: [{name: blog, port: 80}]
      - conditions: [{prefix: /admin}]
        services: [{name: api, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: beta, namespace: blog}
    spec:
      routes:
      - services: [{name: api, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: orphan, namespace: blog}
    spec:
      routes:
      - services: [{name: blog, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: secure, namespace: shop}
    spec:
      virtualhost:
        fqdn: secure.example.com
        tls: {secretName: certs/secure-cert, minimumProtocolVersion: "1.3"}
      routes:
      - services: [{name: app, port: 80}]
      - conditions: [{prefix: /.well-known/acme-challenge}]
        permitInsecure: true
        services: [{name: api, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: undelegated, namespace: shop}
    spec:
      virtualhost:
        fqdn: undelegated.example.com
        tls: {secretName: certs/other-cert}
      routes:
      - services: [{name: app, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: sticky, namespace: default}
    spec:
      virtualhost:
        fqdn: sticky.example.com
        corsPolicy:
          allowOrigin: ["https://app.example.com"]
          allowMethods: [GET, PUT]
          maxAge: 10m
      routes:
      - loadBalancerPolicy: {strategy: Cookie}
        services: [{name: pair, port: 80}]
    ---
    apiVersion: projectcontour.io/v1
    kind: TLSCertificateDelegation
    metadata: {name: to-shop, namespace: certs}
    spec:
      delegations:
      - secretName: secure-cert
        targetNamespaces: [shop]
    """)


def pair_yaml(world: HostWorld) -> str:
    """Service "pair" with two endpoints: the app and api echo backends (a slice each, as
    their ports differ)."""
    slices = [
        textwrap.dedent(f"""\
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: pair-{name}
              namespace: default
              labels: {{kubernetes.io/service-name: pair}}
            addressType: IPv4
            ports: [{{name: http, port: {world.backends[name].port}, protocol: TCP}}]
            endpoints: [{{addresses: ["{world.backends[name].host}"]}}]
            """)
        for name in ("app", "api")
    ]
    service = textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata: {name: pair, namespace: default}
        spec:
          ports: [{name: http, port: 80}]
        """)
    return "---\n".join([service, *slices])


@dataclass
class Served:
    world: HostWorld
    ca: CertificateAuthority


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    ca = generate_ca("httpproxy-e2e-ca")
    world = HostWorld(tmp_path, ("app", "api", "blog"))
    world.start_backends()
    extra = [
        service_yaml("blog", world.backends["blog"], namespace="blog"),
        service_yaml("api", world.backends["api"], namespace="blog"),
        service_yaml("app", world.backends["app"], namespace="shop"),
        service_yaml("api", world.backends["api"], namespace="shop"),
        pair_yaml(world),
        tls_secret_yaml("secure-cert", "certs", *issue(ca, "secure.example.com")),
        tls_secret_yaml("other-cert", "certs", *issue(ca, "undelegated.example.com")),
    ]
    try:
        async with world.running("---\n".join([PROXIES, *extra])):
            await eventually(
                lambda: world.get("/", host="site.example.com"), lambda r: r.backend == "app"
            )
            yield Served(world, ca)
    finally:
        world.stop_backends()


def statuses(world: HostWorld) -> dict[str, dict[str, object]]:
    data = yaml.safe_load((world.tmp_path / "world-status.yaml").read_text())
    return {entry["object"]: entry["status"] for entry in data["statuses"]}


async def test_inclusion_across_namespaces_with_conditions(served: Served) -> None:
    w = served.world

    async def backend(path: str, **kwargs: object) -> str | None:
        return (await w.get(path, host="site.example.com", **kwargs)).backend

    assert await backend("/") == "app"
    assert await backend("/blog") == "blog"
    assert await backend("/blog/post/1") == "blog"
    # the child's own prefix follows the include's
    assert await backend("/blog/admin/users") == "api"
    # the include with a header condition: only requests carrying it
    assert await backend("/blog", headers={"x-beta": "yes"}) == "api"
    assert await backend("/blog", headers={"x-beta": "no"}) == "blog"
    # a string prefix, as in Contour: /blogroll is under /blog
    assert await backend("/blogroll") == "blog"
    # the orphan serves nothing of its own and says why
    found = statuses(w)
    assert found["HTTPProxy blog/orphan"]["currentStatus"] == "orphaned"
    assert found["HTTPProxy blog/blog"]["currentStatus"] == "valid"
    assert found["HTTPProxy default/site"]["currentStatus"] == "valid"
    # a valid root says where the fleet is reachable; included proxies do not
    assert found["HTTPProxy default/site"]["loadBalancer"] == {"ingress": [{"ip": "127.0.0.1"}]}
    assert "loadBalancer" not in found["HTTPProxy blog/blog"]


async def test_tls_with_delegated_secret_and_redirect(served: Served) -> None:
    w, ca = served.world, served.ca.cert_pem
    secure = await eventually(
        lambda: w.get_tls("/cart", "secure.example.com", ca), lambda r: r.status == 200
    )
    assert secure.backend == "app"
    assert secure.json()["path"] == "/cart"
    # plain HTTP is redirected to https, the path and query kept
    insecure = await w.get("/cart?item=3", host="secure.example.com")
    assert insecure.status == 301
    assert insecure.headers["location"] == "https://secure.example.com/cart?item=3"
    # ... except a route with permitInsecure
    challenge = await w.get("/.well-known/acme-challenge/token", host="secure.example.com")
    assert challenge.backend == "api"
    # minimumProtocolVersion 1.3: a TLS 1.2 client is refused
    with pytest.raises(ssl.SSLError):
        await w.get_tls("/", "secure.example.com", ca, max_version=ssl.TLSVersion.TLSv1_2)
    # a Secret of another namespace without delegation: not served, and reported
    found = statuses(w)["HTTPProxy shop/undelegated"]
    assert found["currentStatus"] == "invalid"
    errors = found["conditions"][0]["errors"]  # type: ignore[index]
    assert errors[0]["reason"] == "DelegationNotPermitted"
    assert (await w.get("/", host="undelegated.example.com")).status == 404


async def test_route_policies_seen_by_clients(served: Served) -> None:
    w = served.world
    host = "site.example.com"
    headers = await w.get("/headers", host=host)
    assert headers.json()["headers"]["x-added"] == "by-proxy"
    assert headers.headers["x-served-by"] == "gateway-contour"
    rewritten = await w.get("/old/page", host=host)
    assert rewritten.backend == "app" and rewritten.json()["path"] == "/new/page"
    moved = await w.get("/moved/here", host=host)
    assert moved.status == 301
    assert moved.headers["location"] == "http://elsewhere.example.com/moved/here"
    teapot = await w.get("/teapot", host=host)
    assert (teapot.status, teapot.body) == (418, b"short and stout")
    # the deny list names the loopback peer: refused
    assert (await w.get("/private", host=host)).status == 403
    # two requests an hour: the third is limited
    answers = [(await w.get("/limited", host=host)).status for _ in range(3)]
    assert answers == [200, 200, 429]
    # weight 0 takes nothing
    assert {(await w.get("/split", host=host)).backend for _ in range(10)} == {"app"}


async def test_cookie_affinity_and_cors(served: Served) -> None:
    w = served.world
    host = "sticky.example.com"
    first = await w.get("/", host=host)
    cookie = first.headers["set-cookie"].split(";")[0]
    assert cookie.startswith("X-Contour-Session-Affinity=")
    # with the cookie every request lands on the same endpoint
    seen = {(await w.get("/", host=host, headers={"Cookie": cookie})).backend for _ in range(8)}
    assert seen == {first.backend}
    # a CORS preflight from an allowed origin is answered by Envoy
    preflight = await w.get(
        "/",
        host=host,
        method="OPTIONS",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"},
    )
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-max-age"] == "600"
