"""Numbers: integer, decimal, money (full-width digits and thousands separators accepted)."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from ..schema import Field
from .base import Ctx, FieldType, Loc

_MINUS = str.maketrans({"\u2212": "-", "\u30fc": "-", "\u2010": "-", "\u2013": "-"})
_INT_RE = re.compile(r"[+-]?\d+")
_DEC_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
MAX_DIGITS = 15


def _number_text(text: str, *, money: bool = False) -> str:
    value = unicodedata.normalize("NFKC", text or "").translate(_MINUS)
    value = re.sub(r"[\s,]", "", value)
    value = value.replace("、", "")
    if money:
        value = value.removeprefix("¥").removeprefix("\\").removesuffix("円")
    return value


def _fmt(number: Any, money: bool) -> str:
    return f"{number:,}" if money else str(number)


def range_message(label: str, lo: Any, hi: Any, unit: str, money: bool = False) -> str:
    lo_s = None if lo is None else f"{_fmt(lo, money)}{unit}"
    hi_s = None if hi is None else f"{_fmt(hi, money)}{unit}"
    if lo_s is not None and hi_s is not None:
        return _("%(label)sは%(lo)s以上%(hi)s以下で入力してください。") % {
            "label": label,
            "lo": lo_s,
            "hi": hi_s,
        }
    if lo_s is not None:
        return _("%(label)sは%(lo)s以上で入力してください。") % {"label": label, "lo": lo_s}
    return _("%(label)sは%(hi)s以下で入力してください。") % {"label": label, "hi": hi_s}


class IntegerType(FieldType):
    money = False

    def format_message(self, loc: Loc) -> str:
        return _("%(label)sは半角または全角の整数で入力してください。") % {"label": loc.label}

    def unit(self, f: Field) -> str:
        return f.unit

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        text = _number_text(ctx.get(loc.name), money=self.money)
        if not text:
            if required:
                ctx.error(loc, self.required_message(f, loc), rule="required")
            return None
        if not _INT_RE.fullmatch(text) or len(text.lstrip("+-")) > MAX_DIGITS:
            ctx.error(loc, self.format_message(loc), rule="format")
            return None
        number = int(text)
        lo = f.min if f.min is not None else (0 if self.money else None)
        if (lo is not None and number < lo) or (f.max is not None and number > f.max):
            ctx.error(
                loc, range_message(loc.label, lo, f.max, self.unit(f), self.money), rule="range"
            )
            return None
        return number

    def display(self, f: Field, value: Any) -> str:
        return f"{_fmt(value, self.money)}{self.unit(f)}"


class MoneyType(IntegerType):
    money = True

    def format_message(self, loc: Loc) -> str:
        return _("%(label)sは金額を半角または全角の数字で入力してください（例：15000）。") % {
            "label": loc.label
        }

    def unit(self, f: Field) -> str:
        return "円"


class DecimalType(FieldType):
    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        text = _number_text(ctx.get(loc.name))
        if not text:
            if required:
                ctx.error(loc, self.required_message(f, loc), rule="required")
            return None
        try:
            if not _DEC_RE.fullmatch(text) or len(text) > MAX_DIGITS + 2:
                raise InvalidOperation
            number = Decimal(text)
        except InvalidOperation:
            ctx.error(
                loc,
                _("%(label)sは数値で入力してください（例：12.5）。") % {"label": loc.label},
                rule="format",
            )
            return None
        if -number.as_tuple().exponent > f.places:
            if f.places == 0:
                ctx.error(
                    loc,
                    _("%(label)sは整数で入力してください。") % {"label": loc.label},
                    rule="format",
                )
            else:
                ctx.error(
                    loc,
                    _("%(label)sは小数点以下%(n)s桁までで入力してください。")
                    % {"label": loc.label, "n": f.places},
                    rule="format",
                )
            return None
        if (f.min is not None and number < f.min) or (f.max is not None and number > f.max):
            ctx.error(loc, range_message(loc.label, f.min, f.max, f.unit), rule="range")
            return None
        text = format(number, "f")
        if text.startswith("+"):
            text = text[1:]
        return text

    def display(self, f: Field, value: Any) -> str:
        return f"{value}{f.unit}"
