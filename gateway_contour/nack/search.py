"""Which of a set of objects make a configuration fail: adaptive group testing.

`find_responsible(candidates, loads, budget)` asks `loads(withheld)`: does the configuration
built without the objects in `withheld` load? It first checks that the configuration fails
as it is (else nothing is to blame: the refusal is not reproduced) and that it loads
without every candidate (else the cause lies outside them), then splits the candidates in
halves, keeping the invariant that what is withheld so far plus the part under search
loads while what is withheld so far alone does not. Each object that breaks the
configuration on its own is found; a fault needing two objects together is blamed on one
of them, which is enough to make the rest load.

One bad object among n costs at most 2 + 2*ceil(log2 n) calls (22 for 1,000). Past
`budget` calls the search stops and every candidate is blamed (the configuration without
them is known to load), so Envoy never waits on a long search.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class Outcome(StrEnum):
    FOUND = "found"  # `responsible` are to blame
    NOT_REPRODUCED = "not_reproduced"  # the configuration loads as it is
    OUTSIDE_CANDIDATES = "outside_candidates"  # it fails even without every candidate
    OVER_BUDGET = "over_budget"  # stopped: every candidate is blamed


@dataclass(frozen=True, slots=True)
class SearchResult(Generic[T]):
    outcome: Outcome
    responsible: frozenset[T]
    calls: int  # how many times `loads` was asked


class _OverBudget(Exception):
    pass


class _Counted(Generic[T]):
    def __init__(self, loads: Callable[[frozenset[T]], bool], budget: int) -> None:
        self.loads = loads
        self.budget = budget
        self.calls = 0

    def __call__(self, withheld: frozenset[T]) -> bool:
        if self.calls >= self.budget:
            raise _OverBudget
        self.calls += 1
        return self.loads(withheld)


def find_responsible(
    candidates: Sequence[T], loads: Callable[[frozenset[T]], bool], budget: int = 64
) -> SearchResult[T]:
    """The candidates to blame (see the module docstring). `loads(withheld)`: does the
    configuration without `withheld` load? `candidates` are searched in the order given;
    `budget` (at least 2) bounds the calls to `loads`."""
    ordered = list(dict.fromkeys(candidates))
    counted = _Counted(loads, max(budget, 2))
    everything = frozenset(ordered)
    if counted(frozenset()):
        return SearchResult(Outcome.NOT_REPRODUCED, frozenset(), counted.calls)
    if not ordered or not counted(everything):
        return SearchResult(Outcome.OUTSIDE_CANDIDATES, frozenset(), counted.calls)
    try:
        found = _search(ordered, frozenset(), counted)
    except _OverBudget:
        return SearchResult(Outcome.OVER_BUDGET, everything, counted.calls)
    return SearchResult(Outcome.FOUND, found, counted.calls)


def _search(part: list[T], withheld: frozenset[T], loads: _Counted[T]) -> frozenset[T]:
    """Culprits in `part`, given that `withheld | part` loads and `withheld` does not. The
    result R is such that `withheld | R` loads."""
    if len(part) == 1:
        return frozenset(part)
    half = len(part) // 2
    first, second = part[:half], part[half:]
    if loads(withheld | frozenset(first)):
        # keeping `second` is harmless: the culprits are in `first`
        return _search(first, withheld, loads)
    found = _search(second, withheld | frozenset(first), loads)
    if loads(withheld | found):
        return found
    return found | _search(first, withheld | found, loads)
