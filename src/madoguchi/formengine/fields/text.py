"""Free text: text, textarea, address, katakana, email, name."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from madoguchi.jp.kana import katakana_error, to_katakana
from madoguchi.jp.names import clusters, name_characters_message, shown

from ..schema import Field
from .base import Ctx, FieldType, Loc, clean_line, clean_multiline

_NOT_KATAKANA_RE = re.compile("[^\u30a1-\u30f6\u30fc\u3000]")


def kana_message(label: str, text: str) -> str | None:
    """「{label}はカタカナで入力してください（「A」は使えません）。」 or None when fine."""
    if katakana_error(text) is None:
        return None
    bad = []
    # What the reader sees as one character is named whole (👨‍👩‍👧, not its pieces).
    for cluster in clusters(to_katakana(text)):
        if not _NOT_KATAKANA_RE.search(cluster):
            continue
        seen = "空白" if cluster.isspace() else shown(cluster)
        if seen not in bad:
            bad.append(seen)
    listed = "".join(f"「{c}」" for c in bad[:5]) + ("など" if len(bad) > 5 else "")
    return f"{label}はカタカナで入力してください（{listed}は使えません）。"


def length_message(label: str, limit: int, current: int) -> str:
    return f"{label}は{limit}文字以内で入力してください（現在{current}文字）。"


# A text field flagged `person_name` (another person's name: 主治医の氏名, 担当者の氏名), or
# whose autocomplete token says it holds a name, is checked like the name field's parts.
PERSON_NAME_AUTOCOMPLETE = frozenset(
    {"name", "family-name", "given-name", "additional-name", "nickname"}
)


class TextType(FieldType):
    multiline = False

    def clean(self, text: str) -> str:
        return clean_multiline(text) if self.multiline else clean_line(text)

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        value = self.clean(ctx.get(loc.name))
        if not value:
            if required:
                ctx.error(loc, self.required_message(f, loc), rule="required")
            return None
        if f.max_length is not None and len(value) > f.max_length:
            ctx.error(loc, length_message(loc.label, f.max_length, len(value)), rule="max_length")
            return None
        if (f.person_name or f.autocomplete in PERSON_NAME_AUTOCOMPLETE) and (
            problem := name_characters_message(value)
        ):
            ctx.error(loc, f"{loc.label}に{problem}", rule="characters")
            return None
        if f.pattern is not None and not f.pattern.fullmatch(value):
            ctx.error(
                loc, f.pattern_message or f"{loc.label}の形式が正しくありません。", rule="format"
            )
            return None
        return value


class TextareaType(TextType):
    multiline = True


class KatakanaType(FieldType):
    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        value = clean_line(to_katakana(clean_line(ctx.get(loc.name))))
        if not value:
            if required:
                ctx.error(loc, self.required_message(f, loc), rule="required")
            return None
        problem = kana_message(loc.label, value)
        if problem:
            ctx.error(loc, problem, rule="kana")
            return None
        if f.max_length is not None and len(value) > f.max_length:
            ctx.error(loc, length_message(loc.label, f.max_length, len(value)), rule="max_length")
            return None
        return value


# Practical address check (RFC 5322 is far too permissive for a resident's contact address).
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
EMAIL_FORMAT_MESSAGE = "メールアドレスの形式が正しくありません（例：taro@example.jp）。"


def normalize_email(text: str) -> str:
    value = unicodedata.normalize("NFKC", text or "").strip()
    return value.replace("＠", "@")


class EmailType(FieldType):
    def input_names(self, f: Field, loc: Loc) -> list[tuple[str, bool]]:
        names = [(loc.name, False)]
        if f.confirm:
            names.append((loc.input_name("confirm"), False))
        return names

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        value = normalize_email(ctx.get(loc.name))
        confirm = normalize_email(ctx.get(loc.input_name("confirm"))) if f.confirm else value
        if not value:
            if required or confirm:
                ctx.error(loc, self.required_message(f, loc), rule="required")
            return None
        if len(value) > 254 or not _EMAIL_RE.fullmatch(value) or ".." in value:
            ctx.error(loc, EMAIL_FORMAT_MESSAGE, rule="format")
            return None
        local, _, domain = value.rpartition("@")
        value = f"{local}@{domain.lower()}"
        if f.confirm:
            if not confirm:
                ctx.error(
                    loc,
                    f"確認のため、{loc.label}をもう一度入力してください。",
                    "confirm",
                    rule="required",
                )
                return None
            local2, _, domain2 = confirm.rpartition("@")
            if f"{local2}@{domain2.lower()}" != value:
                ctx.error(
                    loc,
                    "確認用のメールアドレスが一致しません。同じメールアドレスを2回入力してください。",
                    "confirm",
                    rule="confirm_mismatch",
                )
                return None
        return value

    def to_raw(self, f: Field, value: Any, loc: Loc, out: dict) -> None:
        out[loc.name] = value or ""
        if f.confirm:
            out[loc.input_name("confirm")] = value or ""


NAME_PART_LABELS = {
    "family": "姓",
    "given": "名",
    "family_kana": "フリガナ（セイ）",
    "given_kana": "フリガナ（メイ）",
}
NAME_MAX = 50


class NameType(FieldType):
    parts = ("family", "given", "family_kana", "given_kana")

    def field_parts(self, f: Field) -> tuple[str, ...]:
        return self.parts if f.kana else self.parts[:2]

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        parts = self.field_parts(f)
        values = {}
        for part in parts:
            text = clean_line(ctx.get(loc.input_name(part)))
            if part.endswith("_kana"):
                text = clean_line(to_katakana(text))
            values[part] = text
        if not any(values.values()):
            if required:
                ctx.error(loc, self.required_message(f, loc), parts[0], rule="required")
            return None
        ok = True
        for part in parts:
            text = values[part]
            part_label = f"{loc.label}の{NAME_PART_LABELS[part]}"
            if not text:
                ctx.error(loc, f"{part_label}を入力してください。", part, rule="required")
                ok = False
            elif not part.endswith("_kana") and (problem := name_characters_message(text)):
                # Kana parts are held to katakana, whose message names the characters too.
                ctx.error(loc, f"{part_label}に{problem}", part, rule="characters")
                ok = False
            elif len(text) > NAME_MAX:
                ctx.error(
                    loc, length_message(part_label, NAME_MAX, len(text)), part, rule="max_length"
                )
                ok = False
            elif part.endswith("_kana") and (problem := kana_message(part_label, text)):
                ctx.error(loc, problem, part, rule="kana")
                ok = False
        return values if ok else None

    def to_raw(self, f: Field, value: Any, loc: Loc, out: dict) -> None:
        value = value or {}
        for part in self.field_parts(f):
            out[loc.input_name(part)] = value.get(part, "")

    def display(self, f: Field, value: Any) -> str:
        name = f"{value.get('family', '')}\u3000{value.get('given', '')}".strip("\u3000")
        kana = f"{value.get('family_kana', '')}\u3000{value.get('given_kana', '')}".strip("\u3000")
        return f"{name}（{kana}）" if kana else name
