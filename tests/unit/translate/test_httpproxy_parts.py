"""The small parsers of translate/httpproxy and the envoy builders of its policies, on the
edge cases golden files do not show one by one."""

from __future__ import annotations

import pytest
from envoy.config.rbac.v3 import rbac_pb2 as rbac_config

from gateway_contour.envoy.ratelimit import rate_limit_per_route
from gateway_contour.envoy.rbac import rbac_per_route
from gateway_contour.ir.model import (
    IPFilter,
    IPRule,
    LocalRateLimit,
    PathMatchKind,
    StringMatchKind,
)
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate.envoy_checks.limits import UINT32_MAX
from gateway_contour.translate.httpproxy.conditions import Conditions, parse_block
from gateway_contour.translate.httpproxy.policies import duration, ip_filter, retry
from gateway_contour.translate.httpproxy.status import ProxyStatus
from gateway_contour.translate.httpproxy.tls import Delegations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("1m30s", 90.0),
        ("250ms", 0.25),
        ("1.5h", 5400.0),
        ("infinity", 0.0),
        ("infinite", 0.0),
        (".5s", 0.5),  # Go's forms, which the CRD's pattern lets through too
        ("5.s", 5.0),
        ("1µs", 1e-6),
        ("", None),
        ("10", None),
        ("1s garbage", None),
        ("-1s", None),
        (5, None),
        ("2562047h", 2562047 * 3600.0),  # the longest Go (and Contour) parses, in hours
        ("2562048h", None),  # past it: Envoy would refuse the route configuration too
        ("100000000h", None),
    ],
)
def test_duration(text: object, seconds: float | None) -> None:
    assert duration(text) == seconds


def _block(*entries: dict[str, object]) -> Conditions:
    found = parse_block(list(entries))
    assert isinstance(found, Conditions), found
    return found


def test_include_prefixes_join_without_doubled_slashes() -> None:
    parent = _block({"prefix": "/api/"})
    child = parent.then(_block({"prefix": "/v1"}))
    assert isinstance(child, Conditions) and child.path == "/api/v1"
    exact = parent.then(_block({"exact": "/status"}))
    assert isinstance(exact, Conditions)
    assert (exact.path_kind, exact.path) == (PathMatchKind.EXACT, "/api/status")
    # a child's regex keeps the parent's prefix, escaped, in front
    regex = _block({"prefix": "/a.b"}).then(_block({"regex": "/[0-9]+"}))
    assert isinstance(regex, Conditions) and regex.path == r"/a\.b/[0-9]+"
    # no path in the child: the include's prefix
    assert parent.then(Conditions()) == Conditions(path="/api/")


def test_include_conditions_must_be_prefixes() -> None:
    assert isinstance(_block({"exact": "/x"}).then(Conditions()), str)


def test_header_and_query_conditions() -> None:
    found = _block(
        {"header": {"name": "X-A", "notcontains": "b", "ignoreCase": True}},
        {"queryParameter": {"name": "Q", "suffix": "z"}},
    )
    (header,) = found.headers
    assert (header.name, header.kind, header.invert, header.ignore_case) == (
        "x-a",
        StringMatchKind.CONTAINS,
        True,
        True,
    )
    (query,) = found.query
    assert (query.name, query.kind, query.value) == ("Q", StringMatchKind.SUFFIX, "z")


@pytest.mark.parametrize(
    "block",
    [
        {"conditions": "nope"},
        [{"header": {"exact": "x"}}],
        [{"header": {"name": "x"}}],
        [{"queryParameter": {"name": "q", "exact": "1", "prefix": "2"}}],
        [{"exact": "relative"}],
    ],
)
def test_invalid_blocks_are_messages(block: object) -> None:
    assert isinstance(parse_block(block), str)


def test_ip_filter_normalizes_addresses() -> None:
    errors: list[tuple[str, str, str]] = []
    found = ip_filter(
        [{"source": "Peer", "cidr": "10.1.2.3"}, {"source": "Remote", "cidr": "10.0.0.1/8"}],
        None,
        lambda *e: errors.append(e),
    )
    assert not errors
    assert found == IPFilter(allow=(IPRule("10.1.2.3/32", True), IPRule("10.0.0.0/8", False)))


def test_status_shapes() -> None:
    orphan = ProxyStatus(4).to_api()
    assert orphan["currentStatus"] == "orphaned"
    assert orphan["conditions"][0]["observedGeneration"] == 4
    broken = ProxyStatus(1)
    broken.reached = True
    broken.error("TLSError", "SecretNotValid", "first")
    broken.error("TLSError", "SecretNotValid", "first")  # repeats are kept once
    data = broken.to_api()
    assert (data["currentStatus"], data["description"]) == ("invalid", "first")
    assert len(data["conditions"][0]["errors"]) == 1


def test_delegation_to_every_namespace() -> None:
    delegation = {
        "kind": "TLSCertificateDelegation",
        "metadata": {"name": "d", "namespace": "certs"},
        "spec": {"delegations": [{"secretName": "wild", "targetNamespaces": ["*"]}]},
    }
    delegations = Delegations(Snapshot.of([delegation]))
    assert delegations.permits("certs", "wild", "anyone")
    assert not delegations.permits("certs", "other", "anyone")
    assert delegations.permits("same", "anything", "same")


def test_rbac_rules() -> None:
    allow = rbac_per_route(IPFilter(allow=(IPRule("2001:db8::/32", peer=True),)))
    rules = allow.rbac.rules
    assert rules.action == rbac_config.RBAC.ALLOW
    principal = rules.policies["ip-filter"].principals[0]
    assert principal.direct_remote_ip.address_prefix == "2001:db8::"
    assert principal.direct_remote_ip.prefix_len.value == 32
    deny = rbac_per_route(IPFilter(deny=(IPRule("10.0.0.0/8"),)))
    assert deny.rbac.rules.action == rbac_config.RBAC.DENY
    assert deny.rbac.rules.policies["ip-filter"].principals[0].remote_ip.prefix_len.value == 8


def test_rate_limit_bucket() -> None:
    limit = rate_limit_per_route(LocalRateLimit(requests=10, unit=60, burst=5))
    assert limit.token_bucket.max_tokens == 15
    assert limit.token_bucket.tokens_per_fill.value == 10
    assert limit.token_bucket.fill_interval.seconds == 60


def test_retry_counts_past_uint32_are_refused() -> None:
    """Envoy's num_retries is a UInt32Value: a larger count cannot even be built, so the
    route is refused instead (every other object keeps its updates)."""
    errors: list[tuple[str, str, str]] = []
    sink = lambda *error: errors.append(error)  # noqa: E731
    biggest = retry({"count": UINT32_MAX}, sink)
    assert biggest is not None and biggest.attempts == UINT32_MAX and not errors
    assert retry({"count": UINT32_MAX + 1, "retriableStatusCodes": [2**40, 503]}, sink) is None
    ((_, reason, message),) = errors
    assert reason == "RetryPolicyNotValid" and "over 4294967295" in message
    codes = retry({"retriableStatusCodes": [2**40, 503]}, sink)
    assert codes is not None and codes.status_codes == (503,)
