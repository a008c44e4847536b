"""integer, decimal, money: full-width digits, separators, ranges."""

import pytest

from .helpers import messages, value

INT = {"key": "n", "type": "integer", "label": "世帯人数", "required": True}


@pytest.mark.parametrize(
    ("typed", "expected"), [("3", 3), ("３", 3), (" 1,200 ", 1200), ("－５", -5)]
)
def test_integer_accepts_full_width_and_separators(typed, expected):
    assert value(INT, {"n": typed}) == expected


@pytest.mark.parametrize("typed", ["3.5", "三", "3人", "1e3", "12345678901234567"])
def test_integer_refuses_non_integers(typed):
    assert messages(INT, {"n": typed}) == ["世帯人数は半角または全角の整数で入力してください。"]


def test_integer_required():
    assert messages(INT, {"n": ""}) == ["世帯人数を入力してください。"]


def test_integer_range_messages():
    both = {**INT, "min": 1, "max": 10}
    assert messages(both, {"n": "0"}) == ["世帯人数は1以上10以下で入力してください。"]
    assert messages(both, {"n": "11"}) == ["世帯人数は1以上10以下で入力してください。"]
    assert messages({**INT, "min": 1}, {"n": "0"}) == ["世帯人数は1以上で入力してください。"]
    assert messages({**INT, "max": 9}, {"n": "10"}) == ["世帯人数は9以下で入力してください。"]
    with_unit = {**both, "unit": "人"}
    assert messages(with_unit, {"n": "20"}) == ["世帯人数は1人以上10人以下で入力してください。"]


MONEY = {"key": "m", "type": "money", "label": "所得額", "required": True}


@pytest.mark.parametrize(
    ("typed", "expected"), [("15000", 15000), ("１５，０００円", 15000), ("¥1,000", 1000)]
)
def test_money(typed, expected):
    assert value(MONEY, {"m": typed}) == expected


def test_money_refusals():
    assert messages(MONEY, {"m": "15000.5"}) == [
        "所得額は金額を半角または全角の数字で入力してください（例：15000）。"
    ]
    assert messages(MONEY, {"m": "-1"}) == ["所得額は0円以上で入力してください。"]
    assert messages({**MONEY, "max": 1000000}, {"m": "2000000"}) == [
        "所得額は0円以上1,000,000円以下で入力してください。"
    ]


DEC = {"key": "d", "type": "decimal", "label": "体重", "unit": "kg", "required": True}


def test_decimal():
    assert value(DEC, {"d": "１２．５"}) == "12.5"
    assert value(DEC, {"d": "12.50"}) == "12.50"
    assert messages(DEC, {"d": "12.345"}) == ["体重は小数点以下2桁までで入力してください。"]
    assert messages(DEC, {"d": "abc"}) == ["体重は数値で入力してください（例：12.5）。"]
    assert messages({**DEC, "places": 0}, {"d": "1.5"}) == ["体重は整数で入力してください。"]
    ranged = {**DEC, "min": 0.5, "max": "200"}
    assert messages(ranged, {"d": "0.1"}) == ["体重は0.5kg以上200kg以下で入力してください。"]
