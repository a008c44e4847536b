"""The one evaluator for `visible_if` / `required_if` (server side only).

A condition is evaluated against a *scope*: a mapping from field key to normalised answer.
Inside a repeat item the scope is the item's answers chained in front of the form's answers
(keys are unique in the whole form, so there is never an ambiguity). A key missing from the
scope (hidden, not answered, invalid) is "not filled" and equals nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .schema import Condition, Field

__all__ = ["evaluate", "is_filled", "is_visible", "is_required"]

_MISSING = object()


def is_filled(value: Any) -> bool:
    if value is None or value is False or value is _MISSING:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, dict):
        return any(is_filled(v) for v in value.values())
    if isinstance(value, list | tuple | set):
        return len(value) > 0
    return True


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if a == b:
        return True
    return str(a) == str(b)


def _matches(answer: Any, wanted: Any) -> bool:
    if isinstance(answer, list | tuple):  # checkboxes: any selected value matches
        return any(_same(a, wanted) for a in answer)
    return _same(answer, wanted)


def evaluate(cond: Condition | None, scope: Mapping[str, Any]) -> bool:
    """True when the condition holds in `scope`. A missing condition always holds."""
    if cond is None:
        return True
    op = cond.op
    if op == "all":
        return all(evaluate(c, scope) for c in cond.children)
    if op == "any":
        return any(evaluate(c, scope) for c in cond.children)
    if op == "not":
        return not evaluate(cond.children[0], scope)
    value = scope.get(cond.field, _MISSING)
    if op == "filled":
        return is_filled(value) is cond.value
    if value is _MISSING or value is None:
        return False
    if op == "equals":
        return _matches(value, cond.value)
    if op == "in":
        return any(_matches(value, wanted) for wanted in cond.value)
    raise ValueError(f"unknown condition operator {op!r}")


def is_visible(field: Field, scope: Mapping[str, Any]) -> bool:
    return evaluate(field.visible_if, scope)


def is_required(field: Field, scope: Mapping[str, Any]) -> bool:
    """Required now: `required: true`, or `required_if` holds (notice: always)."""
    if field.required:
        return True
    return field.required_if is not None and evaluate(field.required_if, scope)
