"""translate/envoy_checks agrees with the real Envoy: every header value and command it
accepts loads, every value it refuses makes Envoy refuse the configuration, and its RE2
program size puts patterns on the same side of Envoy's limit as Envoy does."""

from __future__ import annotations

import pytest
from envoy_testlib import fleet_of, http_ir, route
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway_contour.envoy.validate import validate_fleet
from gateway_contour.ir.model import HeaderModifier, HeaderValue, Match, PathMatch, PathMatchKind
from gateway_contour.translate.envoy_checks import header_values as hv
from gateway_contour.translate.envoy_checks.regex import (
    MAX_PROGRAM_SIZE,
    program_size,
    regex_error,
)

ARGUMENTS = {
    "DYNAMIC_METADATA": "ns:key",
    "ENVIRONMENT": "HOME",
    "FILTER_STATE": "key",
    "REQ": "x-a?x-b",
    "RESP": "x-a",
    "TRAILER": "x-a",
    "UPSTREAM_METADATA": '["ns", "key"]',
}
REFUSED = [
    "100%",
    "%CONTOUR_NAMESPACE%",
    "%foo%",
    "%REQ()%",
    "%REQ(a b)%",
    "%PROTOCOL(x)%",
    "%HOSTNAME:3%",
    "%START_TIME:5%",
    "%DYNAMIC_METADATA%",
    "%REQ(x-a)",
]


def _load_headers(*values: str) -> tuple[bool, str]:
    modifier = HeaderModifier(set=tuple(HeaderValue(f"x-h{i}", v) for i, v in enumerate(values)))
    result = validate_fleet(fleet_of(http_ir(route(request_headers=modifier))))
    return result.ok, result.output


def _load_path_regex(pattern: str) -> bool:
    match = Match(path=PathMatch(PathMatchKind.REGEX, pattern))
    return validate_fleet(fleet_of(http_ir(route(match=match)))).ok


def test_every_command_accepted_loads_in_envoy() -> None:
    values = [f"%{name}%" for name in sorted(hv.PLAIN_COMMANDS)]
    values += [f"%{name}({ARGUMENTS[name]})%" for name in sorted(hv.ARGUMENT_COMMANDS)]
    values += ["%START_TIME%", "%START_TIME(%s)%", "%REQ(x-a):5%", "50%% off", "%%"]
    assert set(ARGUMENTS) == hv.ARGUMENT_COMMANDS
    assert all(hv.header_value_error(v) is None for v in values)
    ok, output = _load_headers(*values)
    assert ok, output


@pytest.mark.parametrize("value", REFUSED)
def test_every_value_refused_is_refused_by_envoy(value: str) -> None:
    assert hv.header_value_error(value) is not None
    ok, _ = _load_headers(value)
    assert not ok


def test_value_size_limit_is_envoys() -> None:
    longest = "é" * (hv.MAX_VALUE_BYTES // 2)  # two bytes each: the limit counts bytes
    assert hv.header_value_error(longest) is None and _load_headers(longest)[0]
    assert hv.header_value_error(longest + "a") is not None
    assert not _load_headers(longest + "a")[0]


def test_program_size_limit_is_envoys() -> None:
    assert program_size("/c{93}.*") == MAX_PROGRAM_SIZE
    assert _load_path_regex("/c{93}.*")
    assert not _load_path_regex("/c{94}.*")
    assert not _load_path_regex("/c{200}.*")


ATOMS = ["a", ".", "[0-9]", "[^/]", "\\w", "(?i:k)", "(x|yz)", "[a-f]", "(?:c*)", "\\pL", "é", "日"]
ATOMS += ["[^é]", "(?i:é)", "(?s:.)", "[a-zé]", "[[:alpha:]]"]


@st.composite
def near_the_limit(draw: st.DrawFn) -> str:
    """A pattern whose program size is close to Envoy's limit (where a wrong size shows)."""
    quantifiers = st.sampled_from(["", "?", "{2}", "{3,5}"])
    atoms = draw(st.lists(st.tuples(st.sampled_from(ATOMS), quantifiers), min_size=2, max_size=6))
    base = "/" + "".join(atom + quantifier for atom, quantifier in atoms)
    repeat = max(1, round(MAX_PROGRAM_SIZE / program_size(base)))
    return f"(?:{base}){{{repeat}}}" if repeat > 1 else base


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_the_limit())
def test_regex_check_and_envoy_agree_near_the_limit(pattern: str) -> None:
    assert (regex_error(pattern) is None) == _load_path_regex(pattern), program_size(pattern)
