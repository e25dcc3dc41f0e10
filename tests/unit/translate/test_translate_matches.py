"""The Gateway API precedence key of matches, and that routes come out in that order."""

from __future__ import annotations

import pytest

from gateway_contour.ir.model import Match
from gateway_contour.translate.gatewayapi.matches import MatchError, http_match, match_precedence


def m(**raw: object) -> Match:
    raw.setdefault("path", {"type": "PathPrefix", "value": "/"})
    return http_match(raw)


def test_order_of_criteria() -> None:
    ordered = [
        m(path={"type": "Exact", "value": "/a"}),
        m(path={"type": "Exact", "value": "/"}),
        m(path={"type": "PathPrefix", "value": "/longer"}),
        m(path={"type": "PathPrefix", "value": "/abc"}, method="GET"),
        m(path={"type": "PathPrefix", "value": "/abc"}),
        m(path={"type": "RegularExpression", "value": "/ab."}),
        m(method="GET"),
        m(headers=[{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]),
        m(
            headers=[{"name": "a", "value": "1"}],
            queryParams=[{"name": "q", "value": "1"}, {"name": "r", "value": "1"}],
        ),
        m(headers=[{"name": "a", "value": "1"}], queryParams=[{"name": "q", "value": "1"}]),
        m(headers=[{"name": "a", "value": "1"}]),
        m(),
    ]
    shuffled = list(reversed(ordered))
    assert sorted(shuffled, key=match_precedence) == ordered


def test_prefix_trailing_slash_is_the_same_prefix() -> None:
    assert m(path={"type": "PathPrefix", "value": "/api/"}).path.value == "/api"
    assert m(path={"type": "PathPrefix", "value": "/"}).path.value == "/"


def test_header_names_lowercased_first_wins() -> None:
    match = m(headers=[{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}])
    assert [(h.name, h.value) for h in match.headers] == [("x-a", "1")]


def test_query_names_case_sensitive() -> None:
    match = m(queryParams=[{"name": "Q", "value": "1"}, {"name": "q", "value": "2"}])
    assert [q.name for q in match.query] == ["Q", "q"]


@pytest.mark.parametrize(
    "raw",
    [
        {"path": {"type": "Glob", "value": "/*"}},
        {"path": {"type": "Exact", "value": "no-slash"}},
        {"headers": [{"name": "a", "type": "Prefix", "value": "x"}]},
        {"method": "FETCH"},
        # Envoy's RE2 refuses these; one of them would make it reject the whole config
        {"path": {"type": "RegularExpression", "value": "/(?!admin)"}},
        {"headers": [{"name": "a", "type": "RegularExpression", "value": "(x)\\1"}]},
        {"headers": [{"name": "a", "type": "RegularExpression", "value": "[a-"}]},
        {"headers": [{"name": "bad name", "value": "x"}]},
        {"headers": [{"name": "a", "value": "line\nbreak"}]},
    ],
)
def test_unsupported_matches(raw: dict[str, object]) -> None:
    with pytest.raises(MatchError):
        m(**raw)
