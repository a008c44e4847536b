"""Kana normalization for フリガナ fields and kana-insensitive search keys (uses jaconv)."""

import re
import unicodedata

import jaconv

FULLWIDTH_SPACE = "\u3000"
# ァ (U+30A1) … ヶ (U+30F6): every full-width katakana letter, including ヴ ヵ ヶ.
_KATAKANA_RE = re.compile("[\u30a1-\u30f6\u30fb\u30fc\u3000]*")
# 「・」 separates the parts of foreign names (ジョン・スミス) on Japanese forms.
_NOT_ALLOWED_RE = re.compile("[^\u30a1-\u30f6\u30fb\u30fc\u3000]")
_WHITESPACE_RE = re.compile(r"\s+")
_MAX_SHOWN = 5
_CHARACTER_NAMES = {"\n": "改行", "\r": "改行", "\t": "タブ"}


def to_katakana(text: str) -> str:
    """Hiragana and half-width katakana → full-width katakana; " " → 「　」; NFC result.

    Other characters (kanji, Latin letters, digits) are left as they are.
    """
    value = unicodedata.normalize("NFC", text or "")
    value = jaconv.h2z(value, kana=True, ascii=False, digit=False)
    value = jaconv.hira2kata(value)
    value = value.replace(" ", FULLWIDTH_SPACE)
    return unicodedata.normalize("NFC", value)


def _describe(char: str) -> str:
    if char in _CHARACTER_NAMES:
        return _CHARACTER_NAMES[char]
    if char.isspace():
        return "空白"
    return char


def katakana_error(text: str) -> str | None:
    """Japanese message if anything but full-width katakana, 「ー」 or 「　」 remains after
    `to_katakana`, else None. The message names the characters that cannot be used."""
    value = to_katakana(text)
    if _KATAKANA_RE.fullmatch(value):
        return None
    shown: list[str] = []
    for char in _NOT_ALLOWED_RE.findall(value):
        name = _describe(char)
        if name not in shown:
            shown.append(name)
    listed = "".join(f"「{name}」" for name in shown[:_MAX_SHOWN])
    more = "など" if len(shown) > _MAX_SHOWN else ""
    return f"{listed}{more}は使えません。カタカナで入力してください。"


def is_katakana(text: str) -> bool:
    return katakana_error(text) is None


def search_key(text: str) -> str:
    """Key for comparing or searching: NFKC, katakana → hiragana, lower-case, no spaces."""
    value = unicodedata.normalize("NFKC", text or "")
    value = jaconv.kata2hira(value)
    value = value.lower()
    return _WHITESPACE_RE.sub("", value)
