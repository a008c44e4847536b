"""HTML for the fields of one step.

Each field's markup is written in Python below ("markup": one function per kind of widget),
not in a Django template per field: a 100-field step costs a few milliseconds instead of tens.
Every value is escaped exactly as Django's autoescape would. The error summary and the review
table stay templates (templates/formengine/).

Markup follows the デジタル庁デザインシステム form patterns: label above the input with a
「必須」/「任意」 tag, help under the label, the error (「エラー：…」) under the help, groups in
fieldset/legend, aria-describedby / aria-invalid, no inline style or script (strict CSP), and
every action is a submit button so the form works without JavaScript.

Conditional fields whose condition depends on a field of the same step are rendered with a
`data-condition` attribute (JSON, referring to input *names*) and the `hidden` attribute when
the condition is currently false, so portal JavaScript may toggle them; without JavaScript the
server shows them after the resident presses 「次へ」. Fields whose condition depends only on
earlier steps are simply left out when hidden.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape as _html_escape
from typing import Any

from django.template.defaultfilters import linebreaks_filter
from django.template.loader import get_template
from django.utils.html import linebreaks
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from madoguchi.jp import banks

from .conditions import evaluate
from .fields.base import (
    FieldError,
    Loc,
    child_loc,
    counted,
    error_summary,
    item_prefix_label,
    top_loc,
)
from .fields.choice import NO, YES
from .fields.file import accept_attr, format_mb, format_size, kinds_text
from .fields.jpfields import ACCOUNT_TYPES, ERA_CHOICES
from .schema import DEFAULT_CONFIRM_LABEL, REPEAT_HARD_MAX, Condition, Field, FormSchema
from .validation import known_files_in, peek_step, raw_from_answers, repeat_count

__all__ = ["raw_from_answers", "render_error_summary", "render_step"]

SUMMARY_TEMPLATE = "formengine/error_summary.html"

_DEFAULT_AUTOCOMPLETE = {
    "email": "email",
    "phone": "tel",
    "postal_code": "postal-code",
    "address": "street-address",
    "individual_number": "off",
    "corporate_number": "off",
}
_INPUTMODE = {
    "integer": "numeric",
    "money": "numeric",
    "decimal": "decimal",
    "postal_code": "numeric",
    "individual_number": "numeric",
    "corporate_number": "numeric",
}
_INPUT_TYPE = {"email": "email", "phone": "tel"}
_SIMPLE_TYPES = {
    "text",
    "katakana",
    "address",
    "phone",
    "email",
    "integer",
    "decimal",
    "money",
    "postal_code",
    "individual_number",
    "corporate_number",
}


_NEEDS_ESCAPE = re.compile("[&<>\"']").search


def escape(text: str) -> str:
    """`html.escape` (what Django's autoescape does), skipped when there is nothing to escape
    (most labels, names and values): a 100-field step escapes some 500 strings."""
    return _html_escape(text) if _NEEDS_ESCAPE(text) else text


def _attrs(pairs: list[tuple[str, Any]]) -> SafeString:
    """' name="value"' for each pair with a non-empty value (escaped)."""
    return SafeString(  # every value is escaped
        "".join(f' {name}="{escape(value)}"' for name, value in pairs if value not in ("", None))
    )


def _aria(w: dict) -> list[tuple[str, Any]]:
    return [
        ("aria-required", "true" if w["required"] else ""),
        ("aria-invalid", "true" if w["invalid"] else ""),
    ]


def _options_html(options: list[dict]) -> SafeString:
    return SafeString(  # escaped
        "".join(
            f'<option value="{escape(o["value"])}"{" selected" if o["selected"] else ""}>'
            f"{escape(o['label'])}</option>"
            for o in options
        )
    )


# -- markup -------------------------------------------------------------------------------------
# Each field's HTML is written here in Python, one function per kind of markup (the widget dict
# `w` of `_Renderer.widget` in, HTML out). On a 100-field step this is several times cheaper
# than a Django template per field, and the output is the same: every value goes through `_e`
# (Django's autoescape: `escape`, except for what is already safe).


def _e(value: Any) -> str:
    if isinstance(value, SafeData):
        return str(value)
    return escape(str(value))


class _Texts:
    """The engine's own words in the active language, looked up once per language (not once
    per field)."""

    _by_language: dict[str | None, _Texts] = {}

    def __init__(self):
        self.required_word = _("必須")
        self.optional_word = _("任意")
        self.required = escape(self.required_word)
        self.optional = escape(self.optional_word)
        self.required_tag = f'<span class="dads-required">{self.required}</span>'
        self.optional_tag = f'<span class="dads-optional">{self.optional}</span>'
        self.error_prefix = escape(_("エラー："))
        self.choose_word = _("選択してください")
        self.choose = escape(self.choose_word)
        self.postal_search = escape(_("住所を検索"))
        self.attached = escape(_("添付済みのファイル"))
        self.unchecked_not_sent = escape(_("チェックを外したファイルは送信されません。"))
        self.yes = _("はい")
        self.no = _("いいえ")
        self.confirmed = _("上記の内容を確認しました")
        self.family = _("姓")
        self.given = _("名")
        self.family_kana = _("セイ（フリガナ）")
        self.given_kana = _("メイ（フリガナ）")
        self.choose_era = _("選択")
        self.era = _("元号")
        self.year = _("年")
        self.month = _("月")
        self.day = _("日")
        self.era_date_hint = _(
            "元号を選び、年・月・日を数字で入力してください"
            "（例：令和6年5月1日、西暦なら2024年5月1日）。"
        )
        self.western_date_hint = _("西暦で入力してください（例：2024年5月1日）。")
        self.bank_code = _("金融機関コード（4桁）")
        self.branch_code = _("支店コード（3桁）")
        self.account_type = _("預金種目")
        self.account_number = _("口座番号（7桁）")
        self.holder_kana = _("口座名義（カタカナ）")

    @classmethod
    def current(cls) -> _Texts:
        language = get_language()
        texts = cls._by_language.get(language)
        if texts is None:
            texts = cls._by_language[language] = cls()
        return texts


def _describedby_attr(w: dict) -> str:
    return f' aria-describedby="{_e(w["describedby"])}"' if w["describedby"] else ""


def _label_block(w: dict) -> str:
    return (
        f'{w["open"]}\n<label class="dads-label" for="{_e(w["id"])}">{w["label_html"]}</label>\n'
        f"{w['messages']}\n"
    )


def _legend_block(w: dict, attrs: str) -> str:
    return (
        f'{w["open"]}\n<fieldset class="dads-fieldset"{attrs}>\n'
        f'<legend class="dads-legend">{w["label_html"]}</legend>\n'
    )


def _html_input(w: dict, t: _Texts) -> str:
    unit = w["unit"]
    out = (
        f'{_label_block(w)}<div class="dads-input-row"><input class="dads-input" '
        f'type="{_e(w["input_type"])}" id="{_e(w["id"])}" name="{_e(w["name"])}" '
        f'value="{_e(w["value"])}"{w["input_attrs"]}{w["aria"]}>'
        + (f'<span class="dads-unit">{_e(unit)}</span>' if unit else "")
        + "</div>\n"
    )
    confirm = w.get("confirm")
    if confirm:
        out += (
            f'<label class="dads-label" for="{_e(confirm["id"])}">{_e(confirm["label"])} '
            f"{t.required_tag if w['required'] else t.optional_tag}</label>\n"
            f'<input class="dads-input" type="{_e(w["input_type"])}" id="{_e(confirm["id"])}" '
            f'name="{_e(confirm["name"])}" value="{_e(confirm["value"])}" autocomplete="off" '
            'spellcheck="false"'
            + (' aria-required="true"' if w["required"] else "")
            + (
                f' aria-invalid="true" aria-describedby="{_e(w["describedby"])}"'
                if w["invalid"]
                else ""
            )
            + ">"
        )
    return out + "\n</div>\n"


def _html_postal_code(w: dict, t: _Texts) -> str:
    out = (
        f'{_label_block(w)}<div class="dads-inline-group"><input class="dads-input" type="text" '
        f'id="{_e(w["id"])}" name="{_e(w["name"])}" value="{_e(w["value"])}" inputmode="numeric"'
    )
    if w["autocomplete"]:
        out += f' autocomplete="{_e(w["autocomplete"])}"'
    out += ' spellcheck="false"'
    if w["placeholder"]:
        out += f' placeholder="{_e(w["placeholder"])}"'
    if w.get("postal_target"):
        out += f' data-postal-target="{_e(w["postal_target"])}"'
    out += f"{w['aria']}>"
    if w.get("postal_action"):
        out += (
            '<button type="submit" class="dads-button dads-button--secondary" name="_action" '
            f'value="{_e(w["postal_action"])}" data-postal-source="{_e(w["id"])}" '
            f'data-postal-target="{_e(w.get("postal_target", ""))}" formnovalidate>'
            f"{t.postal_search}</button>"
        )
    return out + "</div>\n</div>\n"


def _html_textarea(w: dict, t: _Texts) -> str:
    out = (
        f'{_label_block(w)}<textarea class="dads-textarea" id="{_e(w["id"])}" '
        f'name="{_e(w["name"])}" rows="{_e(w["rows"])}"'
    )
    if w["autocomplete"]:
        out += f' autocomplete="{_e(w["autocomplete"])}"'
    if w["placeholder"]:
        out += f' placeholder="{_e(w["placeholder"])}"'
    return out + f"{w['aria']}>\n{_e(w['value'])}</textarea>\n</div>\n"


def _html_select(w: dict, t: _Texts) -> str:
    out = f'{_label_block(w)}<select class="dads-select" id="{_e(w["id"])}" name="{_e(w["name"])}"'
    if w["autocomplete"]:
        out += f' autocomplete="{_e(w["autocomplete"])}"'
    return (
        out + f'{w["aria"]}>\n<option value="">{t.choose}</option>{w["options_html"]}\n</select>\n'
        "</div>\n"
    )


def _html_choices(w: dict, t: _Texts) -> str:
    css, kind, name = _e(w["css"]), _e(w["input_type"]), _e(w["name"])
    invalid = ' aria-invalid="true"' if w["invalid"] else ""
    options = "".join(
        f'\n<div class="{css}"><input type="{kind}" id="{_e(o["id"])}" name="{name}" '
        f'value="{_e(o["value"])}"{" checked" if o["checked"] else ""}{invalid}>'
        f'<label for="{_e(o["id"])}">{_e(o["label"])}</label></div>'
        for o in w["options"]
    )
    group = "dads-inline-group" if w.get("inline") else "dads-choice-list"
    return (
        f"{_legend_block(w, _describedby_attr(w))}{w['messages']}\n"
        f'<div class="{group}">{options}\n</div>\n</fieldset>\n</div>\n'
    )


def _html_notice(w: dict, t: _Texts) -> str:
    describedby = f' aria-describedby="{_e(w["describedby"])}"'
    invalid = ' aria-invalid="true"' if w["invalid"] else ""
    return (
        f"{_legend_block(w, describedby)}"
        f'<div class="dads-notice__body" id="{_e(w["body_id"])}">'
        f"{linebreaks_filter(w['body'], autoescape=True)}</div>\n{w['messages']}\n"
        f'<div class="dads-checkbox"><input type="checkbox" id="{_e(w["id"])}" '
        f'name="{_e(w["name"])}" value="1"{" checked" if w["checked"] else ""} '
        f'aria-required="true"{invalid}>'
        f'<label for="{_e(w["id"])}">{_e(w["confirm_label"])}</label></div>\n'
        "</fieldset>\n</div>\n"
    )


def _html_part(p: dict, group_aria: str) -> str:
    label = f'<label class="dads-label" for="{_e(p["id"])}">{_e(p["label"])}</label>'
    out = '\n<div class="dads-part">' + ("" if p["after"] else label)
    if p["options"]:
        out += (
            f'<select class="dads-select" id="{_e(p["id"])}" name="{_e(p["name"])}"{group_aria}>'
            f"{p['options_html']}</select>"
        )
    else:
        out += (
            f'<input class="dads-input" type="text" id="{_e(p["id"])}" name="{_e(p["name"])}" '
            f'value="{_e(p["value"])}"{p["attrs"]} spellcheck="false"{group_aria}>'
        )
    if p["after"]:
        out += label
    if p["note"]:
        out += f'<span class="dads-help">{_e(p["note"])}</span>'
    return out + "</div>"


def _html_parts(w: dict, t: _Texts) -> str:
    group = "dads-inline-group" if w.get("inline") else "dads-parts"
    parts = "".join(_html_part(p, w["group_aria"]) for p in w["parts"])
    return (
        f"{_legend_block(w, _describedby_attr(w))}{w['messages']}\n"
        f'<div class="{group}">{parts}\n</div>\n</fieldset>\n</div>\n'
    )


def _html_file(w: dict, t: _Texts) -> str:
    out = _label_block(w)
    if w["kept"]:
        name = _e(w["keep_name"])
        out += (
            f'<fieldset class="dads-fieldset"><legend class="dads-legend">{t.attached}</legend>'
            f'<p class="dads-help">{t.unchecked_not_sent}</p>'
            + "".join(
                f'\n<div class="dads-checkbox"><input type="checkbox" id="{_e(k["id"])}" '
                f'name="{name}" value="{_e(k["uid"])}" checked><label for="{_e(k["id"])}">'
                f"{_e(k['label'])}</label></div>"
                for k in w["kept"]
            )
            + "\n</fieldset>"
        )
    return (
        out + f'\n<input class="dads-file" type="file" id="{_e(w["id"])}" name="{_e(w["name"])}" '
        f'accept="{_e(w["accept"])}"{" multiple" if w["multiple"] else ""}{w["aria"]}>\n</div>\n'
    )


def _html_repeat(w: dict, t: _Texts) -> str:
    out = (
        _legend_block(w, f' id="{_e(w["id"])}" tabindex="-1"{_describedby_attr(w)}')
        + f"{w['messages']}\n"
        f'<input type="hidden" name="{_e(w["count_name"])}" value="{_e(w["count"])}">\n'
    )
    for item in w["items"]:
        out += (
            f'<fieldset class="dads-fieldset dads-repeat-item" id="{_e(item["id"])}">\n'
            f'<legend class="dads-legend">{_e(item["legend"])}</legend>\n'
            + "".join(_html(child, t) for child in item["widgets"])
            + "\n"
        )
        if w["can_remove"]:
            out += (
                '<button type="submit" class="dads-button dads-button--text" name="_action" '
                f'value="{_e(item["remove_action"])}" formnovalidate>'
                f"{_e(item['remove_label'])}</button>"
            )
        out += "\n</fieldset>\n"
    if w["can_add"]:
        out += (
            '<button type="submit" class="dads-button dads-button--secondary" name="_action" '
            f'value="{_e(w["add_action"])}" formnovalidate>{_e(w["add_label"])}</button>'
        )
    return out + "\n</fieldset>\n</div>\n"


_MARKUP = {
    "input": _html_input,
    "postal_code": _html_postal_code,
    "textarea": _html_textarea,
    "select": _html_select,
    "choices": _html_choices,
    "notice": _html_notice,
    "parts": _html_parts,
    "file": _html_file,
    "repeat": _html_repeat,
}


def _html(w: dict, t: _Texts) -> str:
    return _MARKUP[w["template"]](w, t)


class _Renderer:
    def __init__(self, form: FormSchema, step_key: str, raw, errors, context):
        context = context or {}
        self.form = form
        self.step = form.step(step_key)
        if self.step is None:
            raise KeyError(f"unknown step {step_key!r}")
        self.raw: Mapping[str, Any] = raw or {}
        self.answers: Mapping[str, Any] = context.get("answers") or {}
        known = known_files_in(self.answers)
        known.update(context.get("known_files") or context.get("attachments") or {})
        self.known_files = known
        self.t = _Texts.current()
        self.values, self.states = peek_step(form, step_key, self.raw, self.answers, known)
        self.errors: dict[str, list[FieldError]] = {}
        for error in errors or []:
            self.errors.setdefault(error.path, []).append(error)
        self.step_keys = set()
        for f in self.step.fields:
            self.step_keys.add(f.key)
            self.step_keys.update(c.key for c in f.fields)

    # -- helpers --------------------------------------------------------------------------------

    def get(self, name: str) -> str:
        value = self.raw.get(name, "")
        if isinstance(value, list | tuple):
            value = value[-1] if value else ""
        return "" if value is None else str(value)

    def getlist(self, name: str) -> list[str]:
        value = self.raw.get(name)
        if value is None or value == "":
            return []
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]

    def client_condition(self, cond: Condition, prefix: str, scope) -> dict:
        if cond.op in ("all", "any"):
            return {cond.op: [self.client_condition(c, prefix, scope) for c in cond.children]}
        if cond.op == "not":
            return {"not": self.client_condition(cond.children[0], prefix, scope)}
        target = self.form.field(cond.field)
        if cond.field not in self.step_keys or target is None:
            return {"const": evaluate(cond, scope)}
        name = (prefix if target.parent is not None else "") + cond.field
        if target.type in ("name", "date", "bank_account"):
            name += "__" + ("family" if target.type == "name" else "year")
            if target.type == "bank_account":
                name = name.replace("__year", "__bank_code")

        def conv(v: Any) -> str:
            if isinstance(v, bool):
                if target.type == "notice":
                    return "1" if v else ""
                return YES if v else NO
            return str(v)

        value = cond.value
        if cond.op == "in":
            value = [conv(v) for v in value]
        elif cond.op == "equals":
            value = conv(value)
        return {"name": name, cond.op: value}

    def refers_to_step(self, cond: Condition | None) -> bool:
        return cond is not None and any(k in self.step_keys for k in cond.field_keys())

    # -- widgets --------------------------------------------------------------------------------

    def widgets(self, fields: list[Field], loc_for, prefix: str, scope) -> list[dict]:
        out = []
        for f in fields:
            loc = loc_for(f)
            visible, required = self.states.get(loc.path, (True, f.required))
            dynamic = self.refers_to_step(f.visible_if)
            if not visible and not dynamic:
                continue
            w = self.widget(f, loc, required, prefix, scope)
            w["hidden"] = not visible
            if dynamic:
                w["condition"] = json.dumps(
                    self.client_condition(f.visible_if, prefix, scope), ensure_ascii=False
                )
            self.finish(w)
            out.append(w)
        return out

    def widget(self, f: Field, loc: Loc, required: bool, prefix: str, scope) -> dict:
        errors = self.errors.get(loc.path, [])
        error_ids = [f"{loc.input_id()}-error-{i}" for i in range(1, len(errors) + 1)]
        help_id = f"{loc.input_id()}-help" if f.help else ""
        describedby = " ".join([help_id, *error_ids]).strip()
        in_repeat = f.parent is not None
        w: dict[str, Any] = {
            "field": f,
            "type": f.type,
            "key": f.key,
            "name": loc.name,
            "id": loc.input_id(),
            "wrapper_id": f"field-{loc.name}",
            "label": f.label,
            "help": f.help,
            "help_id": help_id,
            "errors": [
                {"id": i, "message": e.message} for i, e in zip(error_ids, errors, strict=True)
            ],
            "invalid": bool(errors),
            "describedby": describedby,
            "required": required,
            "tag": self.t.required_word if required else self.t.optional_word,
            "placeholder": f.placeholder,
            "autocomplete": f.autocomplete
            or ("" if in_repeat else _DEFAULT_AUTOCOMPLETE.get(f.type, "")),
            "hidden": False,
            "condition": "",
        }
        getattr(self, f"w_{f.type}", self.w_simple)(f, loc, w, prefix, scope)
        aria = _aria(w)
        w["aria"] = _attrs([*aria, ("aria-describedby", w["describedby"])])
        w["group_aria"] = _attrs(aria)  # inputs inside a fieldset (described by the fieldset)
        w["input_attrs"] = _attrs(
            [
                ("inputmode", w.get("inputmode")),
                ("autocomplete", w["autocomplete"]),
                ("placeholder", w["placeholder"]),
                ("spellcheck", "" if w.get("spellcheck") else "false"),
            ]
        )
        for part in w.get("parts", ()):
            part["attrs"] = _attrs(
                [("inputmode", part["inputmode"]), ("autocomplete", part["autocomplete"])]
            )
            if part["options"]:
                part["options_html"] = _options_html(part["options"])
        if "options" in w and w.get("template") == "select":
            w["options_html"] = _options_html(w["options"])
        return w

    def finish(self, w: dict) -> None:
        """Pre-render the small repeated fragments (keeps 100-field steps fast)."""
        css = "dads-field"
        if w["type"] == "notice":
            css += " dads-notice"
        elif w["type"] == "repeat":
            css += " dads-repeat"
        if w["invalid"]:
            css += " dads-field--error"
        w["open"] = SafeString(  # escaped by _attrs
            "<div"
            + _attrs(
                [
                    ("class", css),
                    ("id", w["wrapper_id"]),
                    ("data-field", w["key"]),
                    ("data-repeat", w["key"] if w["type"] == "repeat" else ""),
                    ("data-condition", w["condition"]),
                ]
            )
            + (" hidden" if w["hidden"] else "")
            + ">"
        )
        tag = self.t.required_tag if w["required"] else self.t.optional_tag
        w["label_html"] = SafeString(f"{escape(w['label'])} {tag}")
        messages = []
        if w["help"]:
            help_html = linebreaks(w["help"]).removeprefix("<p>").removesuffix("</p>")
            help_html = help_html.replace("</p>\n\n<p>", "<br><br>")
            messages.append(f'<p class="dads-help" id="{escape(w["help_id"])}">{help_html}</p>')
        if w.get("hint"):
            messages.append(f'<p class="dads-help">{escape(w["hint"])}</p>')
        error_prefix = self.t.error_prefix
        for e in w["errors"]:
            messages.append(
                f'<p class="dads-error-text" id="{escape(e["id"])}">'
                f"{error_prefix}{escape(e['message'])}</p>"
            )
        w["messages"] = SafeString("".join(messages))  # every part is escaped

    def w_simple(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "input"
        w["input_type"] = _INPUT_TYPE.get(f.type, "text")
        w["inputmode"] = _INPUTMODE.get(f.type, "")
        w["value"] = self.get(loc.name)
        w["unit"] = "円" if f.type == "money" else f.unit
        w["spellcheck"] = f.type in ("text",)

    def w_email(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        self.w_simple(f, loc, w, prefix, scope)
        if f.confirm:
            w["confirm"] = {
                "name": loc.input_name("confirm"),
                "id": loc.input_id("confirm"),
                "value": self.get(loc.input_name("confirm")),
                "label": _("%(label)s（確認用）") % {"label": f.label},
            }

    def w_postal_code(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        self.w_simple(f, loc, w, prefix, scope)
        w["template"] = "postal_code"
        if f.address_field:
            w["postal_action"] = f"postal:{loc.name}"
            w["postal_target"] = "f-" + (prefix if f.parent is not None else "") + f.address_field

    def w_textarea(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "textarea"
        w["value"] = self.get(loc.name)
        w["rows"] = 8 if (f.max_length or 0) > 1000 else 4

    def w_select(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "select"
        current = self.get(loc.name)
        w["options"] = [
            {"value": o.value, "label": o.label, "selected": o.value == current} for o in f.options
        ]

    def _choices(self, loc: Loc, w: dict, kind: str, options, chosen: set[str]) -> None:
        w["template"] = "choices"
        w["input_type"] = kind
        w["css"] = "dads-radio" if kind == "radio" else "dads-checkbox"
        w["options"] = [
            {
                "value": value,
                "label": label,
                "checked": value in chosen,
                "id": loc.input_id() if i == 0 else f"{loc.input_id()}--{i + 1}",
            }
            for i, (value, label) in enumerate(options)
        ]

    def w_radio(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        options = [(o.value, o.label) for o in f.options]
        self._choices(loc, w, "radio", options, {self.get(loc.name)})

    def w_checkboxes(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        options = [(o.value, o.label) for o in f.options]
        self._choices(loc, w, "checkbox", options, set(self.getlist(loc.name)))
        hints = []
        if f.min_selected and f.max_selected:
            hints.append(
                _("%(min)sつ以上%(max)sつまで選択できます。")
                % {"min": f.min_selected, "max": f.max_selected}
            )
        elif f.max_selected:
            hints.append(_("%(max)sつまで選択できます。") % {"max": f.max_selected})
        elif f.min_selected:
            hints.append(_("%(min)sつ以上選択してください。") % {"min": f.min_selected})
        w["hint"] = " ".join(hints)

    def w_yesno(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        self._choices(loc, w, "radio", [(YES, self.t.yes), (NO, self.t.no)], {self.get(loc.name)})
        w["inline"] = True

    def w_notice(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "notice"
        w["body"] = f.body
        w["body_id"] = f"{loc.input_id()}-body"
        w["describedby"] = " ".join([w["body_id"], w["describedby"]]).strip()
        # The engine's default wording is UI text (translated); a form's own is the form's.
        w["confirm_label"] = (
            self.t.confirmed if f.confirm_label == DEFAULT_CONFIRM_LABEL else f.confirm_label
        )
        w["checked"] = self.get(loc.name) in ("1", "on", "true", "yes")
        w["tag"] = "必須"
        w["required"] = True

    def _part(self, loc: Loc, part: str, label: str, **extra) -> dict:
        return {
            "name": loc.input_name(part),
            "id": loc.input_id(part),
            "label": label,
            "value": self.get(loc.input_name(part)),
            "inputmode": "",
            "autocomplete": "",
            "options": None,
            "after": False,
            "note": "",
            **extra,
        }

    def w_name(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "parts"
        top = f.parent is None and not f.autocomplete
        w["parts"] = [
            self._part(loc, "family", self.t.family, autocomplete="family-name" if top else ""),
            self._part(loc, "given", self.t.given, autocomplete="given-name" if top else ""),
        ]
        if f.kana:
            w["parts"] += [
                self._part(loc, "family_kana", self.t.family_kana),
                self._part(loc, "given_kana", self.t.given_kana),
            ]
        w["id"] = loc.input_id("family")

    def w_date(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "parts"
        parts = []
        if f.era_input:
            current = self.get(loc.input_name("era"))
            options = [{"value": "", "label": self.t.choose_era, "selected": not current}] + [
                {"value": era, "label": era, "selected": era == current} for era in ERA_CHOICES
            ]
            parts.append(self._part(loc, "era", self.t.era, options=options))
        parts += [
            self._part(loc, "year", self.t.year, inputmode="numeric", after=True),
            self._part(loc, "month", self.t.month, inputmode="numeric", after=True),
            self._part(loc, "day", self.t.day, inputmode="numeric", after=True),
        ]
        w["parts"] = parts
        w["inline"] = True
        w["id"] = parts[0]["id"]
        w["hint"] = self.t.era_date_hint if f.era_input else self.t.western_date_hint

    def w_bank_account(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "parts"
        bank_code = self.get(loc.input_name("bank_code"))
        branch_code = self.get(loc.input_name("branch_code"))
        bank = banks.lookup_bank(bank_code) if bank_code else None
        branch = banks.lookup_branch(bank_code, branch_code) if bank and branch_code else None
        current_type = self.get(loc.input_name("account_type"))
        type_options = [{"value": "", "label": self.t.choose_word, "selected": not current_type}]
        type_options += [
            {"value": t, "label": t, "selected": t == current_type} for t in ACCOUNT_TYPES
        ]
        w["parts"] = [
            self._part(
                loc,
                "bank_code",
                self.t.bank_code,
                inputmode="numeric",
                autocomplete="off",
                note=bank.name if bank else "",
            ),
            self._part(
                loc,
                "branch_code",
                self.t.branch_code,
                inputmode="numeric",
                autocomplete="off",
                note=branch.name if branch else "",
            ),
            self._part(loc, "account_type", self.t.account_type, options=type_options),
            self._part(
                loc,
                "account_number",
                self.t.account_number,
                inputmode="numeric",
                autocomplete="off",
            ),
            self._part(loc, "holder_kana", self.t.holder_kana, autocomplete="off"),
        ]
        w["id"] = loc.input_id("bank_code")

    def w_file(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "file"
        w["accept"] = accept_attr(f)
        w["multiple"] = f.max_files > 1
        limits = {"kinds": kinds_text(f), "mb": format_mb(f.max_size_mb), "n": f.max_files}
        w["hint"] = (
            _("添付できるファイル：%(kinds)s（1ファイル%(mb)sMBまで、%(n)s件まで）") % limits
            if f.max_files > 1
            else _("添付できるファイル：%(kinds)s（1ファイル%(mb)sMBまで）") % limits
        )
        kept = []
        for i, uid in enumerate(self.getlist(loc.input_name("keep"))):
            info = self.known_files.get(uid)
            if info is None:
                continue
            kept.append(
                {
                    "uid": uid,
                    "id": f"{loc.input_id('keep')}--{i + 1}",
                    "label": f"{info.get('name', '')}（{format_size(int(info.get('size', 0)))}）",
                }
            )
        w["kept"] = kept
        w["keep_name"] = loc.input_name("keep")

    def w_repeat(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "repeat"
        w["required"] = w["required"] or f.min > 0
        w["tag"] = self.t.required_word if w["required"] else self.t.optional_word
        count = repeat_count(f, self.raw, loc.name)
        items_values = self.values.get(f.key) or []
        items = []
        limit = min(f.max or REPEAT_HARD_MAX, REPEAT_HARD_MAX)
        for i in range(count):
            item_scope = dict(items_values[i]) if i < len(items_values) else {}
            legend = item_prefix_label(f, i)
            items.append(
                {
                    "id": f"{loc.input_id()}__{i}",
                    "legend": legend,
                    "widgets": self.widgets(
                        f.fields,
                        lambda child, i=i: child_loc(f, i, child),
                        f"{f.key}__{i}__",
                        {**scope, **item_scope},
                    ),
                    "remove_action": f"remove:{f.key}:{i}",
                    "remove_label": _("%(item)sを削除") % {"item": legend},
                }
            )
        w["items"] = items
        w["count_name"] = f"{loc.name}__count"
        w["count"] = count
        w["can_add"] = count < limit
        w["can_remove"] = count > f.min
        w["add_action"] = f"add:{f.key}"
        w["add_label"] = _("%(item)sを追加") % {"item": f.item_label}
        hint = []
        counts = {
            "min": counted(f.min or 0, f.item_counter),
            "max": counted(f.max or 0, f.item_counter),
        }
        if f.min and f.max:
            hint.append(_("%(min)s以上%(max)sまで入力できます。") % counts)
        elif f.max:
            hint.append(_("%(max)sまで入力できます。") % counts)
        w["hint"] = " ".join(hint)

    def render(self) -> SafeString:
        widgets = self.widgets(self.step.fields, top_loc, "", self.answers)
        texts = _Texts.current()
        return mark_safe("\n".join(_html(w, texts) for w in widgets))  # noqa: S308 - escaped


def render_step(
    form: FormSchema,
    step_key: str,
    raw: Mapping[str, Any] | None,
    errors: list[FieldError] | None,
    context: dict | None = None,
) -> SafeString:
    """The fields of one step as HTML (no <form> element, no buttons other than the repeat
    add/remove and postal-lookup actions).

    `context` (optional): `answers` — stored answers of the application (conditions that refer
    to earlier steps, names of already attached files); `known_files` — attachment uid ->
    answer dict for files stored but not yet in `answers`.
    """
    return _Renderer(form, step_key, raw, errors, context).render()


def render_error_summary(errors: list[FieldError], title: str | None = None) -> SafeString:
    """An error summary box listing every error with a link to its input (`#f-…`); each line
    names its field (`error_summary`)."""
    if not errors:
        return mark_safe("")
    lines = error_summary(errors)
    html = get_template(SUMMARY_TEMPLATE).render(
        {
            "lines": lines,
            "title": title
            or ngettext(
                "入力内容に%(n)s件の誤りがあります。",
                "入力内容に%(n)s件の誤りがあります。",
                len(lines),
            )
            % {"n": len(lines)},
        }
    )
    return mark_safe(html)  # noqa: S308
