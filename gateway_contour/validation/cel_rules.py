"""`x-kubernetes-validations`: a schema node's CEL rules, compiled once, evaluated per value.

Each rule is evaluated with `self` bound to the value at its node, as the API server does after
defaulting. Transition rules (those naming `oldSelf`) are skipped: an object read from a file
has no previous version to compare with, and the API server does not run them on create either.

All rules of one node are compiled together as one list expression, so a node costs one
conversion of `self` and one evaluation (most of the cost of a rule is converting `self`); only
when that list fails to evaluate (a rule's runtime error) are the rules evaluated one by one, to
tell the failing one. A rule that is false becomes the API server's
`<path>: Invalid value: "<type>": <message>`; one that errs, `... : <error>`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel

from gateway_contour.validation.cel_library import environment, escaped
from gateway_contour.validation.field_errors import FieldError, Path, invalid, type_name
from gateway_contour.validation.structural import Rule

log = logging.getLogger(__name__)


def _compile(expression: str) -> cel.Expression | None:
    try:
        return environment().compile(expression)
    except RuntimeError as err:
        log.warning("CEL rule skipped (does not compile here): %s: %s", expression, err)
        return None


@dataclass(slots=True)
class CompiledRules:
    rules: list[Rule]
    each: list[cel.Expression | None]
    together: cel.Expression | None
    escapes: bool  # whether a rule names an escaped property (`__namespace__`)

    def check(self, value: Any, path: Path) -> list[FieldError]:
        shown = type_name(value)
        if self.escapes:
            value = escaped(value)
        if self.together is not None:
            result = _evaluate(self.together, value)
            if isinstance(result, list) and len(result) == len(self.rules):
                return [
                    invalid(path, shown, rule.message)
                    for rule, ok in zip(self.rules, result, strict=True)
                    if ok is not True
                ]
        errors = []
        for rule, expression in zip(self.rules, self.each, strict=True):
            if expression is None:
                continue
            result = _evaluate(expression, value)
            if result is not True:
                detail = rule.message if result is False else f"{rule.message}: {result}"
                errors.append(invalid(path, shown, detail))
        return errors


def _evaluate(expression: cel.Expression, value: Any) -> Any:
    """The rule's result, or the error's text when it did not evaluate to a value."""
    try:
        result = expression.eval(data={"self": value})
    except (RuntimeError, TypeError, ValueError, OverflowError) as err:
        return f"rule evaluation error: {err}"
    if result.type() == cel.Type.ERROR:
        return f"rule evaluation error: {result.value()}"
    return result.plain_value()


def compile_rules(rules: list[Rule]) -> CompiledRules | None:
    """The node's rules ready to evaluate; None when none applies to a new object."""
    kept = [r for r in rules if "oldSelf" not in r.rule]
    if not kept:
        return None
    each = [_compile(r.rule) for r in kept]
    together = None
    if all(e is not None for e in each):
        together = _compile("[" + ",\n".join(f"({r.rule})" for r in kept) + "]")
    return CompiledRules(kept, each, together, any("__" in r.rule for r in kept))
