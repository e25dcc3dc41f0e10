"""build_resources: fleets get exactly what they reference, shared messages are built once,
output is deterministic, type URLs are right, and 10k routes fit one configuration."""

from __future__ import annotations

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
from envoy_testlib import (
    BACKEND,
    OTHER,
    cluster,
    endpoints,
    route,
    tls_secret,
)

from gateway_contour.envoy.resources import (
    CLUSTER,
    ENDPOINT,
    LISTENER,
    ROUTE,
    SECRET,
    TYPE_URLS,
    build_endpoints,
    build_resources,
)
from gateway_contour.envoy.validate import validate_fleets
from gateway_contour.ir.model import (
    IR,
    Forward,
    Gateway,
    HeaderMatch,
    HeaderModifier,
    HeaderValue,
    Listener,
    Match,
    Mirror,
    PathMatch,
    PathMatchKind,
    Protocol,
    Timeouts,
    TLSServer,
    VirtualHost,
    WeightedCluster,
)

THIRD = "default/third/80/ghi"
MIRROR = "default/mirror/80/jkl"
UNUSED = "default/unused/80/mno"


def two_fleets() -> IR:
    shared_host = VirtualHost(
        "a",
        "a.example.com",
        routes=(
            route(
                "a",
                action=Forward((WeightedCluster(BACKEND, 1), WeightedCluster(THIRD, 0))),
                mirrors=(Mirror(MIRROR),),
            ),
        ),
    )
    web = Gateway(
        "default/web",
        (
            Listener("http-80", "0.0.0.0", 80, Protocol.HTTP, (shared_host,)),
            Listener(
                "https-443",
                "0.0.0.0",
                443,
                Protocol.HTTPS,
                (
                    VirtualHost(
                        "s",
                        "s.example.com",
                        routes=(route("s"),),
                        tls=TLSServer(secrets=("default/cert",)),
                    ),
                ),
            ),
        ),
    )
    other_host = VirtualHost(
        "b", "b.example.com", routes=(route("b", action=Forward((WeightedCluster(OTHER),))),)
    )
    api = Gateway(
        "infra/api",
        (Listener("http-8080", "0.0.0.0", 8080, Protocol.HTTP, (shared_host, other_host)),),
    )
    all_clusters = tuple(cluster(n) for n in (BACKEND, OTHER, THIRD, MIRROR, UNUSED))
    return IR(
        gateways=(web, api),
        clusters=all_clusters,
        endpoints=tuple(endpoints(c.name) for c in all_clusters),
        secrets=(tls_secret("default/cert"), tls_secret("default/unused")),
    )


def test_each_fleet_gets_only_what_it_references() -> None:
    resources = build_resources(two_fleets())
    assert list(resources) == ["default/web", "infra/api"]
    web, api = resources["default/web"], resources["infra/api"]
    assert list(web) == list(TYPE_URLS)
    assert list(web[LISTENER]) == ["http-80", "https-443"]
    assert list(web[ROUTE]) == ["http-80", "https-443/s.example.com"]
    # weight-0 THIRD and UNUSED are not referenced; the mirror is
    assert list(web[CLUSTER]) == [BACKEND, MIRROR]
    assert list(web[ENDPOINT]) == [BACKEND, MIRROR]
    assert list(web[SECRET]) == ["default/cert"]
    assert list(api[LISTENER]) == ["http-8080"]
    assert list(api[CLUSTER]) == [BACKEND, MIRROR, OTHER]
    assert api[SECRET] == {}


def test_shared_resources_are_the_same_objects() -> None:
    resources = build_resources(two_fleets())
    web, api = resources["default/web"], resources["infra/api"]
    assert web[CLUSTER][BACKEND] is api[CLUSTER][BACKEND]
    assert web[ENDPOINT][MIRROR] is api[ENDPOINT][MIRROR]


def test_messages_have_the_types_of_their_urls() -> None:
    expected = {
        LISTENER: listener_pb2.Listener,
        ROUTE: route_pb2.RouteConfiguration,
        CLUSTER: cluster_pb2.Cluster,
        ENDPOINT: endpoint_pb2.ClusterLoadAssignment,
        SECRET: secret_pb2.Secret,
    }
    for fleet in build_resources(two_fleets()).values():
        for type_url, msgs in fleet.items():
            cls = expected[type_url]
            assert type_url == "type.googleapis.com/" + cls.DESCRIPTOR.full_name
            for msg in msgs.values():
                assert isinstance(msg, cls)


def test_deterministic_bytes() -> None:
    def serialized(ir: IR) -> dict[str, dict[str, dict[str, bytes]]]:
        return {
            fleet: {
                t: {n: m.SerializeToString(deterministic=True) for n, m in msgs.items()}
                for t, msgs in res.items()
            }
            for fleet, res in build_resources(ir).items()
        }

    assert serialized(two_fleets()) == serialized(two_fleets())


def test_build_endpoints_alone() -> None:
    ir = two_fleets()
    out = build_endpoints(ir)
    assert list(out) == sorted([BACKEND, OTHER, THIRD, MIRROR, UNUSED])
    fleet = build_resources(ir)["default/web"]
    assert out[BACKEND].SerializeToString() == fleet[ENDPOINT][BACKEND].SerializeToString()


def test_both_fleets_accepted_by_envoy() -> None:
    results = validate_fleets(list(build_resources(two_fleets()).values()))
    assert all(r.ok for r in results), [r.output for r in results]


def big_ir(hosts: int = 100, per_host: int = 100) -> IR:
    clusters = tuple(cluster(f"ns/svc{i}/80/h") for i in range(50))
    vhs = []
    for h in range(hosts):
        routes = tuple(
            route(
                f"httproute/ns/r{h}/{r}",
                Match(
                    path=PathMatch(PathMatchKind.PREFIX, f"/p{r}"),
                    headers=(HeaderMatch("x-v", "1"),),
                ),
                action=Forward(
                    (
                        WeightedCluster(clusters[r % 50].name, 90),
                        WeightedCluster(clusters[(r + 1) % 50].name, 10),
                    )
                ),
                request_headers=HeaderModifier(set=(HeaderValue("x-a", "b"),)),
                timeouts=Timeouts(request=10),
            )
            for r in range(per_host)
        )
        vhs.append(VirtualHost(f"h{h}", f"h{h}.example.com", routes=routes))
    listener = Listener("http-80", "0.0.0.0", 80, Protocol.HTTP, tuple(vhs))
    return IR(gateways=(Gateway("default/web", (listener,)),), clusters=clusters)


def test_ten_thousand_routes_in_one_route_configuration() -> None:
    """All 10k routes in the listener's one RouteConfiguration (how fast: `make bench`)."""
    resources = build_resources(big_ir())
    config = resources["default/web"][ROUTE]["http-80"]
    assert isinstance(config, route_pb2.RouteConfiguration)
    assert sum(len(vh.routes) for vh in config.virtual_hosts) == 10_000
