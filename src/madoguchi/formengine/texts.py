"""The texts of a form definition that a person reads, each under a stable key (pure).

Translations of a form (docs/form-schema.md, "Translations") are stored per text key, not per
form version: a key names where a text is (`field.child_name.label`), so a translation made for
one version still applies to the next one as long as the Japanese text there is unchanged.

Keys:

- `form.title`, `form.intro`
- `step.<step key>.title`, `step.<step key>.intro`
- `field.<field key>.<attribute>` for the attributes in `FIELD_TEXT_ATTRS`
- `field.<field key>.option.<option value>` for an option's label

Field keys are unique in the whole form (repeats included), so a field's key alone names it.
`translate_form` works on the definition as stored (`FormVersion.schema`), before parsing, so
the translated definition goes through the same parser and the same checks as the original.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FIELD_TEXT_ATTRS",
    "FormText",
    "form_texts",
    "normalize_text",
    "translate_form",
]

# Attributes of a field that hold text a resident reads (not `autocomplete`, `pattern`, …).
FIELD_TEXT_ATTRS = (
    "label",
    "help",
    "placeholder",
    "pattern_message",
    "unit",
    "item_label",
    "item_counter",
    "body",
    "confirm_label",
)

# What each attribute is, for the people translating (staff screen).
ATTR_NAMES = {
    "label": "項目名",
    "help": "説明（ヘルプ）",
    "placeholder": "入力例",
    "pattern_message": "形式の誤りのメッセージ",
    "unit": "単位",
    "item_label": "繰り返しの名前",
    "item_counter": "繰り返しの数え方",
    "body": "お知らせの本文",
    "confirm_label": "確認のチェックの文言",
}

Lookup = Callable[[str, str], "str | None"]


@dataclass(frozen=True, slots=True)
class FormText:
    key: str  # stable text key (module doc)
    text: str  # the Japanese text
    where: str  # where it is, in Japanese (「項目「氏名」の説明（ヘルプ）」)


def normalize_text(text: str) -> str:
    """A text as compared with the source of a translation: line ends unified, trailing
    spaces and surrounding blank lines dropped (YAML block scalars add a final newline)."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")
    return "\n".join(line.rstrip() for line in lines)


def _fields(fields: Any) -> Iterator[dict]:
    for data in fields if isinstance(fields, list) else ():
        if isinstance(data, dict):
            yield data
            yield from _fields(data.get("fields"))


def _texts(form: dict) -> Iterator[tuple[str, dict, str, str]]:
    """(key, the dict holding the text, the attribute, where) for every text in the form."""
    for attr, where in (("title", "様式の表題"), ("intro", "様式の前書き")):
        yield f"form.{attr}", form, attr, where
    for step in form.get("steps") or ():
        if not isinstance(step, dict):
            continue
        step_key = step.get("key")
        name = step.get("title") or step_key
        yield f"step.{step_key}.title", step, "title", "ステップの見出し"
        yield f"step.{step_key}.intro", step, "intro", f"ステップ「{name}」の前書き"
        for field in _fields(step.get("fields")):
            field_key = field.get("key")
            label = field.get("label") or field_key
            for attr in FIELD_TEXT_ATTRS:
                where = ATTR_NAMES[attr] if attr == "label" else f"「{label}」の{ATTR_NAMES[attr]}"
                yield f"field.{field_key}.{attr}", field, attr, where
            for option in field.get("options") or ():
                if isinstance(option, dict):
                    value = option.get("value")
                    yield (
                        f"field.{field_key}.option.{value}",
                        option,
                        "label",
                        f"「{label}」の選択肢",
                    )


def form_texts(form: dict) -> list[FormText]:
    """Every non-empty text of a stored form definition, in form order."""
    return [
        FormText(key, holder[attr], where)
        for key, holder, attr, where in _texts(form)
        if isinstance(holder.get(attr), str) and holder[attr].strip()
    ]


def translate_form(form: dict, lookup: Lookup) -> dict:
    """A copy of a stored form definition with each text replaced by `lookup(key, japanese)`
    where that gives a non-empty text; every other text stays Japanese (fallback per text)."""
    out = copy.deepcopy(form)
    for key, holder, attr, _where in list(_texts(out)):
        japanese = holder.get(attr)
        if not isinstance(japanese, str) or not japanese.strip():
            continue
        translated = lookup(key, japanese)
        if isinstance(translated, str) and translated.strip():
            holder[attr] = translated
    return out
