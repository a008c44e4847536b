import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.jp.check_digits import (
    corporate_number_check_digit,
    corporate_number_error,
    individual_number_check_digit,
    individual_number_error,
    is_valid_corporate_number,
    is_valid_individual_number,
    mask_individual_number,
    normalize_corporate_number,
    normalize_individual_number,
)
from madoguchi.jp.errors import JpValueError

INDIVIDUAL_LENGTH = "個人番号は12桁の数字で入力してください。"
INDIVIDUAL_INVALID = "個人番号が正しくありません。入力した番号をもう一度ご確認ください。"
CORPORATE_LENGTH = "法人番号は13桁の数字で入力してください。"
CORPORATE_INVALID = "法人番号が正しくありません。入力した番号をもう一度ご確認ください。"

eleven_digits = st.text(alphabet="0123456789", min_size=11, max_size=11)
twelve_digits = st.text(alphabet="0123456789", min_size=12, max_size=12)


def _individual_remainder(eleven: str) -> int:
    total = sum(
        int(p) * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(reversed(eleven), start=1)
    )
    return total % 11


def _replace(text: str, position: int, delta: int) -> str:
    return text[:position] + str((int(text[position]) + delta) % 10) + text[position + 1 :]


# --- 個人番号 -------------------------------------------------------------------------------


def test_individual_check_digit_by_hand():
    # 12345678901: P1..P11 from the right = 1,0,9,8,7,6,5,4,3,2,1 with Q = 2..7,2..6.
    # Σ = 2+0+36+40+42+42+10+12+12+10+6 = 212; 212 mod 11 = 3; 11 - 3 = 8.
    assert individual_number_check_digit("12345678901") == 8
    assert individual_number_error("123456789018") is None


def test_individual_check_digit_zero_when_remainder_le_1():
    assert individual_number_check_digit("00000000000") == 0  # remainder 0
    # P1 = 6 with Q1 = 2: Σ = 12, remainder 1 → 0.
    assert individual_number_check_digit("00000000006") == 0


def test_individual_check_digit_accepts_full_width():
    assert individual_number_check_digit("１２３４５６７８９０１") == 8


def test_individual_check_digit_rejects_wrong_length():
    with pytest.raises(JpValueError):
        individual_number_check_digit("1234567890")


@pytest.mark.parametrize(
    "text", ["", "12345678901", "1234567890189", "12345678901a", "abcdefghijkl", "1234-5678"]
)
def test_individual_length_message(text):
    assert individual_number_error(text) == INDIVIDUAL_LENGTH


def test_individual_invalid_message_does_not_echo_number():
    message = individual_number_error("123456789012")
    assert message == INDIVIDUAL_INVALID
    assert "1234" not in message


@pytest.mark.parametrize(
    "text", ["123456789018", "１２３４５６７８９０１８", "1234 5678 9018", "1234-5678-9018"]
)
def test_individual_accepts_full_width_and_grouping(text):
    assert individual_number_error(text) is None
    assert normalize_individual_number(text) == "123456789018"


def test_normalize_individual_raises():
    with pytest.raises(JpValueError) as info:
        normalize_individual_number("123456789012")
    assert info.value.message == INDIVIDUAL_INVALID
    assert str(info.value) == INDIVIDUAL_INVALID


def test_mask_individual_number():
    assert mask_individual_number("123456789018") == "********9018"
    assert mask_individual_number("１２３４ ５６７８ ９０１８") == "********9018"
    assert mask_individual_number("12") == "**"
    assert mask_individual_number("") == ""


@given(eleven_digits)
def test_generated_individual_numbers_validate(eleven):
    assert is_valid_individual_number(eleven + str(individual_number_check_digit(eleven)))


@given(eleven_digits, st.integers(0, 11), st.integers(1, 9))
def test_individual_single_digit_change(eleven, position, delta):
    number = eleven + str(individual_number_check_digit(eleven))
    changed = _replace(number, position, delta)
    if position == 11:
        assert not is_valid_individual_number(changed)
        return
    # Remainders 0 and 1 both give check digit 0: that is the only undetectable change.
    remainders = {_individual_remainder(eleven), _individual_remainder(changed[:11])}
    assert is_valid_individual_number(changed) == (remainders == {0, 1})


# --- 法人番号 -------------------------------------------------------------------------------


def test_corporate_number_of_nta():
    # 国税庁 (National Tax Agency): 7000012050002.
    assert corporate_number_check_digit("000012050002") == 7
    assert corporate_number_error("7000012050002") is None
    assert is_valid_corporate_number("７０００ ０１２０ ５０００２")
    assert normalize_corporate_number("7-0000-1205-0002") == "7000012050002"


@pytest.mark.parametrize("text", ["", "700001205000", "70000120500021", "700001205000x"])
def test_corporate_length_message(text):
    assert corporate_number_error(text) == CORPORATE_LENGTH


@pytest.mark.parametrize("text", ["8000012050002", "0000012050002", "7000012050003"])
def test_corporate_invalid_message(text):
    assert corporate_number_error(text) == CORPORATE_INVALID


def test_corporate_check_digit_rejects_wrong_length():
    with pytest.raises(JpValueError):
        corporate_number_check_digit("00001205000")


@given(twelve_digits)
def test_generated_corporate_numbers_validate(twelve):
    number = str(corporate_number_check_digit(twelve)) + twelve
    assert is_valid_corporate_number(number)


@given(twelve_digits, st.integers(0, 12), st.integers(1, 9))
def test_corporate_single_digit_change(twelve, position, delta):
    number = str(corporate_number_check_digit(twelve)) + twelve
    changed = _replace(number, position, delta)
    if position == 0:
        assert not is_valid_corporate_number(changed)
        return
    # Weights 1 and 2 modulo 9 cannot see a 0 ↔ 9 substitution; every other change is caught.
    undetectable = {number[position], changed[position]} == {"0", "9"}
    assert is_valid_corporate_number(changed) == undetectable
