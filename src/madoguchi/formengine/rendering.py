"""HTML for the fields of one step (Django templates under templates/formengine/).

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
from collections.abc import Mapping
from html import escape
from typing import Any

from django.template import Context
from django.template.loader import get_template
from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


def _attrs(pairs: list[tuple[str, Any]]) -> SafeString:
    """' name="value"' for each pair with a non-empty value (escaped)."""
    return mark_safe(  # noqa: S308 - every value is escaped
        "".join(f' {name}="{escape(value)}"' for name, value in pairs if value not in ("", None))
    )


def _aria(w: dict) -> list[tuple[str, Any]]:
    return [
        ("aria-required", "true" if w["required"] else ""),
        ("aria-invalid", "true" if w["invalid"] else ""),
    ]


def _options_html(options: list[dict]) -> SafeString:
    return mark_safe(  # noqa: S308 - escaped
        "".join(
            f'<option value="{escape(o["value"])}"{" selected" if o["selected"] else ""}>'
            f"{escape(o['label'])}</option>"
            for o in options
        )
    )


def _tag(required: bool) -> str:
    return _("必須") if required else _("任意")


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
            "tag": _tag(required),
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
        if "options" in w and w.get("template") == "formengine/fields/select.html":
            w["options_html"] = _options_html(w["options"])
        return w

    @staticmethod
    def finish(w: dict) -> None:
        """Pre-render the small repeated fragments (keeps 100-field steps fast)."""
        css = "dads-field"
        if w["type"] == "notice":
            css += " dads-notice"
        elif w["type"] == "repeat":
            css += " dads-repeat"
        if w["invalid"]:
            css += " dads-field--error"
        w["open"] = mark_safe(  # noqa: S308 - escaped by _attrs
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
        tag = (
            f'<span class="dads-required">{escape(_("必須"))}</span>'
            if w["required"]
            else f'<span class="dads-optional">{escape(_("任意"))}</span>'
        )
        w["label_html"] = mark_safe(f"{escape(w['label'])} {tag}")  # noqa: S308
        messages = []
        if w["help"]:
            help_html = linebreaks(w["help"]).removeprefix("<p>").removesuffix("</p>")
            help_html = help_html.replace("</p>\n\n<p>", "<br><br>")
            messages.append(f'<p class="dads-help" id="{escape(w["help_id"])}">{help_html}</p>')
        if w.get("hint"):
            messages.append(f'<p class="dads-help">{escape(w["hint"])}</p>')
        error_prefix = escape(_("エラー："))
        for e in w["errors"]:
            messages.append(
                f'<p class="dads-error-text" id="{escape(e["id"])}">'
                f"{error_prefix}{escape(e['message'])}</p>"
            )
        w["messages"] = mark_safe("".join(messages))  # noqa: S308 - every part is escaped

    def w_simple(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "formengine/fields/input.html"
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
        w["template"] = "formengine/fields/postal_code.html"
        if f.address_field:
            w["postal_action"] = f"postal:{loc.name}"
            w["postal_target"] = "f-" + (prefix if f.parent is not None else "") + f.address_field

    def w_textarea(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "formengine/fields/textarea.html"
        w["value"] = self.get(loc.name)
        w["rows"] = 8 if (f.max_length or 0) > 1000 else 4

    def w_select(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "formengine/fields/select.html"
        current = self.get(loc.name)
        w["options"] = [
            {"value": o.value, "label": o.label, "selected": o.value == current} for o in f.options
        ]

    def _choices(self, loc: Loc, w: dict, kind: str, options, chosen: set[str]) -> None:
        w["template"] = "formengine/fields/choices.html"
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
        self._choices(loc, w, "radio", [(YES, _("はい")), (NO, _("いいえ"))], {self.get(loc.name)})
        w["inline"] = True

    def w_notice(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "formengine/fields/notice.html"
        w["body"] = f.body
        w["body_id"] = f"{loc.input_id()}-body"
        w["describedby"] = " ".join([w["body_id"], w["describedby"]]).strip()
        # The engine's default wording is UI text (translated); a form's own is the form's.
        w["confirm_label"] = (
            _("上記の内容を確認しました")
            if f.confirm_label == DEFAULT_CONFIRM_LABEL
            else f.confirm_label
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
        w["template"] = "formengine/fields/parts.html"
        top = f.parent is None and not f.autocomplete
        w["parts"] = [
            self._part(loc, "family", _("姓"), autocomplete="family-name" if top else ""),
            self._part(loc, "given", _("名"), autocomplete="given-name" if top else ""),
        ]
        if f.kana:
            w["parts"] += [
                self._part(loc, "family_kana", _("セイ（フリガナ）")),
                self._part(loc, "given_kana", _("メイ（フリガナ）")),
            ]
        w["id"] = loc.input_id("family")

    def w_date(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "formengine/fields/parts.html"
        parts = []
        if f.era_input:
            current = self.get(loc.input_name("era"))
            options = [{"value": "", "label": _("選択"), "selected": not current}] + [
                {"value": era, "label": era, "selected": era == current} for era in ERA_CHOICES
            ]
            parts.append(self._part(loc, "era", _("元号"), options=options))
        parts += [
            self._part(loc, "year", _("年"), inputmode="numeric", after=True),
            self._part(loc, "month", _("月"), inputmode="numeric", after=True),
            self._part(loc, "day", _("日"), inputmode="numeric", after=True),
        ]
        w["parts"] = parts
        w["inline"] = True
        w["id"] = parts[0]["id"]
        w["hint"] = (
            _(
                "元号を選び、年・月・日を数字で入力してください"
                "（例：令和6年5月1日、西暦なら2024年5月1日）。"
            )
            if f.era_input
            else _("西暦で入力してください（例：2024年5月1日）。")
        )

    def w_bank_account(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "formengine/fields/parts.html"
        bank_code = self.get(loc.input_name("bank_code"))
        branch_code = self.get(loc.input_name("branch_code"))
        bank = banks.lookup_bank(bank_code) if bank_code else None
        branch = banks.lookup_branch(bank_code, branch_code) if bank and branch_code else None
        current_type = self.get(loc.input_name("account_type"))
        type_options = [{"value": "", "label": _("選択してください"), "selected": not current_type}]
        type_options += [
            {"value": t, "label": t, "selected": t == current_type} for t in ACCOUNT_TYPES
        ]
        w["parts"] = [
            self._part(
                loc,
                "bank_code",
                _("金融機関コード（4桁）"),
                inputmode="numeric",
                autocomplete="off",
                note=bank.name if bank else "",
            ),
            self._part(
                loc,
                "branch_code",
                _("支店コード（3桁）"),
                inputmode="numeric",
                autocomplete="off",
                note=branch.name if branch else "",
            ),
            self._part(loc, "account_type", _("預金種目"), options=type_options),
            self._part(
                loc, "account_number", _("口座番号（7桁）"), inputmode="numeric", autocomplete="off"
            ),
            self._part(loc, "holder_kana", _("口座名義（カタカナ）"), autocomplete="off"),
        ]
        w["id"] = loc.input_id("bank_code")

    def w_file(self, f: Field, loc: Loc, w: dict, prefix: str, scope) -> None:
        w["template"] = "formengine/fields/file.html"
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
        w["template"] = "formengine/fields/repeat.html"
        w["required"] = w["required"] or f.min > 0
        w["tag"] = _tag(w["required"])
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
        # One context, each field's compiled template rendered directly: a little faster
        # as {% include %} per field.
        context = Context({"step": self.step})
        out = []
        for w in widgets:
            template = get_template(w["template"]).template
            with context.push(w=w):
                out.append(template.render(context))
        return mark_safe("\n".join(out))  # noqa: S308 - rendered by the autoescaping engine


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
