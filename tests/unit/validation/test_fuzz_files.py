"""Hypothesis fuzz of the files provider: whatever the documents hold (deep nesting, wrong
types, huge values, in the fields validation reads), reading never raises and a good route in
the same directory is still loaded."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway_contour.providers.files import load_directory

GOOD = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "good"},
    "spec": {
        "parentRefs": [{"name": "gw"}],
        "rules": [{"backendRefs": [{"name": "s", "port": 80}]}],
    },
}
KINDS = [
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway.networking.k8s.io/v1", "GRPCRoute"),
    ("projectcontour.io/v1", "HTTPProxy"),
    ("networking.k8s.io/v1", "Ingress"),
    ("v1", "Service"),
    ("v1", "Secret"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
]
FIELDS = ["rules", "listeners", "routes", "ports", "hostnames", "parentRefs", "virtualhost"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.just("x" * 100_000),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from([*FIELDS, "name", "port", "type", "value"]), inner, max_size=4
        ),
    ),
    max_leaves=30,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(KINDS),
    spec=st.one_of(values, st.dictionaries(st.sampled_from(FIELDS), values, max_size=4)),
    depth=st.integers(min_value=0, max_value=300),
    top=st.dictionaries(st.sampled_from(["data", "endpoints", "addressType", "type"]), values),
)
def test_any_document_leaves_the_good_route_loaded(
    kind: tuple[str, str], spec: Any, depth: int, top: dict[str, Any]
) -> None:
    bad = {"apiVersion": kind[0], "kind": kind[1], "metadata": {"name": "bad"}, "spec": spec}
    deep = {**bad, "metadata": {"name": "deep"}, **top}
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "good.yaml").write_text(yaml.safe_dump(GOOD))
        (root / "bad.yaml").write_text(yaml.safe_dump_all([bad, {**bad, **top}]))
        # deep documents written by hand: PyYAML's dumper is recursive too
        (root / "deep.yaml").write_text(
            yaml.safe_dump({k: v for k, v in deep.items() if k != "spec"}, width=10**9)
            + "spec:\n  rules: "
            + "[" * depth
            + "]" * depth
            + "\n"
        )
        loaded = load_directory(root)
    names = [(o["kind"], o["metadata"]["name"]) for o in loaded.objects]
    assert ("HTTPRoute", "good") in names
