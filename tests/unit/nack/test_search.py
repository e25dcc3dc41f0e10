"""The search for the objects that make a configuration fail, as a pure function: a
configuration "loads" when none of the bad objects is in it (or, for faults of two objects
together, not both)."""

from __future__ import annotations

import math
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from gateway_contour.nack.search import Outcome, find_responsible

NAMES = [f"HTTPRoute/default/r{i:04d}" for i in range(1000)]


def without(bad: set[str]) -> Callable[[frozenset[str]], bool]:
    """Loads when every bad object is withheld."""
    return lambda withheld: bad <= withheld


def test_one_bad_object_among_a_thousand() -> None:
    bad = NAMES[637]
    asked: list[frozenset[str]] = []

    def loads(withheld: frozenset[str]) -> bool:
        asked.append(withheld)
        return bad in withheld

    result = find_responsible(NAMES, loads)
    assert result.outcome is Outcome.FOUND
    assert result.responsible == {bad}
    assert result.calls == len(asked) <= 2 + 2 * math.ceil(math.log2(1000))


def test_several_bad_objects_are_all_found() -> None:
    bad = {NAMES[3], NAMES[4], NAMES[500], NAMES[999]}
    result = find_responsible(NAMES, without(bad))
    assert (result.outcome, result.responsible) == (Outcome.FOUND, bad)


def test_a_fault_of_two_objects_together_blames_one_of_them() -> None:
    # either one withheld is enough (two routes whose names collide, say)
    pair = {NAMES[10], NAMES[900]}
    result = find_responsible(NAMES, lambda withheld: bool(pair & withheld))
    assert result.outcome is Outcome.FOUND
    assert len(result.responsible) == 1 and result.responsible <= pair


def test_a_configuration_that_loads_blames_nobody() -> None:
    result = find_responsible(NAMES, lambda withheld: True)
    assert (result.outcome, result.responsible, result.calls) == (
        Outcome.NOT_REPRODUCED,
        frozenset(),
        1,
    )


def test_a_fault_outside_the_candidates_blames_nobody() -> None:
    result = find_responsible(NAMES, lambda withheld: False)
    assert (result.outcome, result.responsible, result.calls) == (
        Outcome.OUTSIDE_CANDIDATES,
        frozenset(),
        2,
    )
    assert find_responsible([], lambda withheld: False).outcome is Outcome.OUTSIDE_CANDIDATES


def test_over_budget_blames_every_candidate() -> None:
    bad = set(NAMES[::50])  # 20 bad objects need more than 10 runs
    result = find_responsible(NAMES, without(bad), budget=10)
    assert result.outcome is Outcome.OVER_BUDGET
    assert result.responsible == set(NAMES)
    assert result.calls == 10


def test_repeated_candidates_are_searched_once() -> None:
    result = find_responsible(["a", "b", "a", "b"], without({"b"}))
    assert (result.outcome, result.responsible) == (Outcome.FOUND, {"b"})


@given(
    size=st.integers(min_value=1, max_value=200),
    bad=st.sets(st.integers(min_value=0, max_value=199), min_size=1, max_size=6),
)
def test_exactly_the_bad_objects_are_found(size: int, bad: set[int]) -> None:
    names = NAMES[:size]
    culprits = {names[i] for i in bad if i < size}
    if not culprits:
        return
    result = find_responsible(names, without(culprits), budget=10_000)
    assert (result.outcome, result.responsible) == (Outcome.FOUND, culprits)
    # each culprit costs at most two runs per halving, and two runs start the search
    assert result.calls <= 2 + 2 * len(culprits) * max(1, math.ceil(math.log2(size)))
