"""Hypothesis strategies for malformed objects: JSON-shaped values whose dictionaries use a
kind's own field names, so that random input reaches deep into a translator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st


def json_values(keys: Sequence[str]) -> st.SearchStrategy[Any]:
    """null, booleans, integers, short strings, and lists and dictionaries of them, the
    dictionaries keyed by `keys`."""
    return st.recursive(
        st.none() | st.booleans() | st.integers(-5, 70_000) | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(list(keys)), inner, max_size=4)
        ),
        max_leaves=16,
    )


# an Ingress's field names, v1's and the beta versions' (serviceName, servicePort)
INGRESS_FIELDS = (
    "host",
    "http",
    "paths",
    "path",
    "pathType",
    "backend",
    "service",
    "name",
    "port",
    "number",
    "hosts",
    "secretName",
    "resource",
    "rules",
    "tls",
    "defaultBackend",
    "serviceName",
    "servicePort",
    "ingressClassName",
)
