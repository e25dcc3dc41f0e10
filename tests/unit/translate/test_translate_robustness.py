"""translate() never raises on user data: the golden inputs with random fields replaced by
values of the wrong type must still translate, with every problem expressed as a status
condition rather than an internal error."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions, translate

GOLDEN = Path(__file__).parents[2] / "golden"
CASES = sorted(p.parent.name for p in GOLDEN.glob("*/in.yaml"))
JUNK: list[Any] = [None, 0, -1, 70000, "", "x", "*", [], {}, [1], {"a": 1}, True, 1.5, [{}]]


def field_paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            if prefix or key not in ("kind", "metadata"):
                yield from field_paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from field_paths(value, (*prefix, index))


def replace(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


@pytest.mark.parametrize("case", CASES)
def test_mangled_inputs_translate(case: str) -> None:
    objects = load_text((GOLDEN / case / "in.yaml").read_text(), "in.yaml").objects
    rng = random.Random(case)
    for _ in range(25):
        mangled = copy.deepcopy(objects)
        for _ in range(rng.randint(1, 3)):
            target = rng.choice(mangled)
            paths = list(field_paths(target))
            if paths:
                replace(target, rng.choice(paths), copy.deepcopy(rng.choice(JUNK)))
        _, report = translate(Snapshot.of(mangled), TranslateOptions())
        internal = [p for p in report.problems if "internal error" in p.reason]
        assert not internal, internal
