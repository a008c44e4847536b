"""Check digits of the 個人番号 (My Number) and the 法人番号 (corporate number).

個人番号 (12 digits, check digit last): 行政手続における特定の個人を識別するための番号の利用等に
関する法律施行令 第8条 / 総務省令. For the 11 base digits, Pn is the n-th digit counted from the
right (P1 is the digit just left of the check digit) and Qn = n + 1 for 1 <= n <= 6,
n - 5 for 7 <= n <= 11. With r = sum(Pn * Qn) mod 11 the check digit is 0 when r <= 1,
otherwise 11 - r.

法人番号 (13 digits, check digit FIRST): 法人番号の指定等に関する省令 第2条. For the 12 base digits,
Pn is the n-th digit counted from the lowest digit and Qn = 1 when n is odd, 2 when n is even.
The check digit is 9 - (sum(Pn * Qn) mod 9). Example: 国税庁 7000012050002.
"""

from madoguchi.jp import errors
from madoguchi.jp._text import digits_only, digits_problem, is_ascii_digits
from madoguchi.jp.errors import JpValueError

INDIVIDUAL_NUMBER_LENGTH_MESSAGE = "個人番号は12桁の数字で入力してください。"
INDIVIDUAL_NUMBER_INVALID_MESSAGE = (
    "個人番号が正しくありません。入力した番号をもう一度ご確認ください。"
)
CORPORATE_NUMBER_LENGTH_MESSAGE = "法人番号は13桁の数字で入力してください。"
CORPORATE_NUMBER_INVALID_MESSAGE = (
    "法人番号が正しくありません。入力した番号をもう一度ご確認ください。"
)


# --- 個人番号 -----------------------------------------------------------------------------


def individual_number_check_digit(eleven: str) -> int:
    """Check digit for the 11 base digits of a 個人番号 (full-width digits are accepted)."""
    base = digits_only(eleven, allow_separators=False)
    if not is_ascii_digits(base, 11):
        raise JpValueError(
            "個人番号の検査用数字を計算するには、11桁の数字が必要です。", digits_problem(base)
        )
    total = 0
    for n, digit in enumerate(reversed(base), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(digit) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def normalize_individual_number(text: str) -> str:
    """Return the 12 ASCII digits of a 個人番号 or raise JpValueError.

    Accepts full-width digits and the spaces or hyphens of the 4-4-4 grouping on the card.
    Callers should store this normalized value, not the raw input.
    """
    value = digits_only(text)
    if not is_ascii_digits(value, 12):
        raise JpValueError(INDIVIDUAL_NUMBER_LENGTH_MESSAGE, digits_problem(value))
    if individual_number_check_digit(value[:11]) != int(value[11]):
        # Never echo the number back: it is a specific personal identifier.
        raise JpValueError(INDIVIDUAL_NUMBER_INVALID_MESSAGE, errors.CHECK_DIGIT)
    return value


def individual_number_error(s: str) -> str | None:
    """Japanese message when `s` is not a valid 個人番号, else None."""
    try:
        normalize_individual_number(s)
    except JpValueError as exc:
        return exc.message
    return None


def is_valid_individual_number(s: str) -> bool:
    return individual_number_error(s) is None


def mask_individual_number(s: str) -> str:
    """Mask all but the last four digits: 「********1234」. Never raises."""
    value = digits_only(s or "")
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


# --- 法人番号 -----------------------------------------------------------------------------


def corporate_number_check_digit(twelve: str) -> int:
    """Leading check digit for the 12 base digits of a 法人番号 (full-width digits accepted)."""
    base = digits_only(twelve, allow_separators=False)
    if not is_ascii_digits(base, 12):
        raise JpValueError(
            "法人番号の検査用数字を計算するには、12桁の数字が必要です。", digits_problem(base)
        )
    total = 0
    for n, digit in enumerate(reversed(base), start=1):
        total += int(digit) * (1 if n % 2 == 1 else 2)
    return 9 - total % 9


def normalize_corporate_number(text: str) -> str:
    """Return the 13 ASCII digits of a 法人番号 or raise JpValueError.

    Accepts full-width digits, spaces and hyphens. Callers should store the normalized value.
    """
    value = digits_only(text)
    if not is_ascii_digits(value, 13):
        raise JpValueError(CORPORATE_NUMBER_LENGTH_MESSAGE, digits_problem(value))
    if corporate_number_check_digit(value[1:]) != int(value[0]):
        raise JpValueError(CORPORATE_NUMBER_INVALID_MESSAGE, errors.CHECK_DIGIT)
    return value


def corporate_number_error(s: str) -> str | None:
    """Japanese message when `s` is not a valid 法人番号, else None."""
    try:
        normalize_corporate_number(s)
    except JpValueError as exc:
        return exc.message
    return None


def is_valid_corporate_number(s: str) -> bool:
    return corporate_number_error(s) is None
