"""translate/httpproxy/host_rewrite: which Host values become a rewrite from a header."""

from __future__ import annotations

import pytest

from gateway_contour.ir.model import (
    HeaderModifier,
    HeaderValue,
    PathRewrite,
    PathRewriteKind,
    Rewrite,
)
from gateway_contour.translate.httpproxy.host_rewrite import split_host_from_header


@pytest.mark.parametrize("name", ["Host", "host", ":authority"])
def test_host_from_a_header_becomes_a_rewrite(name: str) -> None:
    path = Rewrite(path=PathRewrite(PathRewriteKind.PREFIX, "/new"))
    modifier = HeaderModifier(
        set=(HeaderValue(name, "%REQ(X-Target)%"), HeaderValue("x-kept", "1"))
    )
    kept, rewrite = split_host_from_header(modifier, path)
    assert kept == HeaderModifier(set=(HeaderValue("x-kept", "1"),))
    # the path rewrite stays; header names are matched lower-case by Envoy
    assert rewrite == Rewrite(path=path.path, hostname_header="x-target")


def test_only_host_set_leaves_no_modifier() -> None:
    kept, rewrite = split_host_from_header(
        HeaderModifier(set=(HeaderValue("Host", "%REQ(x-h)%"),)), None
    )
    assert kept is None and rewrite == Rewrite(hostname_header="x-h")


@pytest.mark.parametrize(
    "value",
    ["upstream.internal", "%REQ(x-h)%.example.com", "%REQ(x-h:5)%", "%DOWNSTREAM_REMOTE_ADDRESS%"],
)
def test_other_host_values_stay(value: str) -> None:
    modifier = HeaderModifier(set=(HeaderValue("Host", value),))
    assert split_host_from_header(modifier, None) == (modifier, None)


def test_other_headers_from_a_header_stay() -> None:
    modifier = HeaderModifier(set=(HeaderValue("x-copy", "%REQ(x-h)%"),))
    assert split_host_from_header(modifier, None) == (modifier, None)
