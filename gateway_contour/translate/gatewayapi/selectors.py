"""Kubernetes label selectors (matchLabels + matchExpressions), as allowedRoutes uses them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class SelectorError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class LabelSelector:
    labels: tuple[tuple[str, str], ...] = ()
    # (key, operator, values)
    expressions: tuple[tuple[str, str, frozenset[str]], ...] = ()

    def matches(self, labels: Mapping[str, Any]) -> bool:
        for key, value in self.labels:
            if labels.get(key) != value:
                return False
        for key, op, values in self.expressions:
            present = key in labels
            if op == "In" and not (present and labels[key] in values):
                return False
            if op == "NotIn" and present and labels[key] in values:
                return False
            if op == "Exists" and not present:
                return False
            if op == "DoesNotExist" and present:
                return False
        return True


def parse_selector(data: Any) -> LabelSelector:
    """A LabelSelector from its API form; raises SelectorError when malformed."""
    if not isinstance(data, dict):
        raise SelectorError("selector is required and must be a mapping")
    match_labels = data.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        raise SelectorError("matchLabels must be a mapping")
    expressions = []
    raw_expressions = data.get("matchExpressions") or []
    if not isinstance(raw_expressions, list):
        raise SelectorError("matchExpressions must be a list")
    for expr in raw_expressions:
        if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
            raise SelectorError("each matchExpression needs a key")
        op = expr.get("operator")
        values = expr.get("values") or []
        if not isinstance(values, list):
            raise SelectorError("matchExpression values must be a list")
        if op in ("In", "NotIn"):
            if not values:
                raise SelectorError(f"operator {op} needs values")
        elif op in ("Exists", "DoesNotExist"):
            if values:
                raise SelectorError(f"operator {op} takes no values")
        else:
            raise SelectorError(f"unknown operator {op!r}")
        expressions.append((expr["key"], str(op), frozenset(str(v) for v in values)))
    return LabelSelector(
        labels=tuple(sorted((str(k), str(v)) for k, v in match_labels.items())),
        expressions=tuple(expressions),
    )
