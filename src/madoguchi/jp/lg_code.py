"""全国地方公共団体コード (6 digits: 5-digit code + check digit).

Check digit (総務省 「全国地方公共団体コード」仕様): weights 6,5,4,3,2 on the first five
digits; r = sum mod 11; check digit = last digit of (11 - r). Examples: 千代田区 13101 → 131016,
苫小牧市 01213 → 012131, 室蘭市 01205 → 012050.
"""

_WEIGHTS = (6, 5, 4, 3, 2)


def lg_check_digit(five_digits: str) -> int:
    if len(five_digits) != 5 or not five_digits.isascii() or not five_digits.isdigit():
        raise ValueError("five ASCII digits expected")
    total = sum(int(d) * w for d, w in zip(five_digits, _WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def with_check_digit(five_digits: str) -> str:
    return f"{five_digits}{lg_check_digit(five_digits)}"


def lg_code_error(code: str) -> str | None:
    """Return a Japanese message describing why `code` is not a valid 6-digit code, or None."""
    if not isinstance(code, str) or len(code) != 6 or not code.isascii() or not code.isdigit():
        return "全国地方公共団体コードは半角数字6桁で入力してください。"
    expected = lg_check_digit(code[:5])
    if int(code[5]) != expected:
        return (
            f"全国地方公共団体コード「{code}」の検査数字が正しくありません"
            f"（{code[:5]} の検査数字は {expected} です）。"
        )
    return None


def is_valid_lg_code(code: str) -> bool:
    return lg_code_error(code) is None
