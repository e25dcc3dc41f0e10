"""The nesting bound of `providers.bounded`: exact at the bound, cuts only what is too deep,
keeps strings that look like brackets, and is as `json.loads` for everything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway_contour.providers import bounded


def nested(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


@pytest.mark.parametrize("levels", [0, 1, 5, 63, 64])
def test_within_the_bound_is_decoded_whole(levels: int) -> None:
    raw = json.dumps(nested(levels)).encode()
    assert not bounded.exceeds(raw, 64)
    assert bounded.loads(raw, 64) == (nested(levels), False)


@pytest.mark.parametrize("levels", [65, 66, 990, 5000, 100_000])
def test_past_the_bound_only_the_deep_part_is_cut(levels: int) -> None:
    doc = {"metadata": {"name": "x"}, "spec": "DEEP", "other": [1, {"a": "b"}]}
    # json.dumps cannot write past ~1,000 levels: the deep part is written as text
    raw = json.dumps(doc).replace('"DEEP"', "[" * levels + "1" + "]" * levels).encode()
    assert bounded.exceeds(raw, 64)
    value, cut = bounded.loads(raw, 64)
    assert cut and bounded.is_cut(value)
    assert value["metadata"] == {"name": "x"} and value["other"] == [1, {"a": "b"}]
    assert not bounded.is_cut({"metadata": value["metadata"]})


def test_brackets_inside_strings_do_not_count() -> None:
    doc = {"a": "[[[[{{{{" * 100, "b": 'q"uote\\[' * 50}
    raw = json.dumps(doc).encode()
    assert not bounded.exceeds(raw, 2)
    assert bounded.loads(raw, 2) == (doc, False)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\x00é'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@given(json_values, st.integers(min_value=1, max_value=6))
def test_the_bound_agrees_with_the_real_depth(value: Any, limit: int) -> None:
    raw = json.dumps(value).encode()
    assert bounded.exceeds(raw, limit) == (depth(value) > limit)
    decoded, cut = bounded.loads(raw, limit)
    assert cut == (depth(value) > limit)
    if not cut:
        assert decoded == value
    else:
        assert depth(decoded) <= limit and bounded.is_cut(decoded)


def test_not_json_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        bounded.loads(b"[[[" * 100, 10)
