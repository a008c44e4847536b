"""Edits of a form definition (the `form` block of docs/form-schema.md, as stored in
FormVersion.schema): pure functions on plain dicts, no Django.

Every edit returns a new dict (the input is not changed). The caller checks the result with
`formengine.schema.parse_form` — the same validator, with the same messages, as the
standard-template loader — and keeps the old definition when it is refused.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from madoguchi.formengine.schema import CHOICE_TYPES, FIELD_TYPES, Condition, FormSchema


def gettext_noop(text: str) -> str:
    """Marks a text for the translation catalogue (makemessages finds it by this name) without
    importing Django; the views translate it where it is shown."""
    return text


# Japanese names of the field types, in the order the builder offers them.
TYPE_LABELS: dict[str, str] = {
    "text": gettext_noop("1行の文字"),
    "textarea": gettext_noop("複数行の文字"),
    "name": gettext_noop("氏名（フリガナ付き）"),
    "katakana": gettext_noop("カタカナ"),
    "date": gettext_noop("日付"),
    "postal_code": gettext_noop("郵便番号"),
    "address": gettext_noop("住所"),
    "phone": gettext_noop("電話番号"),
    "email": gettext_noop("メールアドレス"),
    "integer": gettext_noop("整数"),
    "decimal": gettext_noop("小数"),
    "money": gettext_noop("金額（円）"),
    "select": gettext_noop("選択（プルダウン）"),
    "radio": gettext_noop("選択（ラジオボタン）"),
    "checkboxes": gettext_noop("複数選択（チェックボックス）"),
    "yesno": gettext_noop("はい・いいえ"),
    "individual_number": gettext_noop("個人番号（マイナンバー）"),
    "corporate_number": gettext_noop("法人番号"),
    "bank_account": gettext_noop("振込先の口座"),
    "file": gettext_noop("添付ファイル"),
    "repeat": gettext_noop("繰り返し（児童ごとなど）"),
    "notice": gettext_noop("確認事項（読んで確認）"),
}
assert set(TYPE_LABELS) == set(FIELD_TYPES), "every field type of the engine has a name"

ATTR_LABELS: dict[str, str] = {
    "key": gettext_noop("識別子"),
    "type": gettext_noop("種類"),
    "label": gettext_noop("項目名"),
    "help": gettext_noop("説明（ヘルプ）"),
    "required": gettext_noop("必須"),
    "visible_if": gettext_noop("表示する条件"),
    "required_if": gettext_noop("必須にする条件"),
    "placeholder": gettext_noop("入力例"),
    "autocomplete": gettext_noop("自動入力"),
    "options": gettext_noop("選択肢"),
    "fields": gettext_noop("繰り返す項目"),
    "max_length": gettext_noop("最大文字数"),
    "pattern": gettext_noop("入力の形式"),
    "pattern_message": gettext_noop("形式が違うときのメッセージ"),
    "person_name": gettext_noop("人の氏名"),
    "kana": gettext_noop("フリガナ"),
    "min": gettext_noop("最小"),
    "max": gettext_noop("最大"),
    "era_input": gettext_noop("和暦で入力"),
    "address_field": gettext_noop("住所を入れる項目"),
    "confirm": gettext_noop("確認のため2回入力"),
    "places": gettext_noop("小数点以下の桁数"),
    "unit": gettext_noop("単位"),
    "min_selected": gettext_noop("最少選択数"),
    "max_selected": gettext_noop("最多選択数"),
    "accept": gettext_noop("ファイルの種類"),
    "max_size_mb": gettext_noop("最大サイズ（MB）"),
    "max_files": gettext_noop("最大ファイル数"),
    "item_label": gettext_noop("1件の呼び方"),
    "item_counter": gettext_noop("数え方"),
    "body": gettext_noop("説明文"),
    "confirm_label": gettext_noop("確認の文言"),
}

KEY_PREFIX = {"repeat": "group", "notice": "notice", "file": "attachment"}


def starter_form(title: str) -> dict:
    """The definition a new procedure starts with: one step asking the applicant's name and
    e-mail address."""
    return {
        "title": title,
        "steps": [
            {
                "key": "applicant",
                "title": "申請者について",
                "fields": [
                    {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                    {
                        "key": "applicant_email",
                        "type": "email",
                        "label": "メールアドレス",
                        "required": True,
                    },
                ],
            }
        ],
    }


# ---------------------------------------------------------------------------------------------
# Finding things


@dataclass
class Place:
    container: list  # the list holding the item (a step's fields, a repeat's fields, steps)
    index: int
    step_key: str
    parent_key: str | None = None


def _walk(fields: list, step_key: str, parent: str | None):
    for index, f in enumerate(fields):
        yield f, Place(fields, index, step_key, parent)
        if isinstance(f, dict) and f.get("type") == "repeat":
            yield from _walk(f.get("fields") or [], step_key, f.get("key"))


def iter_fields(schema: dict):
    """(field dict, Place) for every field in form order, repeat children after the repeat."""
    for step in schema.get("steps") or []:
        yield from _walk(step.get("fields") or [], step.get("key"), None)


def find_field(schema: dict, key: str) -> tuple[dict, Place] | None:
    for f, place in iter_fields(schema):
        if f.get("key") == key:
            return f, place
    return None


def find_step(schema: dict, key: str) -> tuple[dict, int] | None:
    for index, step in enumerate(schema.get("steps") or []):
        if step.get("key") == key:
            return step, index
    return None


def all_keys(schema: dict) -> set[str]:
    keys = {f.get("key") for f, _ in iter_fields(schema)}
    keys |= {s.get("key") for s in schema.get("steps") or []}
    return keys


def new_key(schema: dict, prefix: str, taken: set[str] | None = None) -> str:
    taken = all_keys(schema) | (taken or set())
    prefix = re.sub(r"[^a-z0-9_]", "_", prefix.lower()).strip("_") or "field"
    if not prefix[0].isalpha():
        prefix = "f_" + prefix
    n = 1
    while f"{prefix}_{n}" in taken:
        n += 1
    return f"{prefix}_{n}"


# ---------------------------------------------------------------------------------------------
# Edits


def default_field(schema: dict, ftype: str, label: str = "") -> dict:
    """A new field of `ftype` that the validator accepts (choices get two options, a repeat
    one child, a notice a body to replace)."""
    if ftype not in TYPE_LABELS:
        raise ValueError(ftype)
    key = new_key(schema, KEY_PREFIX.get(ftype, ftype))
    f: dict[str, Any] = {"key": key, "type": ftype, "label": label or TYPE_LABELS[ftype]}
    if ftype in CHOICE_TYPES:
        f["options"] = [{"value": "1", "label": "選択肢1"}, {"value": "2", "label": "選択肢2"}]
    elif ftype == "repeat":
        f["item_label"] = "項目"
        f["fields"] = [
            {"key": new_key(schema, "text", {key}), "type": "text", "label": "1行の文字"}
        ]
    elif ftype == "notice":
        f["body"] = "ここに、確認していただく説明を書いてください。"
    return f


def add_field(schema: dict, step_key: str, ftype: str, *, parent: str | None = None) -> tuple:
    """(new schema, new field key): a field of `ftype` at the end of a step (or of a repeat)."""
    out = copy.deepcopy(schema)
    f = default_field(out, ftype)
    if parent:
        found = find_field(out, parent)
        if found is None or found[0].get("type") != "repeat":
            raise KeyError(parent)
        found[0].setdefault("fields", []).append(f)
    else:
        found = find_step(out, step_key)
        if found is None:
            raise KeyError(step_key)
        found[0].setdefault("fields", []).append(f)
    return out, f["key"]


def add_step(schema: dict, title: str = "新しいステップ") -> tuple[dict, str]:
    """(new schema, new step key): a step with one text field at the end of the form (a step
    needs at least one field)."""
    out = copy.deepcopy(schema)
    key = new_key(out, "step")
    step = {"key": key, "title": title, "fields": []}
    out.setdefault("steps", []).append(step)
    step["fields"].append(default_field(out, "text"))
    return out, key


def replace_field(schema: dict, key: str, new: dict) -> dict:
    out = copy.deepcopy(schema)
    found = find_field(out, key)
    if found is None:
        raise KeyError(key)
    _f, place = found
    place.container[place.index] = new
    return out


def replace_step(schema: dict, key: str, values: dict) -> dict:
    out = copy.deepcopy(schema)
    found = find_step(out, key)
    if found is None:
        raise KeyError(key)
    step, _index = found
    for name, value in values.items():
        if value in ("", None) and name == "intro":
            step.pop(name, None)
        else:
            step[name] = value
    return out


def move(schema: dict, key: str, delta: int) -> dict:
    """Move a field (within its step or repeat) or a step by `delta` places; a field moved
    past the first or last place of its step goes to the previous or next step."""
    out = copy.deepcopy(schema)
    steps = out.get("steps") or []
    step = find_step(out, key)
    if step is not None:
        _s, index = step
        target = index + delta
        if 0 <= target < len(steps):
            steps.insert(target, steps.pop(index))
        return out
    found = find_field(out, key)
    if found is None:
        raise KeyError(key)
    _f, place = found
    target = place.index + delta
    if 0 <= target < len(place.container):
        place.container.insert(target, place.container.pop(place.index))
    elif place.parent_key is None and len(place.container) > 1:
        _st, step_index = find_step(out, place.step_key)
        other = step_index + (1 if delta > 0 else -1)
        if 0 <= other < len(steps):
            item = place.container.pop(place.index)
            fields = steps[other].setdefault("fields", [])
            if delta > 0:
                fields.insert(0, item)
            else:
                fields.append(item)
    return out


def reorder(schema: dict, container_key: str, keys: list[str]) -> dict:
    """Put the items of one container (a step's fields, a repeat's fields, or the steps when
    `container_key` is empty) in the order of `keys`; every item must be named once."""
    out = copy.deepcopy(schema)
    if not container_key:
        items = out.get("steps") or []
    else:
        step = find_step(out, container_key)
        if step is not None:
            items = step[0].get("fields") or []
        else:
            found = find_field(out, container_key)
            if found is None or found[0].get("type") != "repeat":
                raise KeyError(container_key)
            items = found[0].get("fields") or []
    by_key = {i.get("key"): i for i in items}
    if sorted(by_key) != sorted(keys) or len(keys) != len(items):
        raise ValueError("the new order must name every item once")
    items[:] = [by_key[k] for k in keys]
    return out


def _rekey(schema: dict, item: dict, taken: set[str]) -> dict[str, str]:
    """Give `item` (and its children) new keys; returns old → new."""
    renamed: dict[str, str] = {}
    prefix = re.sub(r"_\d+$", "", item.get("key", "field"))
    item["key"] = renamed[item["key"]] = new_key(schema, prefix, taken)
    taken.add(item["key"])
    for child in item.get("fields") or []:
        if isinstance(child, dict):
            renamed.update(_rekey(schema, child, taken))
    return renamed


def _rename_refs(cond: Any, renamed: dict[str, str]) -> Any:
    if isinstance(cond, dict):
        return {
            k: (renamed.get(v, v) if k == "field" else _rename_refs(v, renamed))
            for k, v in cond.items()
        }
    if isinstance(cond, list):
        return [_rename_refs(c, renamed) for c in cond]
    return cond


def duplicate(schema: dict, key: str) -> tuple[dict, str]:
    """(new schema, key of the copy): a copy of a field or step right after it, with new keys.
    Conditions inside the copy that refer to fields of the copy follow the new keys."""
    out = copy.deepcopy(schema)
    step = find_step(out, key)
    taken: set[str] = set()
    if step is not None:
        original, index = step
        item = copy.deepcopy(original)
        item["key"] = new_key(out, re.sub(r"_\d+$", "", key), taken)
        taken.add(item["key"])
        renamed: dict[str, str] = {}
        for child in item.get("fields") or []:
            renamed.update(_rekey(out, child, taken))
        item["fields"] = [_retarget(c, renamed) for c in item.get("fields") or []]
        out["steps"].insert(index + 1, item)
        return out, item["key"]
    found = find_field(out, key)
    if found is None:
        raise KeyError(key)
    original, place = found
    item = copy.deepcopy(original)
    renamed = _rekey(out, item, taken)
    item = _retarget(item, renamed)
    place.container.insert(place.index + 1, item)
    return out, item["key"]


def _retarget(item: dict, renamed: dict[str, str]) -> dict:
    for attr in ("visible_if", "required_if"):
        if attr in item:
            item[attr] = _rename_refs(item[attr], renamed)
    if item.get("type") == "postal_code" and item.get("address_field") in renamed:
        item["address_field"] = renamed[item["address_field"]]
    if item.get("fields"):
        item["fields"] = [_retarget(c, renamed) for c in item["fields"]]
    return item


def delete(schema: dict, key: str) -> dict:
    out = copy.deepcopy(schema)
    step = find_step(out, key)
    if step is not None:
        out["steps"].pop(step[1])
        return out
    found = find_field(out, key)
    if found is None:
        raise KeyError(key)
    _f, place = found
    place.container.pop(place.index)
    return out


# ---------------------------------------------------------------------------------------------
# Conditions in words


def _same(text: str) -> str:
    return text


def _value_words(form: FormSchema, field_key: str, value: Any, tr=_same) -> str:
    target = form.field(field_key)
    if target is not None and target.type in CHOICE_TYPES:
        return target.option_labels.get(str(value), str(value))
    if isinstance(value, bool):
        return tr(gettext_noop("はい")) if value else tr(gettext_noop("いいえ"))
    return str(value)


def condition_words(form: FormSchema, cond: Condition | None, tr=_same) -> str:
    """「婚姻の状況 が 既婚」: a condition in words, with the labels of the fields and options
    it refers to. `tr` translates the words around them (Django's gettext in the views; the
    Japanese as it is by default)."""
    if cond is None:
        return ""
    if cond.op in ("all", "any"):
        joiner = tr(gettext_noop(" かつ ")) if cond.op == "all" else tr(gettext_noop(" または "))
        parts = [condition_words(form, c, tr) for c in cond.children]
        return joiner.join(
            tr(gettext_noop("（%(condition)s）")) % {"condition": p}
            if c.op in ("all", "any")
            else p
            for c, p in zip(cond.children, parts, strict=True)
        )
    if cond.op == "not":
        inner = cond.children[0]
        if inner.op == "equals":
            return tr(gettext_noop("%(label)s が %(value)s でない")) % {
                "label": _label(form, inner.field, tr),
                "value": _value_words(form, inner.field, inner.value, tr),
            }
        return tr(gettext_noop("「%(condition)s」ではない")) % {
            "condition": condition_words(form, inner, tr)
        }
    label = _label(form, cond.field, tr)
    if cond.op == "filled":
        if cond.value:
            return tr(gettext_noop("%(label)s が入力されている")) % {"label": label}
        return tr(gettext_noop("%(label)s が入力されていない")) % {"label": label}
    if cond.op == "in":
        values = tr(gettext_noop("・")).join(
            _value_words(form, cond.field, v, tr) for v in cond.value
        )
        return tr(gettext_noop("%(label)s が %(values)s のどれか")) % {
            "label": label,
            "values": values,
        }
    return tr(gettext_noop("%(label)s が %(value)s")) % {
        "label": label,
        "value": _value_words(form, cond.field, cond.value, tr),
    }


def _label(form: FormSchema, key: str | None, tr=_same) -> str:
    target = form.field(key) if key else None
    if target is not None:
        return target.label
    return tr(gettext_noop("（ない項目「%(key)s」）")) % {"key": key}


def shown_when(form: FormSchema, cond: Condition | None, tr=_same) -> str:
    if not cond:
        return ""
    return tr(gettext_noop("%(condition)s のとき表示")) % {
        "condition": condition_words(form, cond, tr)
    }


def required_when(form: FormSchema, cond: Condition | None, tr=_same) -> str:
    if not cond:
        return ""
    return tr(gettext_noop("%(condition)s のとき必須")) % {
        "condition": condition_words(form, cond, tr)
    }


# ---------------------------------------------------------------------------------------------
# Difference between two definitions


@dataclass
class FieldChange:
    key: str
    label: str
    attrs: list[str] = field(default_factory=list)  # Japanese names of the changed settings
    type_changed: bool = False


@dataclass
class FormDiff:
    added: list[tuple[str, str]] = field(default_factory=list)  # (key, label)
    removed: list[tuple[str, str]] = field(default_factory=list)
    changed: list[FieldChange] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    steps_added: list[str] = field(default_factory=list)
    steps_removed: list[str] = field(default_factory=list)
    steps_changed: list[str] = field(default_factory=list)
    form_changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.added,
                self.removed,
                self.changed,
                self.moved,
                self.steps_added,
                self.steps_removed,
                self.steps_changed,
                self.form_changed,
            )
        )

    @property
    def affected_keys(self) -> set[str]:
        """Keys whose stored answers change meaning: removed, or changed type or options."""
        keys = {k for k, _ in self.removed}
        keys |= {c.key for c in self.changed if c.type_changed or "選択肢" in c.attrs}
        return keys


def _fields_by_key(schema: dict) -> dict[str, tuple[dict, Place]]:
    return {f.get("key"): (f, place) for f, place in iter_fields(schema or {})}


def _own(f: dict) -> dict:
    return {k: v for k, v in f.items() if k != "fields"}


def diff(old: dict | None, new: dict) -> FormDiff:
    """What changed from `old` (the published definition; None: nothing published) to `new`."""
    result = FormDiff()
    old = old or {"steps": []}
    before, after = _fields_by_key(old), _fields_by_key(new)
    for key, (f, _p) in after.items():
        if key not in before:
            result.added.append((key, f.get("label", key)))
    for key, (f, _p) in before.items():
        if key not in after:
            result.removed.append((key, f.get("label", key)))
    for key, (f, place) in after.items():
        if key not in before:
            continue
        g, old_place = before[key]
        a, b = _own(g), _own(f)
        if a != b:
            names = sorted(
                set(a) | set(b),
                key=lambda n: list(ATTR_LABELS).index(n) if n in ATTR_LABELS else 99,
            )
            attrs = [ATTR_LABELS.get(n, n) for n in names if a.get(n) != b.get(n)]
            result.changed.append(
                FieldChange(key, f.get("label", key), attrs, a.get("type") != b.get("type"))
            )
        if (old_place.step_key, old_place.parent_key) != (place.step_key, place.parent_key):
            result.moved.append((key, f.get("label", key)))
    old_steps = {s.get("key"): s for s in old.get("steps") or []}
    new_steps = {s.get("key"): s for s in new.get("steps") or []}
    result.steps_added = [s.get("title", k) for k, s in new_steps.items() if k not in old_steps]
    result.steps_removed = [s.get("title", k) for k, s in old_steps.items() if k not in new_steps]
    for k, s in new_steps.items():
        o = old_steps.get(k)
        if o is not None and (o.get("title"), o.get("intro")) != (s.get("title"), s.get("intro")):
            result.steps_changed.append(s.get("title", k))
    if [k for k in old_steps if k in new_steps] != [k for k in new_steps if k in old_steps]:
        result.steps_changed.append("ステップの順番")
    for name, label in (
        ("title", "様式の表題"),
        ("intro", "前書き"),
        ("feedback", "最後のご意見欄"),
    ):
        if old.get(name) != new.get(name) and old.get("steps"):
            result.form_changed.append(label)
    return result
