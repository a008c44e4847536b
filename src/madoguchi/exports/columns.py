"""Columns of an export file: fixed columns, then one column per form field.

Repeat groups are flattened: for a repeat 児童 with the field 氏名 and at most 3 children in
the exported rows, the columns are 児童1_氏名, 児童2_氏名, 児童3_氏名 (item by item).

Values are meant for a core system as much as for a person: dates as YYYY-MM-DD, numbers and
amounts as plain digits (no 円, no thousands separator), choices by their label, yes/no as
はい/いいえ, other types as on the staff screen (formengine `display_value`). Unanswered
fields are empty. 個人番号 is **always masked** (********1234) for now: no role may take
My Numbers out of the system through an export yet; a dedicated, logged permission would be
needed before that is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from madoguchi.formengine.conditions import is_filled
from madoguchi.formengine.display import display_value
from madoguchi.formengine.schema import Field, FormSchema
from madoguchi.jp.check_digits import mask_individual_number

# Field types that carry no answer worth a column.
SKIPPED_TYPES = frozenset({"notice"})
PLAIN_TYPES = frozenset({"date", "integer", "money", "decimal", "text", "textarea", "katakana"})


def export_value(f: Field, value: Any) -> str:
    if value is None or value == "":
        return ""
    if f.type in PLAIN_TYPES and isinstance(value, str | int):
        return str(value)  # the common case, kept fast (100,000-row exports)
    if f.type == "yesno":
        if value is None or value == "":
            return ""
        return display_value(f, value)
    if not is_filled(value):
        return ""
    if f.type == "individual_number":
        return mask_individual_number(str(value))
    if f.type in PLAIN_TYPES and not isinstance(value, dict | list):
        return str(value)
    return display_value(f, value)


@dataclass(slots=True)
class Column:
    header: str
    # Reads the value from the answers dict (field columns) or from the row (fixed columns).
    get: Callable[[Mapping[str, Any]], str]


def _field_getter(f: Field) -> Callable[[Mapping[str, Any]], str]:
    key = f.key

    def get(answers: Mapping[str, Any]) -> str:
        return export_value(f, answers.get(key))

    return get


def _repeat_getter(repeat: Field, index: int, child: Field) -> Callable[[Mapping[str, Any]], str]:
    key = repeat.key

    def get(answers: Mapping[str, Any]) -> str:
        items = answers.get(key)
        if not isinstance(items, list) or index >= len(items):
            return ""
        item = items[index]
        if not isinstance(item, dict):
            return ""
        return export_value(child, item.get(child.key))

    return get


def repeat_fields(form: FormSchema) -> list[Field]:
    return [f for step in form.steps for f in step.fields if f.type == "repeat"]


def field_columns(form: FormSchema, repeat_counts: Mapping[str, int]) -> list[Column]:
    """One column per field of `form`, in form order; repeats flattened up to
    `repeat_counts[repeat.key]` items."""
    columns: list[Column] = []
    for step in form.steps:
        for f in step.fields:
            if f.type in SKIPPED_TYPES:
                continue
            if f.type == "repeat":
                prefix = f.item_label or f.label
                for index in range(repeat_counts.get(f.key, 0)):
                    for child in f.fields:
                        if child.type in SKIPPED_TYPES:
                            continue
                        columns.append(
                            Column(
                                f"{prefix}{index + 1}_{child.label}",
                                _repeat_getter(f, index, child),
                            )
                        )
                continue
            columns.append(Column(f.label, _field_getter(f)))
    return columns


def fixed_headers() -> list[str]:
    return [_("受付番号"), _("受付日時"), _("状況"), _("申請経路"), _("申請者"), _("担当課")]


def repeat_count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


def max_repeat_counts(rows: Iterable[Mapping[str, Any]], keys: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(keys, 0)
    for row in rows:
        for key in keys:
            n = repeat_count(row.get(key))
            if n > counts[key]:
                counts[key] = n
    return counts
