"""`x-kubernetes-list-type` uniqueness and the CRDs' CEL rules (transition rules skipped),
with Kubernetes' `isIP` and escaped property names."""

from __future__ import annotations

from gateway_contour.validation.cel_library import escape, is_ip
from gateway_contour.validation.cel_rules import compile_rules
from gateway_contour.validation.list_types import check_list
from gateway_contour.validation.structural import Rule
from tests.unit.validation.test_schema_rules import GW, errors_of, route


def gateway(listeners: list[dict]) -> dict:
    return {
        "apiVersion": GW,
        "kind": "Gateway",
        "metadata": {"name": "g"},
        "spec": {"gatewayClassName": "gc", "listeners": listeners},
    }


def test_duplicate_listener_names_as_the_api_server_says_it() -> None:
    http = {"name": "http", "port": 80, "protocol": "HTTP"}
    assert errors_of(gateway([http, {**http, "port": 81}])) == [
        'spec.listeners[1]: Duplicate value: map[string]interface {}{"name":"http"}',
        'spec.listeners: Invalid value: "array": Listener name must be unique within the Gateway',
    ]


def test_set_and_map_lists() -> None:
    assert [str(e) for e in check_list(["a", "b", "a"], "set", (), ["x"])] == [
        'x[2]: Duplicate value: "a"'
    ]
    items = [{"k": 1, "v": "a"}, {"k": 1, "v": "b"}, {"k": 2}]
    assert [str(e) for e in check_list(items, "map", ("k",), ["m"])] == [
        'm[1]: Duplicate value: map[string]interface {}{"k":1}'
    ]
    assert check_list(["a", "a"], "atomic", (), ["x"]) == []


def test_cel_rules_with_has_exists_one_filter_and_duration() -> None:
    redirect = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}
    rule = {"filters": [redirect], "backendRefs": [{"name": "web", "port": 80}]}
    (error,) = errors_of(route({"rules": [rule]}))
    assert error.startswith('spec.rules[0]: Invalid value: "object": RequestRedirect filter')
    timeouts = {"timeouts": {"request": "1s", "backendRequest": "2s"}}
    (error,) = errors_of(route({"rules": [timeouts]}))
    assert error == (
        'spec.rules[0].timeouts: Invalid value: "object": backendRequest timeout cannot be '
        "longer than request timeout"
    )
    assert (
        errors_of(route({"rules": [{"timeouts": {"request": "1m", "backendRequest": "2s"}}]})) == []
    )


def test_string_functions_and_is_ip_in_tls_route_rules() -> None:
    spec = {"hostnames": ["1.2.3.4"], "rules": [{"backendRefs": [{"name": "s", "port": 443}]}]}
    assert errors_of(route(spec, "TLSRoute")) == [
        'spec.hostnames: Invalid value: "array": Hostnames cannot contain an IP'
    ]
    spec["hostnames"] = ["*.example.com"]
    assert errors_of(route(spec, "TLSRoute")) == []
    assert is_ip("::1") and is_ip("10.0.0.1")
    assert not is_ip("fe80::1%eth0") and not is_ip("::ffff:10.0.0.1") and not is_ip("a.b")


def test_escaped_namespace_in_parent_ref_rules() -> None:
    refs = [
        {"name": "gw", "namespace": "a", "sectionName": "x"},
        {"name": "gw", "namespace": "a", "sectionName": "y", "port": 80},
    ]
    (error,) = errors_of(route({"parentRefs": refs}))
    assert error.startswith('spec.parentRefs: Invalid value: "array": sectionName or port')
    refs[1]["namespace"] = "b"  # another parent: fine
    assert errors_of(route({"parentRefs": refs})) == []
    assert (
        escape("namespace") == "__namespace__"
        and escape("a.b-c/d") == "a__dot__b__dash__c__slash__d"
    )


def test_transition_rules_are_skipped_and_errors_reported() -> None:
    assert compile_rules([Rule("self == oldSelf", "immutable")]) is None
    rules = compile_rules([Rule("self.a > 1", "a must be over 1"), Rule("self.b == 1", "b")])
    assert rules is not None
    assert [str(e) for e in rules.check({"a": 2, "b": 1}, ["spec"])] == []
    assert [str(e) for e in rules.check({"a": 0, "b": 1}, ["spec"])] == [
        'spec: Invalid value: "object": a must be over 1'
    ]
    (missing,) = rules.check({"a": 2}, ["spec"])  # no such key: the rule errs
    assert missing.detail.startswith('Invalid value: "object": b: rule evaluation error')
