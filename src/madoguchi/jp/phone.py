"""Japanese telephone numbers: normalization to the usual hyphenated form.

Fixed-line numbers are split into 市外局番-市内局番-加入者番号. The length of the 市外局番 (2–5
digits including the leading 0) depends on the number range; the table below covers the 2-digit
codes, the 3-digit codes of the larger cities and the 5-digit codes, and treats everything else as
a 4-digit code. This is best effort: the digits are always kept, only the hyphen positions of some
rural numbers may differ from the ones the telephone company uses.
"""

import re

from madoguchi.jp import errors
from madoguchi.jp._text import digits_only, is_ascii_digits
from madoguchi.jp.errors import JpValueError

PHONE_MESSAGE = (
    "電話番号は市外局番から、10桁または11桁の数字で入力してください"
    "（例：03-1234-5678、090-1234-5678）。"
)

_MOBILE_PREFIXES = ("090", "080", "070", "060")
_PARENS_RE = re.compile(r"[()（）]")
_COUNTRY_CODE_RE = re.compile(r"^\+?81")


def _build_area_table() -> dict[str, int]:
    table: dict[str, int] = {"03": 2, "06": 2, "0429": 2, "0471": 2}
    # 3-digit codes valid for every number that starts with them, with 4-digit exceptions.
    three_except_four = {
        "011": "",
        "043": "689",
        "044": "",
        "045": "",
        "046": "03567",
        "047": "05689",
        "048": "0",
        "049": "345",
        "052": "",
        "053": "12678",
        "054": "4578",
        "058": "14567",
        "059": "45678",
        "072": "15",
        "073": "56789",
        "075": "",
        "076": "135678",
        "077": "0123468",
        "078": "",
        "079": "014789",
        "082": "03479",
        "083": "345678",
        "084": "5678",
        "086": "356789",
        "087": "579",
        "088": "03457",
        "089": "2345678",
        "092": "",
        "093": "",
        "095": "5679",
        "096": "456789",
        "097": "234789",
        "098": "0",
        "099": "34567",
    }
    for prefix, four_digit_next in three_except_four.items():
        table[prefix] = 3
        for digit in four_digit_next:
            table[prefix + digit] = 4
    # 3-digit codes that share their first digits with 4-digit codes: list the 3-digit ranges.
    three_only = {
        "017": "7",
        "018": "8",
        "019": "6",
        "022": "237",
        "023": "6",
        "024": "59",
        "025": "2",
        "026": "2",
        "027": "23",
        "028": "6",
        "029": "238",
        "042": "34567",
        "055": "29",
    }
    for prefix, next_digits in three_only.items():
        for digit in next_digits:
            table[prefix + digit] = 3
    for code in (
        "01267 01372 01374 01377 01392 01397 01398 01456 01457 01466 01547 01558 01564 "
        "01586 01587 01632 01634 01635 01648 01654 01655 01656 01658 04992 04994 04996 "
        "05769 05979 07468 08387 08388 08396 08477 08512 08514 09496 09802 09912 09913 "
        "09969"
    ).split():
        table[code] = 5
    return table


_AREA_CODE_LENGTH = _build_area_table()


def _area_code_length(number: str) -> int:
    for length in (5, 4, 3, 2):
        found = _AREA_CODE_LENGTH.get(number[:length])
        if found is not None:
            return found
    return 4


def _digits(text: str) -> str:
    value = digits_only(text or "")
    value = _PARENS_RE.sub("", value)
    if value.startswith("+81") or (value.startswith("81") and len(value) in (11, 12)):
        # International form (+81 90-1234-5678, +81 (0)3-…): back to the domestic form.
        value = _COUNTRY_CODE_RE.sub("", value)
        if not value.startswith("0"):
            value = "0" + value
    return value


def normalize_phone(text: str) -> str:
    """Return the hyphenated form (「03-1234-5678」「090-1234-5678」) or raise JpValueError."""
    number = _digits(text)
    if not is_ascii_digits(number):
        raise JpValueError(PHONE_MESSAGE, errors.FORMAT)
    if len(number) not in (10, 11):
        raise JpValueError(PHONE_MESSAGE, errors.LENGTH)
    if not number.startswith("0"):
        raise JpValueError(PHONE_MESSAGE)
    if number[1] == "0":
        raise JpValueError(PHONE_MESSAGE)
    if len(number) == 11:
        if number.startswith("0800"):  # toll free; 080-0… is not a mobile range
            return f"{number[:4]}-{number[4:7]}-{number[7:]}"
        if number.startswith(_MOBILE_PREFIXES) or number.startswith("050"):
            return f"{number[:3]}-{number[3:7]}-{number[7:]}"
        raise JpValueError(PHONE_MESSAGE)
    if len(number) == 10:
        if number.startswith(("0120", "0570")):
            return f"{number[:4]}-{number[4:7]}-{number[7:]}"
        if number.startswith(("020", "050", "060", "070", "080", "090", "099")):
            raise JpValueError(PHONE_MESSAGE)
        area = _area_code_length(number)
        return f"{number[:area]}-{number[area:6]}-{number[6:]}"
    raise JpValueError(PHONE_MESSAGE)


def phone_error(text: str) -> str | None:
    try:
        normalize_phone(text)
    except JpValueError as exc:
        return exc.message
    return None
