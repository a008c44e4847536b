"""Answers formatted for people: confirmation page, receipt PDF, staff screens (pure)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .conditions import evaluate, is_filled
from .fields import TYPES
from .fields.base import item_prefix_label
from .schema import Field, FormSchema
from .validation import visible_steps

__all__ = ["NOT_ANSWERED", "ReviewRow", "ReviewSection", "display_value", "review_sections"]

NOT_ANSWERED = "（未入力）"


@dataclass(slots=True)
class ReviewRow:
    label: str
    value: str
    children: list[ReviewSection] | None = None
    key: str = ""  # field key
    answered: bool = True


@dataclass(slots=True)
class ReviewSection:
    step_key: str  # the step key; for a repeat item "repeatkey.i"
    title: str
    rows: list[ReviewRow] = field(default_factory=list)


def display_value(f: Field, value: Any) -> str:
    """One answer as text (no HTML). Multi-line text keeps its line breaks."""
    if not is_filled(value) and f.type != "yesno":
        return NOT_ANSWERED
    if value is None:
        return NOT_ANSWERED
    try:
        return TYPES[f.type].display(f, value)
    except (ValueError, KeyError, TypeError, AttributeError):
        # A stored answer that does not fit the current definition: show it as it is.
        return str(value)


def _rows(fields: list[Field], values: Mapping[str, Any], scope: Mapping[str, Any]) -> list:
    rows: list[ReviewRow] = []
    for f in fields:
        if not evaluate(f.visible_if, scope):
            continue
        value = values.get(f.key)
        if f.type == "repeat":
            items = value if isinstance(value, list) else []
            children = [
                ReviewSection(
                    step_key=f"{f.key}.{i}",
                    title=item_prefix_label(f, i),
                    rows=_rows(f.fields, item, ChainMap(item, scope)),
                )
                for i, item in enumerate(items)
                if isinstance(item, dict)
            ]
            text = f"{len(children)}{f.item_counter}" if children else NOT_ANSWERED
            rows.append(ReviewRow(f.label, text, children, f.key, bool(children)))
            continue
        text = display_value(f, value)
        rows.append(ReviewRow(f.label, text, None, f.key, text != NOT_ANSWERED))
    return rows


def review_sections(form: FormSchema, answers: Mapping[str, Any]) -> list[ReviewSection]:
    """One section per visible step; hidden fields are left out, unanswered optional fields
    appear as 「（未入力）」. Dates in 和暦 with 西暦, 個人番号 masked, money with 円,
    options by label, files by name and size."""
    return [
        ReviewSection(step.key, step.title, _rows(step.fields, answers, answers))
        for step in visible_steps(form, answers)
    ]
