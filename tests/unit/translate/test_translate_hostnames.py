"""Hostname validation, wildcard matching, listener/route intersection, covering names."""

from __future__ import annotations

import pytest

from gateway_contour.translate.gatewayapi.hostnames import (
    covering_hostnames,
    hostname_error,
    intersect,
    vhost_order,
    wildcard_matches,
)


@pytest.mark.parametrize(
    ("listener", "route", "expected"),
    [
        (None, [], ("*",)),
        (None, ["a.example.com", "*.b.com"], ("a.example.com", "*.b.com")),
        ("foo.example.com", [], ("foo.example.com",)),
        ("foo.example.com", ["foo.example.com"], ("foo.example.com",)),
        ("foo.example.com", ["bar.example.com"], ()),
        ("foo.example.com", ["*.example.com"], ("foo.example.com",)),
        ("foo.example.com", ["*.com"], ("foo.example.com",)),
        ("example.com", ["*.example.com"], ()),
        ("*.example.com", ["foo.example.com"], ("foo.example.com",)),
        ("*.example.com", ["a.b.example.com"], ("a.b.example.com",)),
        ("*.example.com", ["example.com"], ()),
        ("*.example.com", ["fooexample.com"], ()),
        ("*.example.com", ["*.example.com"], ("*.example.com",)),
        ("*.example.com", ["*.a.example.com"], ("*.a.example.com",)),
        ("*.a.example.com", ["*.example.com"], ("*.a.example.com",)),
        ("*.example.com", ["*.example.org", "x.example.com"], ("x.example.com",)),
        # two route hostnames narrowing to the same listener hostname: listed once
        ("foo.example.com", ["*.example.com", "foo.example.com"], ("foo.example.com",)),
    ],
)
def test_intersect(listener: str | None, route: list[str], expected: tuple[str, ...]) -> None:
    assert intersect(listener, route) == expected


def test_wildcard_needs_at_least_one_label() -> None:
    assert wildcard_matches("*.example.com", "a.example.com")
    assert wildcard_matches("*.example.com", "a.b.example.com")
    assert not wildcard_matches("*.example.com", "example.com")
    assert not wildcard_matches("*.example.com", "aexample.com")


@pytest.mark.parametrize(
    "hostname", ["example.com", "*.example.com", "a-b.c0.example", "localhost", "1.example.com"]
)
def test_valid_hostnames(hostname: str) -> None:
    assert hostname_error(hostname) is None


@pytest.mark.parametrize(
    "hostname",
    ["Example.com", "*", "a.*.com", "foo.example.com:80", "10.0.0.1", "-a.com", "a..com", ""],
)
def test_invalid_hostnames(hostname: str) -> None:
    assert hostname_error(hostname) is not None


def test_covering_hostnames_most_specific_first() -> None:
    assert covering_hostnames("a.b.example.com") == [
        "a.b.example.com",
        "*.b.example.com",
        "*.example.com",
        "*.com",
        "*",
    ]
    assert covering_hostnames("*.b.example.com") == [
        "*.b.example.com",
        "*.example.com",
        "*.com",
        "*",
    ]
    assert covering_hostnames("*") == ["*"]


def test_vhost_order_exact_then_wildcard_then_any() -> None:
    names = ["*", "*.a.com", "b.com", "a.com", "*.b.com"]
    assert sorted(names, key=vhost_order) == ["a.com", "b.com", "*.a.com", "*.b.com", "*"]
