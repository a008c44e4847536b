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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.utils.translation import gettext as _

from madoguchi.formengine.conditions import is_filled
from madoguchi.formengine.display import display_value
from madoguchi.formengine.fields import TYPES, FieldType
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


# --- compiled once per export ---------------------------------------------------------------
#
# `export_value` decides per cell what a field's type asks for. An export of 100,000 rows asks
# the same questions millions of times, so `compile_row` writes, once per export, a function
# that turns one application's answers into the cells of every field column: plain types
# (text, dates, numbers) pass a str through and write an int with str() inline, choices look
# their label up in a dict made once, other types call their display directly; anything
# unusual (a stored value that does not fit the definition) goes to `export_value` itself, so
# the text is the same for every value.

_DISPLAY_ERRORS = (ValueError, KeyError, TypeError, AttributeError)  # as display_value
# Types with no rule of their own whose display is the answer itself (FieldType.display).
SHOWN_AS_IS = frozenset(
    name
    for name, kind in TYPES.items()
    if type(kind).display is FieldType.display
    and name not in PLAIN_TYPES
    and name not in SKIPPED_TYPES
    and name not in ("yesno", "individual_number")
)


def formatter(f: Field) -> Callable[[Any], str]:
    """`export_value(f, value)` as a function of the value alone, specialised for `f`."""
    generic = partial(export_value, f)
    if f.type in ("select", "radio"):
        # Options whose value is blank are never "answered": leave them to export_value.
        labels = {value: label for value, label in f.option_labels.items() if value.strip()}

        def choice(value: Any) -> str:
            if value.__class__ is str:
                label = labels.get(value)
                if label is not None:
                    return label
            return generic(value)

        return choice
    if f.type in PLAIN_TYPES or f.type in ("yesno", "individual_number"):
        return generic
    display = TYPES[f.type].display

    def displayed(value: Any) -> str:
        # export_value for a type without a rule of its own: blank → "", else its display
        # (a stored value that does not fit: as it is).
        if value.__class__ is dict:
            # is_filled for a dict (a name, an account), text parts looked at inline.
            for part in value.values():
                if part.__class__ is str:
                    if part.strip():
                        break
                elif is_filled(part):
                    break
            else:
                return ""
        elif value is None or value == "" or not is_filled(value):
            return ""
        try:
            return display(f, value)
        except _DISPLAY_ERRORS:
            return str(value)

    return displayed


def compile_row(
    form: FormSchema, repeat_counts: Mapping[str, int]
) -> tuple[list[str], Callable[[Any], list[str]]]:
    """The headers of the field columns of `form` (as `field_columns`) and one function
    answers → their cells, the same text as `export_value` cell by cell. The function is
    Python source written for this form and these repeat counts, compiled once."""
    headers: list[str] = []
    names: dict[str, Any] = {"is_list": list, "is_dict": dict}
    lines = ["def cells(answers):", "    if answers.__class__ is not dict: answers = {}"]
    lines.append("    get = answers.get")
    cells: list[str] = []

    def cell(f: Field, source: str, indent: str = "    ") -> None:
        """Code computing one cell from the expression `source` (the stored value)."""
        n = len(cells)
        var = f"c{n}"
        names[f"f{n}"] = formatter(f)
        # (An unanswered field, None, is an empty cell whatever its type.)
        if f.type in PLAIN_TYPES:
            lines.append(f"{indent}v = {source}; k = v.__class__")
            lines.append(
                f'{indent}{var} = v if k is str else "" if v is None else str(v) if k is int'
                f" else f{n}(v)"
            )
        elif f.type in SHOWN_AS_IS:
            # Text shown as it is when answered (e-mail, phone, address ...).
            lines.append(f"{indent}v = {source}")
            lines.append(
                f'{indent}{var} = v if v.__class__ is str and v.strip() else "" if v is None'
                f" else f{n}(v)"
            )
        else:
            lines.append(f"{indent}v = {source}")
            lines.append(f'{indent}{var} = "" if v is None else f{n}(v)')
        cells.append(var)

    for step in form.steps:
        for f in step.fields:
            if f.type in SKIPPED_TYPES:
                continue
            if f.type != "repeat":
                headers.append(f.label)
                cell(f, f"get({f.key!r})")
                continue
            prefix = f.item_label or f.label
            children = [child for child in f.fields if child.type not in SKIPPED_TYPES]
            count = repeat_counts.get(f.key, 0)
            if not count or not children:
                continue
            items = f"items{len(cells)}"
            lines.append(f"    {items} = get({f.key!r})")
            lines.append(f"    if {items}.__class__ is not is_list: {items} = ()")
            lines.append(f"    n_{items} = len({items})")
            for index in range(count):
                item = f"{items}_{index}"
                lines.append(f"    {item} = {items}[{index}] if {index} < n_{items} else None")
                lines.append(f"    if {item}.__class__ is is_dict:")
                lines.append(f"        {item} = {item}.get")
                first = len(cells)
                for child in children:
                    headers.append(f"{prefix}{index + 1}_{child.label}")
                    cell(child, f"{item}({child.key!r})", indent="        ")
                # An item that is missing or not a dict: empty cells.
                lines.append("    else:")
                lines.append(f"        {' = '.join(cells[first:])} = ''")
    lines.append(f"    return [{', '.join(cells)}]")
    namespace = dict(names)
    exec(compile("\n".join(lines), "<export row>", "exec"), namespace)  # noqa: S102
    return headers, namespace["cells"]


def fixed_headers() -> list[str]:
    return [_("受付番号"), _("受付日時"), _("状況"), _("申請経路"), _("申請者"), _("担当課")]


def repeat_count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0
