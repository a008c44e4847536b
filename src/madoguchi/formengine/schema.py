"""Form definitions (様式定義): dataclasses and a strict loader.

`parse_form(data, source)` turns the `form` block of a template (docs/form-schema.md) into a
`FormSchema`, or raises `SchemaError` naming the template, the field (or step) and the problem
in Japanese. Pure Python: no Django imports.

`compiled_form(data, source, key=...)` is `parse_form` remembered per (key, content digest):
a request reads a form version from the database and gets the FormSchema compiled the first
time that exact content was seen. The digest is of the content itself, so an edited draft is
compiled again, never served stale. A compiled FormSchema is shared between requests (and
threads): nothing may change it after parsing.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import pickle
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "FIELD_TYPES",
    "Condition",
    "Field",
    "FormSchema",
    "Option",
    "SchemaError",
    "Step",
    "compiled_form",
    "parse_form",
    "schema_digest",
]

KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
REPEAT_HARD_MAX = 50  # upper bound on repeat items even when the definition gives no `max`

COMMON_ATTRS = (
    "key",
    "type",
    "label",
    "help",
    "required",
    "visible_if",
    "required_if",
    "placeholder",
    "autocomplete",
)

# type -> extra attributes it accepts (docs/form-schema.md, table "Fields")
TYPE_ATTRS: dict[str, tuple[str, ...]] = {
    "text": ("max_length", "pattern", "pattern_message", "person_name"),
    "textarea": ("max_length",),
    "name": ("kana",),
    "katakana": ("max_length",),
    "date": ("min", "max", "era_input"),
    "postal_code": ("address_field",),
    "address": ("max_length",),
    "phone": (),
    "email": ("confirm",),
    "integer": ("min", "max", "unit"),
    "decimal": ("min", "max", "places", "unit"),
    "money": ("min", "max"),
    "select": ("options",),
    "radio": ("options",),
    "checkboxes": ("options", "min_selected", "max_selected"),
    "yesno": (),
    "individual_number": (),
    "corporate_number": (),
    "bank_account": (),
    "file": ("accept", "max_size_mb", "max_files"),
    "repeat": ("fields", "min", "max", "item_label", "item_counter"),
    "notice": ("body", "confirm_label"),
}
FIELD_TYPES = tuple(TYPE_ATTRS)
CHOICE_TYPES = frozenset({"select", "radio", "checkboxes"})
FILE_KINDS = ("pdf", "jpeg", "png", "heic")
DEFAULT_ACCEPT = ("pdf", "jpeg", "png")
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 2000, "katakana": 100, "address": 200}
DEFAULT_CONFIRM_LABEL = "上記の内容を確認しました"

_FORM_ATTRS = ("title", "intro", "feedback", "steps", "key", "applicant")
# Step keys that would collide with the pages around the steps (portal, counter, business).
RESERVED_STEP_KEYS = frozenset({"confirm", "done", "save", "start", "receipt"})
_APPLICANT_ATTRS = {"name": "name", "email": "email"}
_STEP_ATTRS = ("key", "title", "fields", "intro")
_CONDITION_OPS = ("equals", "in", "filled")


class SchemaError(ValueError):
    """A form definition that cannot be used. `str()` is the full Japanese message."""

    def __init__(self, source: str, field: str | None, problem: str, *, step: str | None = None):
        self.source = source
        self.field = field if field is not None else step
        self.step = step
        self.problem = problem
        if field is not None:
            message = f"標準様式「{source}」の項目「{field}」: {problem}"
        elif step is not None:
            message = f"標準様式「{source}」のステップ「{step}」: {problem}"
        else:
            message = f"標準様式「{source}」: {problem}"
        super().__init__(message)


@dataclass(slots=True, frozen=True)
class Option:
    value: str
    label: str


@dataclass(slots=True, frozen=True)
class Condition:
    """A parsed `visible_if` / `required_if`. op: equals | in | filled | all | any | not."""

    op: str
    field: str | None = None
    value: Any = None
    children: tuple[Condition, ...] = ()

    def field_keys(self) -> Iterator[str]:
        if self.field is not None:
            yield self.field
        for child in self.children:
            yield from child.field_keys()

    def to_dict(self) -> dict:
        if self.op in ("all", "any"):
            return {self.op: [c.to_dict() for c in self.children]}
        if self.op == "not":
            return {"not": self.children[0].to_dict()}
        return {"field": self.field, self.op: self.value}


@dataclass(slots=True, eq=False)
class Field:
    key: str
    type: str
    label: str
    help: str = ""
    required: bool = False
    visible_if: Condition | None = None
    required_if: Condition | None = None
    placeholder: str = ""
    autocomplete: str = ""
    options: list[Option] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    max_length: int | None = None
    pattern: re.Pattern | None = None
    pattern_message: str = ""
    person_name: bool = False  # a text field holding a person's name (checked like 氏名)
    kana: bool = True
    min: Any = None
    max: Any = None
    era_input: bool = True
    address_field: str = ""
    confirm: bool = False
    places: int = 2
    unit: str = ""
    min_selected: int | None = None
    max_selected: int | None = None
    accept: tuple[str, ...] = DEFAULT_ACCEPT
    max_size_mb: float = 10
    max_files: int = 1
    item_label: str = ""
    item_counter: str = ""
    body: str = ""
    confirm_label: str = DEFAULT_CONFIRM_LABEL
    # Position in the form
    step_key: str = ""
    parent: Field | None = None  # the repeat this field belongs to
    order: int = 0  # position in the whole form (depth first)

    @property
    def option_labels(self) -> dict[str, str]:
        return {o.value: o.label for o in self.options}

    @property
    def is_repeat(self) -> bool:
        return self.type == "repeat"

    def __repr__(self) -> str:
        return f"<Field {self.key} ({self.type})>"


@dataclass(slots=True, eq=False)
class Step:
    key: str
    title: str
    fields: list[Field]
    intro: str = ""
    index: int = 0
    # A file field (at any depth): the step's <form> is sent as multipart/form-data; other
    # steps are sent url-encoded, which is much cheaper to parse for a hundred fields.
    has_files: bool = False

    def __repr__(self) -> str:
        return f"<Step {self.key}>"


@dataclass(slots=True, eq=False)
class FormSchema:
    title: str
    steps: list[Step]
    intro: str = ""
    feedback: bool = False
    source: str = ""
    # Which fields identify the applicant (the person the application is for) when it is not
    # simply the first name / e-mail field, e.g. 被保険者 on a form a care office fills in.
    applicant_name_field: str | None = None
    applicant_email_field: str | None = None
    _fields: dict[str, Field] = field(default_factory=dict, repr=False)
    _steps: dict[str, Step] = field(default_factory=dict, repr=False)

    def step(self, key: str) -> Step | None:
        """The step with this key, or None."""
        return self._steps.get(key)

    def step_index(self, key: str) -> int:
        """0-based position of a step; ValueError if unknown."""
        step = self._steps.get(key)
        if step is None:
            raise ValueError(key)
        return step.index

    def field(self, key: str) -> Field | None:
        """The field with this key at any depth (inside repeats too), or None."""
        return self._fields.get(key)

    def all_fields(self) -> list[Field]:
        """Every field in form order, repeat children right after their repeat."""
        return list(self._fields.values())

    @property
    def step_keys(self) -> list[str]:
        return [s.key for s in self.steps]


# ---------------------------------------------------------------------------------------------
# Loader


class _Loader:
    def __init__(self, source: str):
        self.source = source
        self.fields: dict[str, Field] = {}
        self.order = 0
        # condition references not yet seen: later in the form, or nowhere (decided at the end)
        self._pending: list[tuple[Field, str, str]] = []

    def fail(self, field_key: str | None, problem: str, step: str | None = None):
        raise SchemaError(self.source, field_key, problem, step=step)

    # -- form / steps -----------------------------------------------------------------------

    def form(self, data: Any) -> FormSchema:
        if not isinstance(data, dict):
            self.fail(None, "様式定義（form）は対応表（マッピング）で書いてください。")
        for name in data:
            if name not in _FORM_ATTRS:
                self.fail(
                    None,
                    f"「{name}」という設定はありません（様式全体で使える設定: "
                    f"{', '.join(a for a in _FORM_ATTRS if a != 'key')}）。",
                )
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            self.fail(None, "様式の表題（title）がありません。")
        intro = self.text_attr(None, data, "intro")
        feedback = data.get("feedback", False)
        if not isinstance(feedback, bool):
            self.fail(None, "「feedback」は true か false で指定してください。")
        steps_data = data.get("steps")
        if not isinstance(steps_data, list) or not steps_data:
            self.fail(None, "ステップ（steps）がありません。少なくとも1つ必要です。")
        steps: list[Step] = []
        step_map: dict[str, Step] = {}
        for index, step_data in enumerate(steps_data):
            step = self.step(step_data, index)
            if step.key in step_map:
                self.fail(None, f"ステップの識別子「{step.key}」が重複しています。", step=step.key)
            step_map[step.key] = step
            steps.append(step)
        self.check_references()
        applicant = self.applicant(data.get("applicant"))
        return FormSchema(
            title=title.strip(),
            steps=steps,
            intro=intro,
            feedback=feedback,
            source=self.source,
            applicant_name_field=applicant.get("name"),
            applicant_email_field=applicant.get("email"),
            _fields=self.fields,
            _steps=step_map,
        )

    def applicant(self, data: Any) -> dict[str, str]:
        """`applicant: {name: <name field>, email: <email field>}`, both optional."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.fail(None, "「applicant」は name と email の対応表で書いてください。")
        for role, key in data.items():
            expected_type = _APPLICANT_ATTRS.get(role)
            if expected_type is None:
                self.fail(None, f"「applicant」に「{role}」という設定はありません（name, email）。")
            target = self.fields.get(key) if isinstance(key, str) else None
            if target is None:
                self.fail(None, f"「applicant」の{role}に指定した項目「{key}」がありません。")
            if target.type != expected_type or target.parent is not None:
                self.fail(
                    key,
                    f"申請者の{role}には、繰り返しの外にある種類「{expected_type}」の項目を"
                    "指定してください。",
                )
        return dict(data)

    def step(self, data: Any, index: int) -> Step:
        where = f"{index + 1}番目のステップ"
        if not isinstance(data, dict):
            self.fail(None, f"{where}の書き方が正しくありません（key, title, fields が必要です）。")
        key = data.get("key")
        if key is None:
            self.fail(None, f"{where}に「key」がありません。")
        if not isinstance(key, str) or not KEY_RE.fullmatch(key) or "__" in key:
            self.fail(None, self.bad_key_problem(key), step=str(key))
        if key in RESERVED_STEP_KEYS:
            self.fail(
                None,
                f"識別子「{key}」は画面の名前と重なるため、ステップには使えません"
                f"（使えない識別子: {', '.join(sorted(RESERVED_STEP_KEYS))}）。",
                step=key,
            )
        for name in data:
            if name not in _STEP_ATTRS:
                self.fail(
                    None,
                    f"「{name}」という設定はありません（ステップで使える設定: "
                    f"{', '.join(_STEP_ATTRS)}）。",
                    step=key,
                )
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            self.fail(None, "ステップの表題（title）がありません。", step=key)
        intro = data.get("intro", "")
        if not isinstance(intro, str):
            self.fail(None, "「intro」は文字列で指定してください。", step=key)
        fields_data = data.get("fields")
        if fields_data is None or fields_data == []:
            self.fail(
                None, "項目がありません。ステップには少なくとも1つの項目が必要です。", step=key
            )
        if not isinstance(fields_data, list):
            self.fail(None, "「fields」は項目の一覧（リスト）で書いてください。", step=key)
        fields = [self.field(f, key, i, None) for i, f in enumerate(fields_data)]
        has_files = any(f.type == "file" or any(c.type == "file" for c in f.fields) for f in fields)
        return Step(
            key=key,
            title=title.strip(),
            fields=fields,
            intro=intro,
            index=index,
            has_files=has_files,
        )

    # -- fields -------------------------------------------------------------------------------

    @staticmethod
    def bad_key_problem(key: Any) -> str:
        return (
            f"識別子「{key}」は使えません。半角英小文字で始め、半角英小文字・数字・「_」だけで"
            "64文字以内にしてください（「__」は使えません）。"
        )

    def field(self, data: Any, step_key: str, index: int, parent: Field | None) -> Field:
        where = f"ステップ「{step_key}」の{index + 1}番目の項目"
        if parent is not None:
            where = f"繰り返し項目「{parent.key}」の{index + 1}番目の項目"
        if not isinstance(data, dict):
            self.fail(None, f"{where}の書き方が正しくありません（key, type, label が必要です）。")
        key = data.get("key")
        if key is None:
            self.fail(None, f"{where}に「key」がありません。")
        if not isinstance(key, str) or not KEY_RE.fullmatch(key) or "__" in key:
            self.fail(str(key), self.bad_key_problem(key))
        if key in self.fields:
            other = self.fields[key]
            self.fail(
                key,
                f"識別子「{key}」が重複しています（ステップ「{other.step_key}」の項目"
                f"「{other.label}」と同じです）。識別子は様式全体で一意にしてください。",
            )
        ftype = data.get("type")
        if ftype is None:
            self.fail(key, "「type」（項目の種類）がありません。")
        if ftype not in TYPE_ATTRS:
            self.fail(
                key, f"項目の種類「{ftype}」は使えません（使える種類: {', '.join(FIELD_TYPES)}）。"
            )
        allowed = COMMON_ATTRS + TYPE_ATTRS[ftype]
        if ftype == "notice":
            allowed = tuple(a for a in allowed if a != "required")
        for name in data:
            if name not in allowed:
                self.fail(
                    key,
                    f"「{name}」という設定はありません（種類「{ftype}」で使える設定: "
                    f"{', '.join(allowed)}）。",
                )
        label = data.get("label")
        if label is None:
            self.fail(key, "「label」（項目名）がありません。")
        if not isinstance(label, str) or not label.strip():
            self.fail(key, "「label」（項目名）は空でない文字列で指定してください。")

        f = Field(key=key, type=ftype, label=label.strip(), step_key=step_key, parent=parent)
        f.order = self.order
        self.order += 1
        self.fields[key] = f
        f.help = self.text_attr(key, data, "help")
        f.placeholder = self.text_attr(key, data, "placeholder")
        f.autocomplete = self.text_attr(key, data, "autocomplete")
        f.required = self.bool_attr(key, data, "required", False)
        if "visible_if" in data:
            f.visible_if = self.condition(f, data["visible_if"], "visible_if")
        if "required_if" in data:
            f.required_if = self.condition(f, data["required_if"], "required_if")

        getattr(self, f"type_{ftype}", self.type_plain)(f, data)
        return f

    def type_plain(self, f: Field, data: dict) -> None:
        if "max_length" in TYPE_ATTRS[f.type]:
            f.max_length = self.int_attr(f.key, data, "max_length", DEFAULT_MAX_LENGTH[f.type], 1)

    def type_text(self, f: Field, data: dict) -> None:
        self.type_plain(f, data)
        f.person_name = self.bool_attr(f.key, data, "person_name", False)
        f.pattern_message = self.text_attr(f.key, data, "pattern_message")
        if "pattern" in data:
            pattern = data["pattern"]
            if not isinstance(pattern, str) or not pattern:
                self.fail(f.key, "「pattern」は正規表現の文字列で指定してください。")
            try:
                f.pattern = re.compile(pattern)
            except re.error as exc:
                self.fail(f.key, f"「pattern」の正規表現が正しくありません（{exc}）。")
        elif f.pattern_message:
            self.fail(f.key, "「pattern_message」は「pattern」と一緒に指定してください。")

    def type_name(self, f: Field, data: dict) -> None:
        f.kana = self.bool_attr(f.key, data, "kana", True)

    def type_date(self, f: Field, data: dict) -> None:
        f.era_input = self.bool_attr(f.key, data, "era_input", True)
        for name in ("min", "max"):
            if name not in data:
                continue
            value = data[name]
            if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
                value = value.isoformat()  # YAML parses unquoted dates
            if value != "today":
                try:
                    datetime.date.fromisoformat(str(value))
                    if not isinstance(value, str) or len(value) != 10:
                        raise ValueError
                except ValueError:
                    self.fail(
                        f.key,
                        f"「{name}」は YYYY-MM-DD 形式の日付か today で指定してください"
                        f"（「{value}」は使えません）。",
                    )
            setattr(f, name, value)
        if f.min not in (None, "today") and f.max not in (None, "today") and f.min > f.max:
            self.min_max_fail(f)

    def type_postal_code(self, f: Field, data: dict) -> None:
        if "address_field" in data:
            value = data["address_field"]
            if not isinstance(value, str) or not value:
                self.fail(f.key, "「address_field」は住所の項目の識別子で指定してください。")
            f.address_field = value  # checked once every field is known

    def type_email(self, f: Field, data: dict) -> None:
        f.confirm = self.bool_attr(f.key, data, "confirm", False)

    def type_integer(self, f: Field, data: dict) -> None:
        for name in ("min", "max"):
            if name in data:
                value = data[name]
                if isinstance(value, bool) or not isinstance(value, int):
                    self.fail(f.key, f"「{name}」は整数で指定してください。")
                setattr(f, name, value)
        f.unit = self.text_attr(f.key, data, "unit")
        self.check_min_max(f)

    type_money = type_integer

    def type_decimal(self, f: Field, data: dict) -> None:
        f.places = self.int_attr(f.key, data, "places", 2, 0)
        for name in ("min", "max"):
            if name in data:
                value = data[name]
                try:
                    if isinstance(value, bool):
                        raise InvalidOperation
                    number = Decimal(str(value))
                    if not number.is_finite():
                        raise InvalidOperation
                except InvalidOperation:
                    self.fail(f.key, f"「{name}」は数値で指定してください。")
                setattr(f, name, number)
        f.unit = self.text_attr(f.key, data, "unit")
        self.check_min_max(f)

    def type_select(self, f: Field, data: dict) -> None:
        options = data.get("options")
        if not options:
            self.fail(f.key, "選択肢（options）がありません。")
        if not isinstance(options, list):
            self.fail(f.key, "選択肢（options）は {value, label} の一覧で書いてください。")
        seen: set[str] = set()
        for i, opt in enumerate(options):
            if (
                not isinstance(opt, dict)
                or set(opt) != {"value", "label"}
                or isinstance(opt["value"], bool | type(None))
                or not isinstance(opt["value"], str | int)
                or not isinstance(opt["label"], str)
                or not str(opt["value"]).strip()
                or not opt["label"].strip()
            ):
                self.fail(
                    f.key,
                    f"選択肢の{i + 1}番目が正しくありません（value と label を指定してください）。",
                )
            value = str(opt["value"]).strip()
            if value in seen:
                self.fail(f.key, f"選択肢の値「{value}」が重複しています。")
            seen.add(value)
            f.options.append(Option(value=value, label=opt["label"].strip()))

    type_radio = type_select

    def type_checkboxes(self, f: Field, data: dict) -> None:
        self.type_select(f, data)
        for name in ("min_selected", "max_selected"):
            if name in data:
                setattr(f, name, self.int_attr(f.key, data, name, None, 0))
        if f.max_selected is not None and f.max_selected < 1:
            self.fail(f.key, "「max_selected」は1以上の整数で指定してください。")
        if (
            f.min_selected is not None
            and f.max_selected is not None
            and f.min_selected > f.max_selected
        ):
            self.fail(
                f.key,
                f"min_selected（{f.min_selected}）が max_selected（{f.max_selected}）より"
                "大きくなっています。",
            )
        if f.min_selected is not None and f.min_selected > len(f.options):
            self.fail(
                f.key,
                f"min_selected（{f.min_selected}）が選択肢の数（{len(f.options)}）より"
                "大きくなっています。",
            )

    def type_file(self, f: Field, data: dict) -> None:
        if "accept" in data:
            accept = data["accept"]
            if (
                not isinstance(accept, list)
                or not accept
                or any(a not in FILE_KINDS for a in accept)
            ):
                self.fail(
                    f.key,
                    f"「accept」は {', '.join(FILE_KINDS)} から選んだ一覧で指定してください。",
                )
            f.accept = tuple(dict.fromkeys(accept))
        if "max_size_mb" in data:
            size = data["max_size_mb"]
            if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0:
                self.fail(f.key, "「max_size_mb」は正の数で指定してください。")
            f.max_size_mb = size
        f.max_files = self.int_attr(f.key, data, "max_files", 1, 1)

    def type_repeat(self, f: Field, data: dict) -> None:
        if f.parent is not None:
            self.fail(f.key, "繰り返し項目の中に繰り返し項目は置けません（入れ子は1段までです）。")
        for name in ("min", "max"):
            if name in data:
                setattr(f, name, self.int_attr(f.key, data, name, None, 0))
        if f.max is not None and f.max < 1:
            self.fail(f.key, "「max」は1以上の整数で指定してください。")
        if f.max is not None and f.max > REPEAT_HARD_MAX:
            self.fail(f.key, f"「max」は{REPEAT_HARD_MAX}以下にしてください。")
        self.check_min_max(f)
        f.min = max(f.min or 0, 1 if f.required else 0)
        if f.max is not None and f.min > f.max:
            self.min_max_fail(f)
        f.item_label = self.text_attr(f.key, data, "item_label") or f.label
        f.item_counter = self.text_attr(f.key, data, "item_counter") or guess_counter(f.item_label)
        children = data.get("fields")
        if not children:
            self.fail(f.key, "繰り返し項目に「fields」（繰り返す項目）がありません。")
        if not isinstance(children, list):
            self.fail(f.key, "「fields」は項目の一覧（リスト）で書いてください。")
        f.fields = [self.field(c, f.step_key, i, f) for i, c in enumerate(children)]

    def type_notice(self, f: Field, data: dict) -> None:
        f.required = True
        body = data.get("body")
        if not isinstance(body, str) or not body.strip():
            self.fail(f.key, "「body」（確認していただく説明文）がありません。")
        f.body = body.strip()
        f.confirm_label = self.text_attr(f.key, data, "confirm_label") or DEFAULT_CONFIRM_LABEL

    # -- attribute helpers -------------------------------------------------------------------

    def text_attr(self, key: str | None, data: dict, name: str) -> str:
        value = data.get(name, "")
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(key, f"「{name}」は文字列で指定してください。")
        return value.strip()

    def bool_attr(self, key: str, data: dict, name: str, default: bool) -> bool:
        value = data.get(name, default)
        if not isinstance(value, bool):
            self.fail(key, f"「{name}」は true か false で指定してください。")
        return value

    def int_attr(self, key: str, data: dict, name: str, default, minimum: int):
        if name not in data:
            return default
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, f"「{name}」は{minimum}以上の整数で指定してください。")
        return value

    def check_min_max(self, f: Field) -> None:
        if f.min is not None and f.max is not None and f.min > f.max:
            self.min_max_fail(f)

    def min_max_fail(self, f: Field) -> None:
        self.fail(f.key, f"min（{f.min}）が max（{f.max}）より大きくなっています。")

    # -- conditions --------------------------------------------------------------------------

    def condition(self, f: Field, data: Any, attr: str) -> Condition:
        cond = self.condition_node(f, data, attr)
        for ref in cond.field_keys():
            self.check_reference(f, ref, attr)
        self.check_condition_values(f, cond, attr)
        return cond

    def malformed(self, f: Field, attr: str, detail: str):
        self.fail(f.key, f"{attr} の書き方が正しくありません（{detail}）。")

    def condition_node(self, f: Field, data: Any, attr: str) -> Condition:
        if not isinstance(data, dict) or not data:
            self.malformed(f, attr, "条件は {field: …, equals: …} のような対応表で書いてください")
        keys = set(data)
        for op in ("all", "any"):
            if op in keys:
                if keys != {op}:
                    self.malformed(f, attr, f"「{op}」と他の設定は同時に使えません")
                items = data[op]
                if not isinstance(items, list) or not items:
                    self.malformed(f, attr, f"「{op}」には条件の一覧を指定してください")
                return Condition(
                    op=op, children=tuple(self.condition_node(f, c, attr) for c in items)
                )
        if "not" in keys:
            if keys != {"not"}:
                self.malformed(f, attr, "「not」と他の設定は同時に使えません")
            return Condition(op="not", children=(self.condition_node(f, data["not"], attr),))
        if "field" not in keys:
            self.malformed(f, attr, "参照する項目（field）がありません")
        ops = [op for op in _CONDITION_OPS if op in keys]
        unknown = keys - {"field", *_CONDITION_OPS}
        if unknown:
            self.malformed(
                f,
                attr,
                f"「{sorted(unknown)[0]}」は使えません。使えるのは field, equals, in, filled, "
                "all, any, not です",
            )
        if len(ops) != 1:
            self.malformed(f, attr, "equals, in, filled のどれか1つを指定してください")
        ref = data["field"]
        if not isinstance(ref, str) or not ref:
            self.malformed(f, attr, "「field」には項目の識別子を指定してください")
        op = ops[0]
        value = data[op]
        if op == "in":
            if not isinstance(value, list) or not value:
                self.malformed(f, attr, "「in」には値の一覧を指定してください")
            value = tuple(value)
        elif op == "filled":
            if not isinstance(value, bool):
                self.malformed(f, attr, "「filled」は true か false で指定してください")
        elif isinstance(value, list | dict) or value is None:
            self.malformed(f, attr, "「equals」には1つの値を指定してください")
        return Condition(op=op, field=ref, value=value)

    def check_reference(self, f: Field, ref: str, attr: str) -> None:
        target = self.fields.get(ref)
        if ref == f.key:
            self.fail(f.key, f"{attr} で自分自身（「{ref}」）は参照できません。")
        if target is None:
            # Not seen yet: either later in the form, or nowhere. Decided in check_references.
            self._pending.append((f, ref, attr))
            return
        if target.parent is not None and target.parent is not f.parent:
            self.fail(
                f.key,
                f"{attr} が参照している項目「{ref}」は繰り返し項目「{target.parent.key}」の中に"
                "あるため、その外からは参照できません。",
            )
        if target is f.parent:
            self.fail(
                f.key,
                f"{attr} で自分を含む繰り返し項目「{ref}」は参照できません。",
            )

    def check_condition_values(self, f: Field, cond: Condition, attr: str) -> None:
        if cond.op in ("all", "any", "not"):
            for child in cond.children:
                self.check_condition_values(f, child, attr)
            return
        target = self.fields.get(cond.field)
        if target is None or cond.op == "filled":
            return
        values = cond.value if cond.op == "in" else (cond.value,)
        if target.type in CHOICE_TYPES:
            known = target.option_labels
            for v in values:
                if str(v) not in known:
                    self.fail(
                        f.key,
                        f"{attr} の値「{v}」は項目「{target.key}」の選択肢にありません"
                        f"（選択肢: {', '.join(known)}）。",
                    )
        elif target.type in ("yesno", "notice"):
            for v in values:
                if not isinstance(v, bool):
                    self.fail(
                        f.key,
                        f"{attr} で項目「{target.key}」（はい・いいえ）と比べる値は true か false "
                        "で指定してください。",
                    )

    def check_references(self) -> None:
        for f, ref, attr in self._pending:
            if ref in self.fields:
                self.fail(
                    f.key,
                    f"{attr} が参照している項目「{ref}」はこの項目より後にあります。"
                    "条件には、この項目より前にある項目だけを使えます。",
                )
            self.fail(f.key, f"{attr} が参照している項目「{ref}」はありません。")
        for f in self.fields.values():
            if f.type == "postal_code" and f.address_field:
                target = self.fields.get(f.address_field)
                if target is None or target.type not in ("address", "text", "textarea"):
                    self.fail(
                        f.key,
                        f"「address_field」の「{f.address_field}」という住所の項目はありません。",
                    )
                if target.step_key != f.step_key or target.parent is not f.parent:
                    self.fail(
                        f.key,
                        f"「address_field」の項目「{f.address_field}」は郵便番号と同じステップ"
                        "（繰り返し項目の中では同じ繰り返し）に置いてください。",
                    )


_PEOPLE_SUFFIXES = (
    "者",
    "人",
    "員",
    "児",
    "童",
    "子",
    "族",
    "方",
    "親",
    "夫",
    "妻",
    "父",
    "母",
    "兄弟",
    "姉妹",
    "孫",
    "様",
)


def guess_counter(item_label: str) -> str:
    """人 when the repeated item is a person (児童, 世帯員, 扶養親族…), else 件."""
    return "人" if item_label.endswith(_PEOPLE_SUFFIXES) else "件"


def parse_form(data: dict, source: str) -> FormSchema:
    """Parse and check a form definition; raises SchemaError (Japanese message)."""
    return _Loader(source).form(data)


# ---------------------------------------------------------------------------------------------
# Compiled forms, remembered

COMPILED_MAX = 256  # distinct (version, content) pairs kept per process
_compiled: OrderedDict[tuple[Hashable, str], FormSchema] = OrderedDict()
_compiled_lock = threading.Lock()


def schema_digest(data: Any) -> str:
    """SHA-256 of a form definition's content. The pickle of plain JSON data is a faithful
    serialisation (three times faster than JSON text): different content never gives the
    same digest; the same content in another key order merely compiles once more."""
    try:
        serialised = pickle.dumps(data, protocol=5)
    except Exception:  # noqa: BLE001 - not plain data: fall back to JSON text
        serialised = json.dumps(data, sort_keys=True, default=repr).encode()
    return hashlib.sha256(serialised).hexdigest()


def compiled_form(data: dict, source: str | Callable[[], str], *, key: Hashable) -> FormSchema:
    """`parse_form(data, source)`, compiled once per `key` (e.g. the form version's id) and
    content digest, then shared. `source` may be a callable, called only when compiling.
    A definition that does not parse raises SchemaError every time (nothing is remembered)."""
    cache_key = (key, schema_digest(data))
    with _compiled_lock:
        form = _compiled.get(cache_key)
        if form is not None:
            _compiled.move_to_end(cache_key)
            return form
    form = parse_form(data, source() if callable(source) else source)
    with _compiled_lock:
        form = _compiled.setdefault(cache_key, form)
        while len(_compiled) > COMPILED_MAX:
            _compiled.popitem(last=False)
    return form


def forget_compiled() -> None:
    """Drop every remembered form (tests)."""
    with _compiled_lock:
        _compiled.clear()
