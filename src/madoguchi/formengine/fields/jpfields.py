"""Japanese administrative inputs: date (和暦/西暦), postal code, phone, 個人番号, 法人番号,
bank account. The checks themselves live in `madoguchi.jp`; this module adds labels and parts."""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import Any
from zoneinfo import ZoneInfo

import jaconv

from madoguchi.jp import banks, check_digits, phone, postal, wareki
from madoguchi.jp.errors import JpValueError
from madoguchi.jp.kana import to_katakana

from ..schema import Field
from .base import Ctx, FieldType, Loc, clean_line, half_width
from .text import kana_message

TOKYO = ZoneInfo("Asia/Tokyo")
SEIREKI = "西暦"
SEIREKI_MAX_YEAR = 2200
ERA_CHOICES = ("西暦", "令和", "平成", "昭和", "大正", "明治")


def today() -> datetime.date:
    """Today in Japan (the municipality's calendar), whatever the server's timezone."""
    return datetime.datetime.now(TOKYO).date()


def resolve_date_limit(spec: Any, ctx_today: datetime.date | None) -> datetime.date | None:
    if spec is None:
        return None
    if spec == "today":
        return ctx_today or today()
    return datetime.date.fromisoformat(spec)


_PART_NAMES = {"era": "元号", "year": "年", "month": "月", "day": "日"}
_DIGITS_RE = re.compile(r"\d{1,4}")


class DateType(FieldType):
    parts = ("era", "year", "month", "day")

    def field_parts(self, f: Field) -> tuple[str, ...]:
        return self.parts if f.era_input else self.parts[1:]

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        era = unicodedata.normalize("NFKC", ctx.get(loc.input_name("era"))).strip()
        if not f.era_input:
            era = SEIREKI
        year_raw = ctx.get(loc.input_name("year"))
        year = half_width(year_raw)
        month = half_width(ctx.get(loc.input_name("month")))
        day = half_width(ctx.get(loc.input_name("day")))
        if not (year or month or day):
            if required:
                ctx.error(loc, self.required_message(f, loc), self.first_part(f), rule="required")
            return None
        try:
            if year and not month and not day and not _DIGITS_RE.fullmatch(year):
                # A whole date pasted or typed into the year box: 「令和6年5月1日」「2024/5/1」.
                value = wareki.parse_date_text(year_raw)
            else:
                value = self.from_parts(loc, ctx, era, year, month, day)
                if value is None:
                    return None
        except JpValueError as exc:
            ctx.error(loc, exc.message, "year", rule=exc.code)
            return None
        lo = resolve_date_limit(f.min, ctx.today)
        hi = resolve_date_limit(f.max, ctx.today)
        if lo is not None and value < lo:
            when = "今日" if f.min == "today" else wareki.format_date(lo, "both")
            ctx.error(
                loc, f"{loc.label}は{when}以降の日付を入力してください。", "year", rule="date_range"
            )
            return None
        if hi is not None and value > hi:
            when = "今日" if f.max == "today" else wareki.format_date(hi, "both")
            ctx.error(
                loc, f"{loc.label}は{when}以前の日付を入力してください。", "year", rule="date_range"
            )
            return None
        return value.isoformat()

    def from_parts(self, loc, ctx, era, year, month, day) -> datetime.date | None:
        if year == "元":
            year = "1"
        missing = [p for p, v in (("year", year), ("month", month), ("day", day)) if not v]
        if missing:
            names = "と".join(_PART_NAMES[p] for p in missing)
            ctx.error(
                loc, f"{loc.label}の{names}を入力してください。", missing[0], rule="incomplete"
            )
            return None
        for part, value in (("year", year), ("month", month), ("day", day)):
            if not _DIGITS_RE.fullmatch(value):
                ctx.error(
                    loc,
                    f"{loc.label}の{_PART_NAMES[part]}は数字で入力してください。",
                    part,
                    rule="format",
                )
                return None
        y, m, d = int(year), int(month), int(day)
        if not era:
            if len(year) == 4:
                era = SEIREKI
            else:
                ctx.error(loc, f"{loc.label}の元号を選択してください。", "era", rule="required")
                return None
        if era == SEIREKI:
            if len(year) != 4:
                ctx.error(
                    loc,
                    f"{loc.label}の年は西暦4桁で入力してください（例：1985）。",
                    "year",
                    rule="format",
                )
                return None
            value = wareki.from_seireki(y, m, d)
            if value.year > SEIREKI_MAX_YEAR:
                ctx.error(
                    loc,
                    f"{loc.label}の年は{SEIREKI_MAX_YEAR}年までで入力してください。",
                    "year",
                    rule="date_range",
                )
                return None
            return value
        if era not in ERA_CHOICES:
            ctx.error(loc, f"{loc.label}の元号は選択肢から選んでください。", "era", rule="choice")
            return None
        return wareki.from_wareki(era, y, m, d)

    def to_raw(self, f: Field, value: Any, loc: Loc, out: dict) -> None:
        if not value:
            return
        d = datetime.date.fromisoformat(value)
        era, y = SEIREKI, d.year
        if f.era_input:
            try:
                era, y, _m, _d = wareki.to_wareki(d)
            except JpValueError:
                era, y = SEIREKI, d.year
            out[loc.input_name("era")] = era
        out[loc.input_name("year")] = str(y)
        out[loc.input_name("month")] = str(d.month)
        out[loc.input_name("day")] = str(d.day)

    def display(self, f: Field, value: Any) -> str:
        d = datetime.date.fromisoformat(value)
        try:
            return wareki.format_date(d, "both")
        except JpValueError:
            return f"{d.year}年{d.month}月{d.day}日"


class JpSimpleType(FieldType):
    """One input checked by a `madoguchi.jp` function that raises JpValueError; the error's
    code is the rule recorded (a wrong number of digits is `length` whatever the field)."""

    def check(self, text: str) -> str:
        raise NotImplementedError

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        text = clean_line(ctx.get(loc.name))
        if not text:
            if required:
                ctx.error(loc, self.required_message(f, loc), rule="required")
            return None
        try:
            return self.check(text)
        except JpValueError as exc:
            ctx.error(loc, exc.message, rule=exc.code)
            return None


class PostalCodeType(JpSimpleType):
    def check(self, text: str) -> str:
        # A code Japan Post does not use is refused here too, with the lookup's message: the
        # address lookup (with or without JavaScript) is a help, not the check.
        return postal.check_postal_code(text)

    def to_raw(self, f: Field, value: Any, loc: Loc, out: dict) -> None:
        out[loc.name] = postal.format_postal_code(value) if value else ""

    def display(self, f: Field, value: Any) -> str:
        return f"〒{postal.format_postal_code(value)}"


class PhoneType(JpSimpleType):
    def check(self, text: str) -> str:
        return phone.normalize_phone(text)


class IndividualNumberType(JpSimpleType):
    def check(self, text: str) -> str:
        return check_digits.normalize_individual_number(text)

    def display(self, f: Field, value: Any) -> str:
        return check_digits.mask_individual_number(value)


class CorporateNumberType(JpSimpleType):
    def check(self, text: str) -> str:
        return check_digits.normalize_corporate_number(text)


ACCOUNT_TYPES = ("普通", "当座", "貯蓄")
_BANK_PART_LABELS = {
    "bank_code": "金融機関コード",
    "branch_code": "支店コード",
    "account_type": "預金種目",
    "account_number": "口座番号",
    "holder_kana": "口座名義（カナ）",
}
# Besides katakana, 全銀 account holder names may contain these.
_HOLDER_EXTRA_RE = re.compile("[Ａ-Ｚ０-９（）．－／・，「」]")


class BankAccountType(FieldType):
    parts = ("bank_code", "branch_code", "account_type", "account_number", "holder_kana")

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        raw = {p: clean_line(ctx.get(loc.input_name(p))) for p in self.parts}
        if not any(raw.values()):
            if required:
                ctx.error(loc, self.required_message(f, loc), "bank_code", rule="required")
            return None
        errors_before = len(ctx.errors)

        def err(part: str, message: str, rule: str = "format") -> None:
            ctx.error(loc, message, part, rule=rule)

        def missing(part: str) -> None:
            verb = "選択" if part == "account_type" else "入力"
            err(part, f"{loc.label}の{_BANK_PART_LABELS[part]}を{verb}してください。", "required")

        bank_code = half_width(raw["bank_code"])
        bank = None
        if not bank_code:
            missing("bank_code")
        else:
            try:
                bank = banks.check_bank_code(bank_code)
            except JpValueError as exc:
                err("bank_code", exc.message, exc.code)
        branch_code = half_width(raw["branch_code"])
        branch = None
        if not branch_code:
            missing("branch_code")
        elif bank is not None:
            try:
                branch = banks.check_branch_code(bank.code, branch_code)
            except JpValueError as exc:
                err("branch_code", exc.message, exc.code)
        account_type = raw["account_type"]
        if not account_type:
            missing("account_type")
        elif account_type not in ACCOUNT_TYPES:
            err("account_type", f"{loc.label}の預金種目は選択肢から選んでください。", "choice")
        number = half_width(raw["account_number"]).replace("-", "")
        if not number:
            missing("account_number")
        elif not (number.isascii() and number.isdigit() and len(number) <= 7):
            err(
                "account_number",
                f"{loc.label}の口座番号は7桁以内の数字で入力してください。",
                "length" if number.isascii() and number.isdigit() else "format",
            )
        holder = to_katakana(unicodedata.normalize("NFKC", raw["holder_kana"]).upper())
        holder = clean_line(jaconv.h2z(holder, kana=False, ascii=True, digit=True))
        if not holder:
            missing("holder_kana")
        elif problem := kana_message(
            f"{loc.label}の口座名義（カナ）", _HOLDER_EXTRA_RE.sub("", holder)
        ):
            err("holder_kana", problem, "kana")
        elif len(holder) > 48:
            err(
                "holder_kana",
                f"{loc.label}の口座名義（カナ）は48文字以内で入力してください。",
                "max_length",
            )
        if len(ctx.errors) > errors_before or bank is None or branch is None:
            return None
        return {
            "bank_code": bank.code,
            "bank_name": bank.name,
            "branch_code": branch.code,
            "branch_name": branch.name,
            "account_type": account_type,
            "account_number": number.zfill(7),
            "holder_kana": holder,
        }

    def to_raw(self, f: Field, value: Any, loc: Loc, out: dict) -> None:
        value = value or {}
        for part in self.parts:
            out[loc.input_name(part)] = value.get(part, "")

    def display(self, f: Field, value: Any) -> str:
        return (
            f"{value.get('bank_name', '')}（{value.get('bank_code', '')}）"
            f"{value.get('branch_name', '')}（{value.get('branch_code', '')}）"
            f" {value.get('account_type', '')} {value.get('account_number', '')}"
            f" {value.get('holder_kana', '')}"
        )
