"""Small text helpers shared by the `madoguchi.jp` modules (internal)."""

import re
import unicodedata

from madoguchi.jp.errors import FORMAT, LENGTH

# Dash-like characters residents type between digit groups. NFKC already maps the full-width
# hyphen-minus (U+FF0D) to "-", but not these.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\u2500\u2501\ufe63"
_SEPARATORS_RE = re.compile(f"[\\s{re.escape(_DASHES)}]+")


def nfkc(text: str) -> str:
    """NFKC-normalize and strip; full-width digits and letters become ASCII."""
    return unicodedata.normalize("NFKC", text or "").strip()


def digits_only(text: str, *, allow_separators: bool = True) -> str:
    """NFKC-normalize `text` and, if allowed, drop spaces and dash-like separators.

    The result is not guaranteed to contain only digits: callers check with `is_ascii_digits`.
    """
    value = nfkc(text)
    if allow_separators:
        value = _SEPARATORS_RE.sub("", value)
    return value


def digits_problem(value: str) -> str:
    """The rule code for a number of the wrong shape (after `digits_only`): `length` when it
    is only digits (too few or too many), `format` when anything else is in it."""
    return LENGTH if value and value.isascii() and value.isdigit() else FORMAT


def is_ascii_digits(value: str, length: int | None = None) -> bool:
    if not value or not value.isascii() or not value.isdigit():
        return False
    return length is None or len(value) == length
