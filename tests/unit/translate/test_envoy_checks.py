"""The checks of what Envoy would refuse (translate/envoy_checks) and HTTPProxy's Contour-style
header values, as pure functions. tests/unit/envoy/test_envoy_checks_agree.py holds them
against the real Envoy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway_contour.translate.envoy_checks.header_values import (
    Command,
    header_value_error,
    split,
)
from gateway_contour.translate.envoy_checks.regex import (
    MAX_PROGRAM_SIZE,
    program_size,
    regex_error,
)
from gateway_contour.translate.httpproxy.header_values import (
    contour_value,
    route_variables,
    service_variables,
)

ACCEPTED = [
    "plain",
    "",
    "50%% off",
    "%%",
    "%REQ(x-original)%",
    "%REQ(x-a?x-b):10%",
    "%DOWNSTREAM_REMOTE_ADDRESS%",
    "%START_TIME(%s)%",
    "%START_TIME%",
    "client %DOWNSTREAM_REMOTE_ADDRESS% via %PROTOCOL%",
    "%DYNAMIC_METADATA(ns:key)%",
]
REFUSED = {
    "100%": "position 3 starts no command",
    "%": "position 0 starts no command",
    "%foo%": "position 0 starts no command",
    "%REQ(x-a)": "position 0 starts no command",
    "%CONTOUR_NAMESPACE%": "CONTOUR_NAMESPACE is not a command Envoy accepts",
    "%REQ()%": "REQ needs an argument",
    "%REQ(a b)%": "'a b' is not a header name",
    "%PROTOCOL(x)%": "PROTOCOL takes no argument or length",
    "%HOSTNAME:3%": "HOSTNAME takes no argument or length",
    "%START_TIME:5%": "START_TIME takes no length",
    "line\nbreak": "line break or NUL",
    "nul\0": "line break or NUL",
    "half\ud800": "unpaired surrogate",
}


@pytest.mark.parametrize("value", ACCEPTED)
def test_values_envoy_accepts_have_no_error(value: str) -> None:
    assert header_value_error(value) is None


@pytest.mark.parametrize(("value", "reason"), REFUSED.items())
def test_values_envoy_refuses_say_why(value: str, reason: str) -> None:
    error = header_value_error(value)
    assert error is not None and reason in error


def test_split_reads_literals_and_commands() -> None:
    parts, error = split("a%%b %REQ(x):3% c")
    assert error is None
    assert parts == ["a%b ", Command("%REQ(x):3%", "REQ", "x", 3), " c"]


def test_contour_escapes_lone_percent_and_unknown_variables() -> None:
    ns = route_variables("shop")
    assert contour_value("100%", ns) == "100%%"
    assert contour_value("%FOO%", ns) == "%%FOO%%"
    assert contour_value("50%% off", ns) == "50%%%% off"  # Contour escapes every '%'
    assert contour_value("no percent", ns) == "no percent"


def test_contour_expands_its_variables_where_they_are_known() -> None:
    route = route_variables("shop")
    service = service_variables("shop", "app", 8080)
    value = "%CONTOUR_NAMESPACE%/%CONTOUR_SERVICE_NAME%:%CONTOUR_SERVICE_PORT%"
    assert contour_value(value, service) == "shop/app:8080"
    # a route has no service: those stay literal text
    assert contour_value(value, route) == "shop/%%CONTOUR_SERVICE_NAME%%:%%CONTOUR_SERVICE_PORT%%"
    assert contour_value("%CONTOUR_NAMESPACE:2%", route) == "%%CONTOUR_NAMESPACE:2%%"


def test_contour_keeps_the_envoy_variables_it_documents() -> None:
    ns = route_variables("shop")
    for value in ("%REQ(x-a)%", "%DOWNSTREAM_REMOTE_ADDRESS%", "%HOSTNAME%", "%PROTOCOL%"):
        assert contour_value(value, ns) == value
    # an Envoy command Contour does not let through is literal text
    assert contour_value("%START_TIME%", ns) == "%%START_TIME%%"
    assert contour_value("%REQ()%", ns) == "%%REQ()%%"


# surrogates (category Cs) are refused like line breaks: test_checking_any_value_never_raises
@given(
    st.text(
        alphabet=st.characters(blacklist_characters="\r\n\0", blacklist_categories=("Cs",)),
        max_size=40,
    )
)
def test_contour_values_are_always_values_envoy_accepts(value: str) -> None:
    for variables in (route_variables("ns"), service_variables("ns", "svc", 80)):
        assert header_value_error(contour_value(value, variables)) is None


@given(st.text(alphabet="%aAQ()_:1-\ud800", max_size=12))
def test_checking_any_value_never_raises(value: str) -> None:
    error = header_value_error(value)
    assert error is None or isinstance(error, str)


def test_regex_errors_name_syntax_and_size() -> None:
    assert regex_error("/re/[0-9]+") is None
    assert regex_error("/c{93}.*") is None  # size 100: at the limit
    assert program_size("/c{93}.*") == MAX_PROGRAM_SIZE
    too_big = regex_error("/c{94}.*")
    assert too_big is not None and "program size 101, over the limit of 100" in too_big
    invalid = regex_error("/broken[")
    assert invalid is not None and "not valid RE2: missing ]" in invalid
    lookahead = regex_error("(?=x)")
    assert lookahead is not None and "not valid RE2" in lookahead
    repetition = regex_error("a{1001}")
    assert repetition is not None and "invalid repetition size" in repetition
    assert regex_error("") == "the regular expression is empty"


@given(st.text(max_size=30))
def test_checking_any_regex_never_raises(pattern: str) -> None:
    error = regex_error(pattern)
    assert error is None or isinstance(error, str)
