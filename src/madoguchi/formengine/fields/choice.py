"""Choices: select, radio, checkboxes, yesno, and the notice confirmation checkbox."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from ..schema import Field
from .base import Ctx, FieldType, Loc

YES, NO = "yes", "no"


def choose_message(loc: Loc) -> str:
    return _("%(label)sを選択してください。") % {"label": loc.label}


def unknown_option_message(loc: Loc) -> str:
    return _("%(label)sは表示されている選択肢から選んでください。") % {"label": loc.label}


class SelectType(FieldType):
    def required_message(self, f: Field, loc: Loc) -> str:
        return choose_message(loc)

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        value = ctx.get(loc.name).strip()
        if not value:
            if required:
                ctx.error(loc, choose_message(loc), rule="required")
            return None
        if value not in f.option_labels:
            ctx.error(loc, unknown_option_message(loc), rule="choice")
            return None
        return value

    def display(self, f: Field, value: Any) -> str:
        return f.option_labels.get(value, str(value))


class CheckboxesType(FieldType):
    list_inputs = (None,)

    def required_message(self, f: Field, loc: Loc) -> str:
        return choose_message(loc)

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        chosen = {v.strip() for v in ctx.getlist(loc.name) if v.strip()}
        labels = f.option_labels
        if chosen - labels.keys():
            ctx.error(loc, unknown_option_message(loc), rule="choice")
            return None
        values = [o.value for o in f.options if o.value in chosen]  # option order
        if not values:
            if required:
                ctx.error(loc, choose_message(loc), rule="required")
            return None
        if f.min_selected is not None and len(values) < f.min_selected:
            ctx.error(
                loc,
                _("%(label)sは%(n)sつ以上選択してください。")
                % {"label": loc.label, "n": f.min_selected},
                rule="min_selected",
            )
            return None
        if f.max_selected is not None and len(values) > f.max_selected:
            ctx.error(
                loc,
                _("%(label)sは%(n)sつまで選択できます（現在%(count)sつ選択されています）。")
                % {"label": loc.label, "n": f.max_selected, "count": len(values)},
                rule="max_selected",
            )
            return None
        return values

    def to_raw(self, f: Field, value: Any, loc: Loc, out: dict) -> None:
        out[loc.name] = list(value or [])

    def display(self, f: Field, value: Any) -> str:
        labels = f.option_labels
        return "、".join(labels.get(v, str(v)) for v in value)


class YesNoType(FieldType):
    def required_message(self, f: Field, loc: Loc) -> str:
        return choose_message(loc)

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        value = ctx.get(loc.name).strip()
        if not value:
            if required:
                ctx.error(loc, choose_message(loc), rule="required")
            return None
        if value not in (YES, NO):
            ctx.error(
                loc,
                _("%(label)sは「はい」か「いいえ」を選んでください。") % {"label": loc.label},
                rule="choice",
            )
            return None
        return value == YES

    def to_raw(self, f: Field, value: Any, loc: Loc, out: dict) -> None:
        out[loc.name] = "" if value is None else (YES if value else NO)

    def display(self, f: Field, value: Any) -> str:
        return "はい" if value else "いいえ"


def notice_message(loc: Loc) -> str:
    return _("「%(label)s」の内容を確認し、チェックを入れてください。") % {"label": loc.label}


class NoticeType(FieldType):
    def required_message(self, f: Field, loc: Loc) -> str:
        return notice_message(loc)

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        if ctx.get(loc.name).strip() in ("1", "on", "true", "yes"):
            return True
        ctx.error(loc, notice_message(loc), rule="required")
        return None

    def to_raw(self, f: Field, value: Any, loc: Loc, out: dict) -> None:
        out[loc.name] = "1" if value else ""

    def display(self, f: Field, value: Any) -> str:
        return "確認しました" if value else "未確認"
