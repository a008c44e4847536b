import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.jp.lg_code import (
    is_valid_lg_code,
    lg_check_digit,
    lg_code_error,
    with_check_digit,
)

five_digits = st.text(alphabet="0123456789", min_size=5, max_size=5)


def _remainder(five: str) -> int:
    return sum(int(d) * w for d, w in zip(five, (6, 5, 4, 3, 2), strict=True)) % 11


@pytest.mark.parametrize(
    ("five", "six"),
    [("13101", "131016"), ("01213", "012131"), ("01205", "012050")],
)
def test_known_codes(five, six):
    assert with_check_digit(five) == six
    assert lg_check_digit(five) == int(six[-1])
    assert is_valid_lg_code(six)
    assert lg_code_error(six) is None


def test_wrong_format_message():
    for bad in ("13101", "1310166", "13101a", "１３１０１６", "", None):
        assert lg_code_error(bad) == "全国地方公共団体コードは半角数字6桁で入力してください。"


def test_wrong_check_digit_message():
    assert lg_code_error("131017") == (
        "全国地方公共団体コード「131017」の検査数字が正しくありません（13101 の検査数字は 6 です）。"
    )


def test_check_digit_rejects_bad_input():
    with pytest.raises(ValueError):
        lg_check_digit("1310")


@given(five_digits)
def test_with_check_digit_always_validates(five):
    assert is_valid_lg_code(with_check_digit(five))


@given(five_digits, st.integers(0, 5), st.integers(1, 9))
def test_single_digit_change(five, position, delta):
    code = with_check_digit(five)
    changed_digit = (int(code[position]) + delta) % 10
    changed = code[:position] + str(changed_digit) + code[position + 1 :]
    if position == 5:
        # A different check digit is always rejected.
        assert not is_valid_lg_code(changed)
        return
    # The check digit is (11 - r) mod 10, so remainders 0 and 10 share the check digit 1:
    # a change that moves r between 0 and 10 is the only one the check digit cannot catch.
    undetectable = {_remainder(five), _remainder(changed[:5])} == {0, 10}
    assert is_valid_lg_code(changed) == undetectable


def test_known_undetectable_change():
    # 00000 and 00005 have remainders 0 and 10, which both give check digit 1.
    assert is_valid_lg_code("000001")
    assert is_valid_lg_code("000051")
