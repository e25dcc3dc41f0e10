"""migrate's YAML writer (`migrate.emit`): whatever plain data it is given reads back
through PyYAML as the same data, and its layout is PyYAML's block layout."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway_contour.migrate import emit

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.sampled_from(["yes", "No", "on", "~", "null", "1_000", "12:30", "0x1f", "0777", "=", "y"])
    | st.sampled_from(["*.example.com", "- a", "a: b", "#x", "'q'", " lead", "1e3", ".inf", ""])
)
DATA = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


def _same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN."""
    if isinstance(a, float) and isinstance(b, float) and a != a:
        return b != b
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=400, deadline=None)
@given(data=DATA)
def test_everything_reads_back_the_same(data: Any) -> None:
    assert _same(yaml.safe_load(emit.dump(data)), data)


@settings(max_examples=100, deadline=None)
@given(docs=st.lists(DATA.filter(lambda d: d is not None), min_size=1, max_size=3))
def test_documents_read_back_the_same(docs: list[Any]) -> None:
    read = list(yaml.safe_load_all(emit.dump_all(docs)))
    assert len(read) == len(docs)
    assert all(_same(a, b) for a, b in zip(read, docs, strict=True))


def test_layout_is_pyyaml_block_layout() -> None:
    data = {
        "metadata": {"name": "web", "labels": {}},
        "spec": {
            "hostnames": ["web.example.com"],
            "rules": [{"matches": [{"path": {"type": "Exact", "value": "/"}}], "x": []}],
            "nested": [[1, 2], [{"a": True}]],
            "port": 80,
        },
    }
    assert emit.dump(data) == yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("web", "web"),
        ("80", "'80'"),
        ("true", "'true'"),
        ("*.a.com", "'*.a.com'"),
        ("it's", "'it''s'"),
        ("é\n", '"\\xe9\\n"'),
    ],
)
def test_strings_are_plain_only_when_they_read_back_as_strings(value: str, text: str) -> None:
    assert emit.scalar_text(value) == text


def test_other_types_are_refused() -> None:
    with pytest.raises(TypeError):
        emit.dump({"a": object()})
