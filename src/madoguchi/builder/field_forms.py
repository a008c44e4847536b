"""The settings form of one field, built for its type, and the condition pick lists.

The form turns what staff choose on the screen into the field's definition (a dict of
docs/form-schema.md); whether the definition is usable is decided by `parse_form`, the
validator the standard-template loader uses, so every rule has one message.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.formengine.schema import CHOICE_TYPES, FILE_KINDS, Condition, FormSchema

from .schema_edit import TYPE_LABELS

CONDITION_ROWS = 3
OPS = [
    ("", "―"),
    ("eq", _("が次の値のとき")),
    ("ne", _("が次の値でないとき")),
    ("filled", _("が入力されているとき")),
    ("empty", _("が入力されていないとき")),
]
JOINS = [
    ("all", _("すべての条件に当てはまるとき（かつ）")),
    ("any", _("どれか1つに当てはまるとき（または）")),
]
# Settings of each type the form offers (the engine's TYPE_ATTRS, minus those it handles
# itself: options and fields are edited as lines / separate fields).
NUMBER_TYPES = {"integer", "money"}


def _int(label, help_text="", minimum=None):
    return forms.IntegerField(label=label, required=False, help_text=help_text, min_value=minimum)


def _text(label, help_text="", widget=None):
    return forms.CharField(label=label, required=False, help_text=help_text, widget=widget)


def _bool(label, help_text=""):
    return forms.BooleanField(label=label, required=False, help_text=help_text)


def options_to_lines(options: list[dict]) -> str:
    lines = []
    for o in options or []:
        value, label = str(o.get("value", "")), str(o.get("label", ""))
        lines.append(label if value == label else f"{value}|{label}")
    return "\n".join(lines)


def lines_to_options(text: str) -> list[dict]:
    """「値|表示名」 or just 「表示名」 (the value is then the name) on each line."""
    options = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        value, sep, label = line.partition("|")
        if not sep:
            value = label = line
        options.append({"value": value.strip(), "label": label.strip()})
    return options


class FieldSettingsForm(forms.Form):
    """Settings of the field `data` (its current definition) in `form` (the parsed draft)."""

    label = forms.CharField(label=_("項目名"), required=False, max_length=300)
    help = _text(
        _("説明（ヘルプ）"),
        _("項目名の下に表示する説明です。書き方の例や注意を入れます。"),
        forms.Textarea(attrs={"rows": 2}),
    )
    required = _bool(_("必須にする"), _("入力しないと次へ進めない項目にします。"))
    key = forms.CharField(
        label=_("識別子"),
        required=False,
        max_length=64,
        help_text=_("出力やファイル連携で使う半角英小文字の名前です。通常は変更不要です。"),
    )

    def __init__(self, *args, data_field: dict, form: FormSchema, **kwargs):
        super().__init__(*args, **kwargs)
        self.original = data_field
        self.schema_form = form
        self.ftype = data_field["type"]
        t = self.ftype
        if t == "notice":
            del self.fields["required"]
            self.fields["body"] = _text(
                _("説明文"),
                _("申請者に読んで確認していただく文章です。"),
                forms.Textarea(attrs={"rows": 4}),
            )
            self.fields["confirm_label"] = _text(
                _("確認の文言"), _("空欄の場合「上記の内容を確認しました」")
            )
        if t in ("text", "textarea", "katakana", "address"):
            self.fields["max_length"] = _int(
                _("最大文字数"), _("空欄の場合は標準の文字数です。"), 1
            )
        if t in (
            "text",
            "textarea",
            "katakana",
            "address",
            "phone",
            "email",
            "integer",
            "money",
            "decimal",
        ):
            self.fields["placeholder"] = _text(_("入力例"), _("入力欄に薄く表示する例です。"))
        if t == "text":
            self.fields["pattern"] = _text(
                _("入力の形式（正規表現）"), _("例：[0-9]{4}（詳しい方向け）")
            )
            self.fields["pattern_message"] = _text(_("形式が違うときのメッセージ"))
            self.fields["person_name"] = _bool(
                _("人の氏名（絵文字・記号は受け付けません）"),
                _(
                    "主治医の氏名や担当者の氏名など、人の氏名を入れる項目です。"
                    "会社・団体の名称も入る項目では選ばないでください。"
                ),
            )
        if t == "name":
            self.fields["kana"] = _bool(_("フリガナも入力していただく"))
        if t == "date":
            self.fields["era_input"] = forms.ChoiceField(
                label=_("日付の入力方法"),
                choices=[
                    ("era", _("和暦（令和・平成・昭和…）と西暦を選べる")),
                    ("western", _("西暦のみ")),
                ],
                widget=forms.RadioSelect,
                required=False,
            )
            self.fields["min"] = _text(_("入力できる最も前の日"), _("YYYY-MM-DD か today（今日）"))
            self.fields["max"] = _text(_("入力できる最も後の日"), _("YYYY-MM-DD か today（今日）"))
        if t == "postal_code":
            choices = [("", _("―（住所を自動入力しない）"))] + [
                (f.key, f.label)
                for f in form.all_fields()
                if f.type in ("address", "text", "textarea") and f.key != data_field["key"]
            ]
            self.fields["address_field"] = forms.ChoiceField(
                label=_("住所を自動入力する項目"),
                choices=choices,
                required=False,
                help_text=_("同じステップの住所の項目を選ぶと、郵便番号から住所を入力します。"),
            )
        if t == "email":
            self.fields["confirm"] = _bool(_("確認のため2回入力していただく"))
        if t in ("integer", "money", "repeat"):
            self.fields["min"] = _int(
                _("最小") if t != "repeat" else _("最少の件数"), "", 0 if t == "repeat" else None
            )
            self.fields["max"] = _int(_("最大") if t != "repeat" else _("最多の件数"), "", None)
        if t == "decimal":
            self.fields["min"] = forms.DecimalField(label=_("最小"), required=False)
            self.fields["max"] = forms.DecimalField(label=_("最大"), required=False)
            self.fields["places"] = _int(_("小数点以下の桁数"), _("空欄の場合は2桁です。"), 0)
        if t in ("integer", "decimal"):
            self.fields["unit"] = _text(_("単位"), _("例：人、㎡"))
        if t in CHOICE_TYPES:
            self.fields["options"] = _text(
                _("選択肢"),
                _("1行に1つずつ入力します。出力する値を変えるときは「値|表示名」と書きます。"),
                forms.Textarea(attrs={"rows": 5}),
            )
        if t == "checkboxes":
            self.fields["min_selected"] = _int(_("最少の選択数"), "", 0)
            self.fields["max_selected"] = _int(_("最多の選択数"), "", 1)
        if t == "file":
            self.fields["accept"] = forms.MultipleChoiceField(
                label=_("受け付けるファイルの種類"),
                choices=[(k, k.upper()) for k in FILE_KINDS],
                widget=forms.CheckboxSelectMultiple,
                required=False,
            )
            self.fields["max_size_mb"] = forms.DecimalField(
                label=_("1ファイルの最大サイズ（MB）"),
                required=False,
                help_text=_("空欄の場合は10MBです。"),
            )
            self.fields["max_files"] = _int(
                _("添付できるファイルの数"), _("空欄の場合は1つです。"), 1
            )
        if t == "repeat":
            self.fields["item_label"] = _text(_("1件の呼び方"), _("例：児童、世帯員"))
        self._add_condition_fields("visible_if", _("表示する条件"))
        if t != "notice":
            self._add_condition_fields("required_if", _("必須にする条件"))
        # Conditions the pick lists cannot show (written in YAML: nested, "in") are kept as
        # they are unless staff clear them or pick a new one.
        self.kept_conditions = {
            prefix: data_field[prefix]
            for prefix in ("visible_if", "required_if")
            if prefix in data_field and self._rows_from(data_field[prefix]) is None
        }
        if not self.is_bound:
            self.initial.update(self._initial_from(data_field))
        dads_classes(self)

    # -- conditions --------------------------------------------------------------------------

    def condition_targets(self):
        """Fields a condition of this field may refer to: those before it (outside any
        repeat, or in the same repeat item)."""
        me = self.schema_form.field(self.original["key"])
        out = []
        for f in self.schema_form.all_fields():
            if me is not None and f.order >= me.order:
                break
            if f.type == "repeat" or (
                f.parent is not None and (me is None or f.parent is not me.parent)
            ):
                continue
            out.append(f)
        return out

    def _add_condition_fields(self, prefix: str, title: str) -> None:
        targets = self.condition_targets()
        field_choices = [("", "―")] + [(f.key, f.label) for f in targets]
        value_choices: list = [("", _("（右の欄に入力した値）"))]
        for f in targets:
            if f.type in CHOICE_TYPES:
                value_choices.append(
                    (f.label, [(f"{f.key}::{o.value}", o.label) for o in f.options])
                )
            elif f.type in ("yesno", "notice"):
                value_choices.append(
                    (f.label, [(f"{f.key}::true", _("はい")), (f"{f.key}::false", _("いいえ"))])
                )
        self.fields[f"{prefix}_join"] = forms.ChoiceField(
            label=_("%(title)sが複数あるとき") % {"title": title},
            choices=JOINS,
            required=False,
            widget=forms.RadioSelect,
        )
        for i in range(CONDITION_ROWS):
            self.fields[f"{prefix}_{i}_field"] = forms.ChoiceField(
                label=_("%(title)s%(n)s：項目") % {"title": title, "n": i + 1},
                choices=field_choices,
                required=False,
            )
            self.fields[f"{prefix}_{i}_op"] = forms.ChoiceField(
                label=_("%(title)s%(n)s：比べ方") % {"title": title, "n": i + 1},
                choices=OPS,
                required=False,
            )
            self.fields[f"{prefix}_{i}_choice"] = forms.ChoiceField(
                label=_("%(title)s%(n)s：値（選択肢）") % {"title": title, "n": i + 1},
                choices=value_choices,
                required=False,
            )
            self.fields[f"{prefix}_{i}_text"] = forms.CharField(
                label=_("%(title)s%(n)s：値（入力）") % {"title": title, "n": i + 1}, required=False
            )

    def condition_rows(self, prefix: str):
        return [
            [self[f"{prefix}_{i}_{part}"] for part in ("field", "op", "choice", "text")]
            for i in range(CONDITION_ROWS)
        ]

    @staticmethod
    def _rows_from(cond: dict | None) -> tuple[str, list[dict]] | None:
        """(join, rows) for a condition the pick lists can show, else None."""
        if not cond:
            return "all", []
        join, items = "all", [cond]
        if "all" in cond or "any" in cond:
            join = "all" if "all" in cond else "any"
            items = cond[join]
        rows = []
        for c in items:
            if not isinstance(c, dict):
                return None
            if set(c) == {"field", "equals"}:
                rows.append({"field": c["field"], "op": "eq", "value": c["equals"]})
            elif set(c) == {"field", "filled"}:
                rows.append(
                    {"field": c["field"], "op": "filled" if c["filled"] else "empty", "value": None}
                )
            elif (
                set(c) == {"not"}
                and isinstance(c["not"], dict)
                and set(c["not"]) == {"field", "equals"}
            ):
                rows.append({"field": c["not"]["field"], "op": "ne", "value": c["not"]["equals"]})
            else:
                return None
        if len(rows) > CONDITION_ROWS:
            return None
        return join, rows

    def _initial_from(self, d: dict) -> dict:
        initial: dict = {"label": d.get("label", ""), "help": d.get("help", ""), "key": d["key"]}
        initial["required"] = bool(d.get("required"))
        for name in (
            "max_length",
            "placeholder",
            "pattern",
            "pattern_message",
            "min",
            "max",
            "places",
            "unit",
            "min_selected",
            "max_selected",
            "max_size_mb",
            "max_files",
            "item_label",
            "body",
            "confirm_label",
            "address_field",
        ):
            if name in d:
                initial[name] = d[name]
        initial["kana"] = d.get("kana", True)
        initial["confirm"] = d.get("confirm", False)
        initial["person_name"] = d.get("person_name", False)
        initial["era_input"] = "era" if d.get("era_input", True) else "western"
        if "options" in d:
            initial["options"] = options_to_lines(d["options"])
        initial["accept"] = d.get("accept", ["pdf", "jpeg", "png"])
        for prefix in ("visible_if", "required_if"):
            shown = self._rows_from(d.get(prefix))
            if shown is None:
                continue
            join, rows = shown
            initial[f"{prefix}_join"] = join
            for i, row in enumerate(rows):
                initial[f"{prefix}_{i}_field"] = row["field"]
                initial[f"{prefix}_{i}_op"] = row["op"]
                target = self.schema_form.field(row["field"])
                if target is not None and target.type in CHOICE_TYPES | {"yesno", "notice"}:
                    value = row["value"]
                    if isinstance(value, bool):
                        value = "true" if value else "false"
                    initial[f"{prefix}_{i}_choice"] = f"{row['field']}::{value}"
                elif row["value"] is not None:
                    initial[f"{prefix}_{i}_text"] = str(row["value"])
        return initial

    def _condition(self, prefix: str):
        """The condition dict built from the pick lists, None for no condition."""
        parts = []
        for i in range(CONDITION_ROWS):
            key = self.cleaned_data.get(f"{prefix}_{i}_field")
            op = self.cleaned_data.get(f"{prefix}_{i}_op")
            if not key and not op:
                continue
            if not key or not op:
                self.add_error(
                    f"{prefix}_{i}_field", _("条件の項目と比べ方の両方を選んでください。")
                )
                continue
            if op in ("filled", "empty"):
                parts.append({"field": key, "filled": op == "filled"})
                continue
            target = self.schema_form.field(key)
            choice = self.cleaned_data.get(f"{prefix}_{i}_choice") or ""
            text = (self.cleaned_data.get(f"{prefix}_{i}_text") or "").strip()
            if choice:
                choice_key, _sep, value = choice.partition("::")
                if choice_key != key:
                    label = target.label if target else key
                    self.add_error(
                        f"{prefix}_{i}_choice",
                        _("選んだ値は項目「%(label)s」の選択肢ではありません。") % {"label": label},
                    )
                    continue
                if target is not None and target.type in ("yesno", "notice"):
                    value = value == "true"
            elif text:
                value = text
                if target is not None and target.type in NUMBER_TYPES:
                    try:
                        value = int(text)
                    except ValueError:
                        self.add_error(
                            f"{prefix}_{i}_text", _("この項目と比べる値は整数で入力してください。")
                        )
                        continue
            else:
                self.add_error(f"{prefix}_{i}_choice", _("比べる値を選ぶか入力してください。"))
                continue
            leaf = {"field": key, "equals": value}
            parts.append({"not": leaf} if op == "ne" else leaf)
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return {self.cleaned_data.get(f"{prefix}_join") or "all": parts}

    # -- result ------------------------------------------------------------------------------

    def definition(self) -> dict:
        """The field's new definition (call after is_valid())."""
        c = self.cleaned_data
        d = dict(self.original)
        t = self.ftype

        def put(name, value):
            if value in (None, "", [], False) and name not in ("kana",):
                d.pop(name, None)
            else:
                d[name] = value

        d["label"] = (c.get("label") or "").strip()
        d["key"] = (c.get("key") or "").strip() or self.original["key"]
        put("help", (c.get("help") or "").strip())
        if "required" in self.fields:
            put("required", bool(c.get("required")))
        for name in (
            "max_length",
            "placeholder",
            "pattern",
            "pattern_message",
            "unit",
            "item_label",
            "body",
            "confirm_label",
            "address_field",
            "min_selected",
            "max_selected",
            "max_files",
            "places",
        ):
            if name in self.fields:
                value = c.get(name)
                put(name, value.strip() if isinstance(value, str) else value)
        if t == "name":
            if c.get("kana"):
                d.pop("kana", None)
            else:
                d["kana"] = False
        if t == "email":
            put("confirm", bool(c.get("confirm")))
        if t == "text":
            put("person_name", bool(c.get("person_name")))
        if t == "date":
            if c.get("era_input") == "western":
                d["era_input"] = False
            else:
                d.pop("era_input", None)
            for name in ("min", "max"):
                put(name, (c.get(name) or "").strip())
        if t in ("integer", "money", "repeat"):
            for name in ("min", "max"):
                put(name, c.get(name))
        if t == "decimal":
            for name in ("min", "max"):
                value = c.get(name)
                put(name, str(value) if isinstance(value, Decimal) else value)
        if t in CHOICE_TYPES:
            d["options"] = lines_to_options(c.get("options") or "")
            if not d["options"]:
                d.pop("options")
        if t == "file":
            accept = c.get("accept") or []
            if sorted(accept) == sorted(["pdf", "jpeg", "png"]) or not accept:
                d.pop("accept", None)
            else:
                d["accept"] = [k for k in FILE_KINDS if k in accept]
            size = c.get("max_size_mb")
            if size is not None:
                d["max_size_mb"] = int(size) if size == int(size) else float(size)
            if d.get("max_files") == 1:
                d.pop("max_files")
        for prefix in ("visible_if", "required_if"):
            if f"{prefix}_0_field" not in self.fields:
                continue
            cond = self._condition(prefix)
            kept = self.kept_conditions.get(prefix)
            if cond is not None:
                d[prefix] = cond
            elif kept is not None and self.data.get(f"{prefix}_clear") != "1":
                d[prefix] = kept
            else:
                d.pop(prefix, None)
        # keep the engine's attribute order stable for YAML export: key, type, label first
        head = {k: d[k] for k in ("key", "type", "label") if k in d}
        return {**head, **{k: v for k, v in d.items() if k not in head}}


def rename_references(schema: dict, old: str, new: str) -> None:
    """After a field's key changed, make conditions, address_field and applicant follow."""
    from .schema_edit import _rename_refs, iter_fields

    for f, _place in iter_fields(schema):
        for attr in ("visible_if", "required_if"):
            if attr in f:
                f[attr] = _rename_refs(f[attr], {old: new})
        if f.get("address_field") == old:
            f["address_field"] = new
    applicant = schema.get("applicant")
    if isinstance(applicant, dict):
        for role, key in list(applicant.items()):
            if key == old:
                applicant[role] = new


def type_choices():
    return list(TYPE_LABELS.items())


__all__ = ["Condition", "FieldSettingsForm", "rename_references", "type_choices"]


def dads_classes(form) -> None:
    """The design system's classes on every widget (no inline styles)."""
    for field in form.fields.values():
        widget = field.widget
        name = type(widget).__name__
        css = {"Textarea": "dads-textarea", "Select": "dads-select"}.get(name)
        if css is None and name in ("TextInput", "NumberInput", "DateInput", "EmailInput"):
            css = "dads-input"
        if css:
            widget.attrs["class"] = css
