"""What a matched route does: IR actions and per-route policies -> Envoy route fields.

- Forward -> `RouteAction.cluster`, or `weighted_clusters` when there are several positive
  weights, per-backend header filters or an `invalid_weight` (weight-0 entries are dropped;
  with no positive weight the route answers `unavailable_status` as a direct response). The
  invalid share goes to `names.BLACKHOLE_CLUSTER`, which no fleet defines, and
  `cluster_not_found_response_code` turns it into `unavailable_status` (500, 404 or 503).
- Redirect -> `RedirectAction`. A redirect carries a port only when one is set and it is not
  the default port of the resulting scheme (Gateway API: well-known ports are omitted), or
  `keep_port` says to write it anyway. Envoy builds the Location host from the request's Host,
  which keeps any port the client put there unless `port_redirect` replaces it (or the scheme
  changes and it is the old scheme's default): hence `keep_port` on listeners whose clients
  send a port.
- DirectResponse -> `DirectResponseAction`.
- Rewrites: hostname (or a request header filter setting Host) -> `host_rewrite_literal`,
  hostname_header -> `host_rewrite_header`;
  ReplaceFullPath -> `regex_rewrite` of the whole path; ReplacePrefixMatch -> `prefix_rewrite`
  with Gateway API semantics (see `prefix_rewrite`). Redirect paths follow the same rules.
- Timeouts: request -> `timeout` (0 disables it), idle -> `idle_timeout`, backend_request ->
  `retry_policy.per_try_timeout` (a retry policy with zero retries when no retries are set).
- Retries -> `retry_policy`; mirrors -> `request_mirror_policies` (percent as a runtime
  fraction per million); websocket -> a per-route `upgrade_configs` override; hash
  policies -> `hash_policy` (keys for ring-hash/maglev clusters).

Builders fill the Route's sub-messages in place (see `route_match` for why).
"""

from __future__ import annotations

from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.type.matcher.v3 import regex_pb2
from envoy.type.v3 import percent_pb2

from gateway_contour.envoy import names
from gateway_contour.envoy.common import add_header_options, host_from_modifier, set_duration
from gateway_contour.ir.model import (
    DirectResponse,
    Forward,
    HashPolicy,
    Mirror,
    PathRewrite,
    PathRewriteKind,
    Redirect,
    RetryPolicy,
    Route,
    Timeouts,
)
from gateway_contour.ir.patterns import prefix_strip_regex

_REDIRECT_CODES = {
    301: rc.RedirectAction.MOVED_PERMANENTLY,
    302: rc.RedirectAction.FOUND,
    303: rc.RedirectAction.SEE_OTHER,
    307: rc.RedirectAction.TEMPORARY_REDIRECT,
    308: rc.RedirectAction.PERMANENT_REDIRECT,
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WEBSOCKET = "websocket"
_MILLION = percent_pb2.FractionalPercent.MILLION
_NOT_FOUND_CODES = {
    404: rc.RouteAction.NOT_FOUND,
    500: rc.RouteAction.INTERNAL_SERVER_ERROR,
    503: rc.RouteAction.SERVICE_UNAVAILABLE,
}


def prefix_rewrite(matched_prefix: str, replacement: str, segments: bool) -> tuple[str, str]:
    """How to replace `matched_prefix` by `replacement`: ("prefix", value) for a
    prefix_rewrite, ("regex", pattern) for a regex_rewrite substituting "/", ("", "") for
    nothing to do.

    With `segments` (Gateway API ReplacePrefixMatch after a PathPrefix match) trailing slashes
    do not matter on either side and the result never has a doubled or missing slash:
    /foo -> /xyz gives /foo/bar -> /xyz/bar and /foo -> /xyz; /foo -> / gives /foo/bar -> /bar
    and /foo -> /. Without `segments` (plain string prefix) the prefix is swapped as is.
    """
    if not segments:
        return "prefix", replacement
    prefix = matched_prefix.rstrip("/")
    target = replacement.rstrip("/")
    if not target:
        if not prefix:
            return "", ""  # "/" -> "/"
        return "regex", prefix_strip_regex(prefix)
    if not prefix:
        # the match was "/": Envoy swaps the leading "/", so keep the separator
        return "prefix", target + "/"
    return "prefix", target


def _fill_prefix_rewrite(
    out: rc.RouteAction | rc.RedirectAction, rewrite: PathRewrite, segments: bool
) -> None:
    how, value = prefix_rewrite(rewrite.matched_prefix, rewrite.value, segments)
    if how == "prefix":
        out.prefix_rewrite = value
    elif how == "regex":
        out.regex_rewrite.pattern.regex = value
        out.regex_rewrite.substitution = "/"


def _fill_full_path_rewrite(out: regex_pb2.RegexMatchAndSubstitute, value: str) -> None:
    out.pattern.regex = "^/.*$"
    out.substitution = value


def fill_redirect(
    out: rc.RedirectAction, redirect: Redirect, listener_scheme: str, segments: bool
) -> None:
    out.SetInParent()  # a plain 301 sets no field at all, yet must select the action
    code = _REDIRECT_CODES.get(redirect.status_code, rc.RedirectAction.FOUND)
    if code:
        out.response_code = code
    if redirect.scheme:
        out.scheme_redirect = redirect.scheme
    if redirect.hostname:
        out.host_redirect = redirect.hostname
    scheme = redirect.scheme or listener_scheme
    port = redirect.port
    default = _DEFAULT_PORTS.get(scheme) == port
    if port is not None and not redirect.strip_port and (redirect.keep_port or not default):
        out.port_redirect = port
    path = redirect.path
    if path is not None:
        if path.kind is PathRewriteKind.FULL:
            out.path_redirect = path.value
        else:
            _fill_prefix_rewrite(out, path, segments)


def fill_direct_response(out: rc.DirectResponseAction, response: DirectResponse) -> None:
    out.status = response.status
    if response.body is not None:
        out.body.inline_string = response.body


def fill_forward(out: rc.Route, forward: Forward, route: Route, segments: bool) -> None:
    """`out.route` for a Forward, or a direct response when no backend has a positive weight."""
    positive = [wc for wc in forward.clusters if wc.weight > 0]
    if not positive:
        out.direct_response.status = forward.unavailable_status
        return
    action = out.route
    first = positive[0]
    invalid = forward.invalid_weight
    if (
        len(positive) == 1
        and not invalid
        and not first.request_headers
        and not first.response_headers
    ):
        action.cluster = names.cluster(first.cluster)
    else:
        weighted = action.weighted_clusters.clusters
        for wc in positive:
            weight = weighted.add()
            weight.name = names.cluster(wc.cluster)
            weight.weight.value = wc.weight
            if wc.request_headers:
                add_header_options(
                    weight.request_headers_to_add,
                    weight.request_headers_to_remove,
                    wc.request_headers,
                    request=True,
                )
                host = host_from_modifier(wc.request_headers)
                if host:
                    weight.host_rewrite_literal = host
            if wc.response_headers:
                add_header_options(
                    weight.response_headers_to_add,
                    weight.response_headers_to_remove,
                    wc.response_headers,
                    request=False,
                )
        if invalid > 0:
            blackhole = weighted.add()
            blackhole.name = names.BLACKHOLE_CLUSTER
            blackhole.weight.value = invalid
            code = _NOT_FOUND_CODES.get(
                forward.unavailable_status, rc.RouteAction.SERVICE_UNAVAILABLE
            )
            if code:
                action.cluster_not_found_response_code = code
    _fill_policies(action, route, segments)


def _fill_policies(out: rc.RouteAction, route: Route, segments: bool) -> None:
    rewrite = route.rewrite
    host = rewrite.hostname if rewrite is not None and rewrite.hostname else None
    if host is None and route.request_headers:
        host = host_from_modifier(route.request_headers)
    if host:
        out.host_rewrite_literal = host
    elif rewrite is not None and rewrite.hostname_header:
        out.host_rewrite_header = rewrite.hostname_header
    if rewrite is not None and rewrite.path is not None:
        if rewrite.path.kind is PathRewriteKind.FULL:
            _fill_full_path_rewrite(out.regex_rewrite, rewrite.path.value)
        else:
            _fill_prefix_rewrite(out, rewrite.path, segments)
    timeouts = route.timeouts
    if timeouts is not None:
        if timeouts.request is not None:
            set_duration(out.timeout, timeouts.request)
        if timeouts.idle is not None:
            set_duration(out.idle_timeout, timeouts.idle)
    if route.retry is not None or (timeouts is not None and timeouts.backend_request is not None):
        fill_retry_policy(out.retry_policy, route.retry, timeouts)
    for mirror in route.mirrors:
        fill_mirror_policy(out.request_mirror_policies.add(), mirror)
    for policy in route.hash_policies:
        fill_hash_policy(out.hash_policy.add(), policy)
    if route.websocket:
        upgrade = out.upgrade_configs.add()
        upgrade.upgrade_type = _WEBSOCKET
        upgrade.enabled.value = True


def fill_retry_policy(
    out: rc.RetryPolicy, retry: RetryPolicy | None, timeouts: Timeouts | None
) -> None:
    per_try = retry.per_try_timeout if retry is not None else None
    if per_try is None and timeouts is not None:
        per_try = timeouts.backend_request
    if retry is None:
        out.num_retries.value = 0  # a per-try timeout only; Envoy would default to 1 retry
    else:
        retry_on = list(retry.retry_on)
        if retry.status_codes and "retriable-status-codes" not in retry_on:
            retry_on.append("retriable-status-codes")
        out.retry_on = ",".join(retry_on)
        out.num_retries.value = retry.attempts
        out.retriable_status_codes.extend(retry.status_codes)
        if retry.backoff_base is not None:
            set_duration(out.retry_back_off.base_interval, retry.backoff_base)
    if per_try is not None and per_try > 0:
        set_duration(out.per_try_timeout, per_try)


def fill_hash_policy(out: rc.RouteAction.HashPolicy, policy: HashPolicy) -> None:
    if policy.header:
        out.header.header_name = policy.header
    elif policy.query_parameter:
        out.query_parameter.name = policy.query_parameter
    elif policy.cookie:
        out.cookie.name = policy.cookie
        out.cookie.path = "/"
        out.cookie.ttl.SetInParent()  # a zero TTL: Envoy sets a session cookie when missing
    elif policy.source_ip:
        out.connection_properties.source_ip = True
    out.terminal = policy.terminal


def fill_mirror_policy(out: rc.RouteAction.RequestMirrorPolicy, mirror: Mirror) -> None:
    out.cluster = names.cluster(mirror.cluster)
    if mirror.percent < 100:
        fraction = out.runtime_fraction.default_value
        fraction.numerator = max(0, round(mirror.percent * 10_000))
        fraction.denominator = _MILLION
