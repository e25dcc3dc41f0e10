"""Route configurations: matches, actions and per-route policies, each checked on the protos
that matter and accepted by the real Envoy."""

from __future__ import annotations

import pytest
from envoy.config.core.v3 import base_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.type.v3 import percent_pb2
from envoy_testlib import (
    BACKEND,
    OTHER,
    assert_envoy_accepts,
    fleet_of,
    forward,
    http_ir,
    route,
)

from gateway_contour.envoy import names
from gateway_contour.envoy.resources import ROUTE
from gateway_contour.envoy.route_action import prefix_rewrite
from gateway_contour.ir.model import (
    CORSPolicy,
    DirectResponse,
    Forward,
    HeaderMatch,
    HeaderModifier,
    HeaderValue,
    Match,
    Mirror,
    PathMatch,
    PathMatchKind,
    PathRewrite,
    PathRewriteKind,
    QueryMatch,
    Redirect,
    RetryPolicy,
    Rewrite,
    Route,
    StringMatchKind,
    Timeouts,
    VirtualHost,
    WeightedCluster,
)


def build_routes(*routes: Route, hostname: str = "*") -> list[rc.Route]:
    resources = fleet_of(http_ir(*routes, hostname=hostname))
    config = resources[ROUTE]["http-80"]
    assert isinstance(config, route_pb2.RouteConfiguration)
    return list(config.virtual_hosts[0].routes)


def path(kind: PathMatchKind, value: str) -> Match:
    return Match(path=PathMatch(kind, value))


# ---------------------------------------------------------------- matches

PATH_CASES = [
    (PathMatchKind.EXACT, "/exact", "path", "/exact"),
    (PathMatchKind.PREFIX, "/foo", "path_separated_prefix", "/foo"),
    (PathMatchKind.PREFIX, "/foo/", "path_separated_prefix", "/foo"),
    (PathMatchKind.PREFIX, "/a/b//", "path_separated_prefix", "/a/b"),
    (PathMatchKind.PREFIX, "/", "prefix", "/"),
    (PathMatchKind.STRING_PREFIX, "/str", "prefix", "/str"),
    (PathMatchKind.REGEX, "/v[0-9]+/.*", "safe_regex", "/v[0-9]+/.*"),
]


@pytest.mark.parametrize(("kind", "value", "field", "expected"), PATH_CASES)
def test_path_match(kind: PathMatchKind, value: str, field: str, expected: str) -> None:
    (r,) = build_routes(route(match=path(kind, value)))
    assert r.match.WhichOneof("path_specifier") == field
    got = r.match.safe_regex.regex if field == "safe_regex" else getattr(r.match, field)
    assert got == expected


def test_all_path_kinds_accepted_by_envoy() -> None:
    routes = [route(f"r{i}", path(kind, value)) for i, (kind, value, _, _) in enumerate(PATH_CASES)]
    assert_envoy_accepts(fleet_of(http_ir(*routes)))


def test_header_query_method_grpc_matches() -> None:
    match = Match(
        path=PathMatch(PathMatchKind.PREFIX, "/"),
        headers=(
            HeaderMatch("x-exact", "v"),
            HeaderMatch("x-re", "v[0-9]+", StringMatchKind.REGEX),
            HeaderMatch("x-pre", "ab", StringMatchKind.PREFIX, ignore_case=True),
            HeaderMatch("x-here", kind=StringMatchKind.PRESENT),
            HeaderMatch("x-gone", kind=StringMatchKind.PRESENT, invert=True),
            HeaderMatch("x-not", "bad", StringMatchKind.CONTAINS, invert=True),
        ),
        query=(
            QueryMatch("q", "1"),
            QueryMatch("qr", "^a.*", StringMatchKind.REGEX),
            QueryMatch("qp", kind=StringMatchKind.PRESENT),
        ),
        method="POST",
        grpc=True,
    )
    (r,) = build_routes(route(match=match))
    headers = {h.name: h for h in r.match.headers}
    assert headers["x-exact"].string_match.exact == "v"
    assert headers["x-re"].string_match.safe_regex.regex == "v[0-9]+"
    assert headers["x-pre"].string_match.prefix == "ab"
    assert headers["x-pre"].string_match.ignore_case
    assert headers["x-here"].present_match and not headers["x-here"].invert_match
    assert headers["x-gone"].present_match and headers["x-gone"].invert_match
    assert headers["x-not"].string_match.contains == "bad" and headers["x-not"].invert_match
    assert headers[":method"].string_match.exact == "POST"
    query = {q.name: q for q in r.match.query_parameters}
    assert query["q"].string_match.exact == "1"
    assert query["qr"].string_match.safe_regex.regex == "^a.*"
    assert query["qp"].present_match
    assert r.match.HasField("grpc")
    assert_envoy_accepts(fleet_of(http_ir(route(match=match))))


# ---------------------------------------------------------------- forwarding


def test_forward_single_and_weighted() -> None:
    single, weighted, zero_dropped, none_positive, invalid = build_routes(
        route("single", action=forward(BACKEND)),
        route(
            "weighted",
            action=Forward((WeightedCluster(BACKEND, 3), WeightedCluster(OTHER, 1))),
        ),
        route(
            "zero",
            action=Forward((WeightedCluster(BACKEND, 0), WeightedCluster(OTHER, 2))),
        ),
        route("none", action=Forward((WeightedCluster(BACKEND, 0),), unavailable_status=503)),
        route(
            "invalid",
            action=Forward(
                (WeightedCluster(BACKEND, 1),), unavailable_status=500, invalid_weight=1
            ),
        ),
    )
    assert single.route.cluster == BACKEND
    got = [(c.name, c.weight.value) for c in weighted.route.weighted_clusters.clusters]
    assert got == [(BACKEND, 3), (OTHER, 1)]
    assert zero_dropped.route.cluster == OTHER  # the weight-0 backend is gone
    assert none_positive.WhichOneof("action") == "direct_response"
    assert none_positive.direct_response.status == 503
    got = [(c.name, c.weight.value) for c in invalid.route.weighted_clusters.clusters]
    assert got == [(BACKEND, 1), (names.BLACKHOLE_CLUSTER, 1)]
    assert invalid.route.cluster_not_found_response_code == rc.RouteAction.INTERNAL_SERVER_ERROR


def test_per_backend_headers_use_weighted_clusters() -> None:
    wc = WeightedCluster(
        BACKEND,
        request_headers=HeaderModifier(
            set=(HeaderValue("x-a", "1"), HeaderValue("host", "b.example.com"))
        ),
        response_headers=HeaderModifier(remove=("x-secret",)),
    )
    (r,) = build_routes(route(action=Forward((wc,))))
    (weight,) = r.route.weighted_clusters.clusters
    assert [h.header.key for h in weight.request_headers_to_add] == ["x-a"]
    assert weight.host_rewrite_literal == "b.example.com"
    assert list(weight.response_headers_to_remove) == ["x-secret"]


def test_direct_response_with_body() -> None:
    (r,) = build_routes(route(action=DirectResponse(404, body="nope")))
    assert r.direct_response.status == 404
    assert r.direct_response.body.inline_string == "nope"


# ---------------------------------------------------------------- redirects


def redirect(**kwargs: object) -> rc.RedirectAction:
    (r,) = build_routes(route(action=Redirect(**kwargs)))  # type: ignore[arg-type]
    assert r.WhichOneof("action") == "redirect"
    return r.redirect


def test_redirect_scheme_and_default_port_omitted() -> None:
    out = redirect(scheme="https", port=443, status_code=301)
    assert out.scheme_redirect == "https"
    assert out.port_redirect == 0  # well-known port of the new scheme: no port in Location
    assert out.response_code == rc.RedirectAction.MOVED_PERMANENTLY


def test_redirect_explicit_port_host_and_codes() -> None:
    out = redirect(hostname="example.org", port=8443, status_code=308)
    assert out.host_redirect == "example.org"
    assert out.port_redirect == 8443
    assert out.response_code == rc.RedirectAction.PERMANENT_REDIRECT
    assert redirect(port=80).port_redirect == 0  # http listener, port 80 is the default
    assert redirect(scheme="https", port=8080, strip_port=True).port_redirect == 0
    codes = {c: redirect(status_code=c).response_code for c in (301, 302, 303, 307, 308)}
    assert codes == {
        301: rc.RedirectAction.MOVED_PERMANENTLY,
        302: rc.RedirectAction.FOUND,
        303: rc.RedirectAction.SEE_OTHER,
        307: rc.RedirectAction.TEMPORARY_REDIRECT,
        308: rc.RedirectAction.PERMANENT_REDIRECT,
    }


def test_redirect_paths() -> None:
    full = redirect(path=PathRewrite(PathRewriteKind.FULL, "/new"))
    assert full.path_redirect == "/new"
    prefix = redirect(path=PathRewrite(PathRewriteKind.PREFIX, "/new", matched_prefix="/old"))
    assert prefix.prefix_rewrite == "/new"
    to_root = redirect(path=PathRewrite(PathRewriteKind.PREFIX, "/", matched_prefix="/old"))
    assert to_root.regex_rewrite.pattern.regex == "^/old/*"
    assert to_root.regex_rewrite.substitution == "/"


# ---------------------------------------------------------------- rewrites


# Gateway API ReplacePrefixMatch table (HTTPPathModifier docs): how each rewrite must behave
@pytest.mark.parametrize(
    ("matched", "replacement", "expected"),
    [
        ("/foo", "/xyz", ("prefix", "/xyz")),
        ("/foo", "/xyz/", ("prefix", "/xyz")),
        ("/foo/", "/xyz", ("prefix", "/xyz")),
        ("/foo/", "/xyz/", ("prefix", "/xyz")),
        ("/foo", "", ("regex", "^/foo/*")),
        ("/foo", "/", ("regex", "^/foo/*")),
        ("/", "/xyz", ("prefix", "/xyz/")),
        ("/", "/", ("", "")),
    ],
)
def test_prefix_rewrite_gateway_semantics(
    matched: str, replacement: str, expected: tuple[str, str]
) -> None:
    assert prefix_rewrite(matched, replacement, segments=True) == expected


def test_prefix_rewrite_plain_string_prefix() -> None:
    assert prefix_rewrite("/foo", "/bar/", segments=False) == ("prefix", "/bar/")


def test_rewrites_on_route_action() -> None:
    host, full, prefix, string_prefix = build_routes(
        route("host", rewrite=Rewrite(hostname="internal.example.com")),
        route("full", rewrite=Rewrite(path=PathRewrite(PathRewriteKind.FULL, "/x"))),
        route(
            "prefix",
            path(PathMatchKind.PREFIX, "/api/"),
            rewrite=Rewrite(path=PathRewrite(PathRewriteKind.PREFIX, "/", matched_prefix="/api/")),
        ),
        route(
            "string",
            path(PathMatchKind.STRING_PREFIX, "/s"),
            rewrite=Rewrite(path=PathRewrite(PathRewriteKind.PREFIX, "/t", matched_prefix="/s")),
        ),
    )
    assert host.route.host_rewrite_literal == "internal.example.com"
    assert full.route.regex_rewrite.pattern.regex == "^/.*$"
    assert full.route.regex_rewrite.substitution == "/x"
    assert prefix.route.regex_rewrite.pattern.regex == "^/api/*"
    assert prefix.route.regex_rewrite.substitution == "/"
    assert string_prefix.route.prefix_rewrite == "/t"


# ---------------------------------------------------------------- header modifiers


def test_route_header_modifiers() -> None:
    (r,) = build_routes(
        route(
            request_headers=HeaderModifier(
                set=(HeaderValue("x-set", "1"), HeaderValue("Host", "h.example.com")),
                add=(HeaderValue("x-add", "2"),),
                remove=("x-drop", "host", ":path"),
            ),
            response_headers=HeaderModifier(set=(HeaderValue("x-resp", "3"),), remove=("server",)),
        )
    )
    added = [(h.header.key, h.header.value, h.append_action) for h in r.request_headers_to_add]
    assert added == [
        ("x-set", "1", base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD),
        ("x-add", "2", base_pb2.HeaderValueOption.APPEND_IF_EXISTS_OR_ADD),
    ]
    # Host and pseudo-headers cannot be touched as headers: Host becomes a host rewrite
    assert list(r.request_headers_to_remove) == ["x-drop"]
    assert r.route.host_rewrite_literal == "h.example.com"
    assert [h.header.key for h in r.response_headers_to_add] == ["x-resp"]
    assert list(r.response_headers_to_remove) == ["server"]


# ---------------------------------------------------------------- policies


def test_mirrors_timeouts_retries_websocket() -> None:
    mirrored, timeouts, retried, per_try_only, ws = build_routes(
        route("m", mirrors=(Mirror(OTHER), Mirror(OTHER, percent=12.5))),
        route("t", timeouts=Timeouts(request=0, idle=30.5)),
        route(
            "r",
            retry=RetryPolicy(
                attempts=3, per_try_timeout=1.5, status_codes=(503,), backoff_base=0.1
            ),
        ),
        route("p", timeouts=Timeouts(request=10, backend_request=2)),
        route("w", websocket=True),
    )
    full, partial = mirrored.route.request_mirror_policies
    assert full.cluster == OTHER and not full.HasField("runtime_fraction")
    fraction = partial.runtime_fraction.default_value
    assert (fraction.numerator, fraction.denominator) == (
        125_000,
        percent_pb2.FractionalPercent.MILLION,
    )

    assert timeouts.route.HasField("timeout")  # 0s is set: it disables the timeout
    assert timeouts.route.timeout.seconds == 0 and timeouts.route.timeout.nanos == 0
    assert (timeouts.route.idle_timeout.seconds, timeouts.route.idle_timeout.nanos) == (
        30,
        500_000_000,
    )
    assert not timeouts.route.HasField("retry_policy")

    policy = retried.route.retry_policy
    assert policy.retry_on == "5xx,retriable-status-codes"
    assert policy.num_retries.value == 3
    assert list(policy.retriable_status_codes) == [503]
    assert policy.per_try_timeout.ToMilliseconds() == 1500
    assert policy.retry_back_off.base_interval.ToMilliseconds() == 100

    assert per_try_only.route.timeout.seconds == 10
    assert per_try_only.route.retry_policy.HasField("num_retries")
    assert per_try_only.route.retry_policy.num_retries.value == 0
    assert per_try_only.route.retry_policy.per_try_timeout.seconds == 2

    (upgrade,) = ws.route.upgrade_configs
    assert upgrade.upgrade_type == "websocket" and upgrade.enabled.value


def test_cors_policy_on_route_and_host() -> None:
    cors = CORSPolicy(
        allow_origins=("https://a.example.com", "https://*.example.org"),
        allow_methods=("GET", "POST"),
        allow_headers=("x-a",),
        expose_headers=("x-b",),
        allow_credentials=True,
        max_age=600,
    )
    (r,) = build_routes(route(cors=cors))
    policy = cors_pb2.CorsPolicy()
    assert r.typed_per_filter_config[names.CORS_FILTER].Unpack(policy)
    exact, pattern = policy.allow_origin_string_match
    assert exact.exact == "https://a.example.com"
    assert pattern.safe_regex.regex == r"https://.*\.example\.org"
    assert policy.allow_methods == "GET,POST"
    assert policy.allow_credentials.value
    assert policy.max_age == "600"


def test_every_route_feature_together_is_accepted_by_envoy() -> None:
    routes = (
        route("a", path(PathMatchKind.PREFIX, "/a/"), mirrors=(Mirror(OTHER, 50),)),
        route(
            "b",
            path(PathMatchKind.PREFIX, "/b"),
            action=Forward(
                (
                    WeightedCluster(
                        BACKEND, 2, request_headers=HeaderModifier(add=(HeaderValue("x", "y"),))
                    ),
                    WeightedCluster(OTHER, 1),
                ),
                invalid_weight=1,
            ),
            rewrite=Rewrite(
                hostname="h", path=PathRewrite(PathRewriteKind.PREFIX, "/", matched_prefix="/b")
            ),
            timeouts=Timeouts(request=0, backend_request=1, idle=5),
            retry=RetryPolicy(attempts=2, status_codes=(502, 503), backoff_base=0.05),
            websocket=True,
            cors=CORSPolicy(allow_origins=("*",), allow_methods=("GET",)),
        ),
        route("c", path(PathMatchKind.EXACT, "/c"), action=DirectResponse(200, "ok")),
        route(
            "d",
            path(PathMatchKind.PREFIX, "/d"),
            action=Redirect(
                scheme="https",
                hostname="x.example.com",
                port=8443,
                path=PathRewrite(PathRewriteKind.PREFIX, "/", matched_prefix="/d"),
                status_code=307,
            ),
        ),
        route(
            "e",
            path(PathMatchKind.REGEX, "/e/[a-z]+"),
            action=Redirect(path=PathRewrite(PathRewriteKind.FULL, "/f")),
        ),
        route("f", action=Forward((WeightedCluster(BACKEND, 0),))),
        route(
            "g",
            rewrite=Rewrite(path=PathRewrite(PathRewriteKind.FULL, "/full")),
            request_headers=HeaderModifier(remove=("x-r",)),
            response_headers=HeaderModifier(add=(HeaderValue("x-s", "1"),)),
        ),
    )
    resources = fleet_of(http_ir(*routes, hostname="*.example.com"))
    config = resources[ROUTE]["http-80"]
    assert isinstance(config, route_pb2.RouteConfiguration)
    assert list(config.virtual_hosts[0].domains) == ["*.example.com"]
    assert [r.name for r in config.virtual_hosts[0].routes] == list("abcdefg")  # IR order
    assert_envoy_accepts(resources)


def test_duplicate_hostnames_are_skipped() -> None:
    dup = VirtualHost(name="dup", hostname="*", routes=(route("other"),))
    config = fleet_of(http_ir(route("first"), extra_hosts=(dup,)))[ROUTE]["http-80"]
    assert isinstance(config, route_pb2.RouteConfiguration)
    assert [vh.name for vh in config.virtual_hosts] == ["*"]
