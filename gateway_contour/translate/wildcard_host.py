"""Contour's wildcard hosts (Ingress rule hosts, HTTPProxy fqdns): "*.example.com" covers one
label, "foo.example.com" but not "bar.foo.example.com" (Gateway API wildcards cover more).

Envoy's virtual host domain "*.example.com" takes any number of labels, so each route of
such a host also matches the Host header (:authority) against a one-label pattern; a request
for a deeper name finds no route (404).
"""

from __future__ import annotations

import re

from gateway_contour.ir.model import HeaderMatch, StringMatchKind
from gateway_contour.translate.gatewayapi.hostnames import is_wildcard


def one_label_host_match(host: str) -> tuple[HeaderMatch, ...]:
    """For a wildcard host, the Host header limited to one label in place of the "*" (with
    any port); nothing for an exact host."""
    if not is_wildcard(host):
        return ()
    pattern = r"^[^.:]+" + re.escape(host[1:]) + r"(:[0-9]+)?$"
    return (HeaderMatch(name=":authority", value=pattern, kind=StringMatchKind.REGEX),)
