from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.jp.errors import JpValueError
from madoguchi.jp.wareki import (
    ERAS,
    Era,
    find_era,
    format_date,
    format_wareki,
    from_wareki,
    parse_date_text,
    to_wareki,
)

UNKNOWN_FORMAT = (
    "日付の形式が正しくありません。"
    "「2024年5月1日」「令和6年5月1日」「2024/5/1」のように入力してください。"
)

dates = st.dates(min_value=date(1873, 1, 1), max_value=date(2100, 12, 31))


def _message(func, *args) -> str:
    with pytest.raises(JpValueError) as info:
        func(*args)
    return info.value.message


def test_eras():
    assert [(e.name, e.code_letter, e.start) for e in ERAS] == [
        ("明治", "M", date(1868, 10, 23)),
        ("大正", "T", date(1912, 7, 30)),
        ("昭和", "S", date(1926, 12, 25)),
        ("平成", "H", date(1989, 1, 8)),
        ("令和", "R", date(2019, 5, 1)),
    ]
    assert isinstance(ERAS[0], Era)


@pytest.mark.parametrize("alias", ["令和", "R", "r", "Ｒ", "令", "㋿"])
def test_era_aliases(alias):
    assert from_wareki(alias, 6, 12, 3) == date(2024, 12, 3)
    assert find_era(alias).name == "令和"


def test_unknown_era():
    assert _message(from_wareki, "慶応", 3, 1, 1) == (
        "元号は明治・大正・昭和・平成・令和のいずれかで入力してください。"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("令和", 1, 5, 1), date(2019, 5, 1)),
        (("平成", 31, 4, 30), date(2019, 4, 30)),
        (("平成", 1, 1, 8), date(1989, 1, 8)),
        (("昭和", 64, 1, 7), date(1989, 1, 7)),
        (("昭和", 1, 12, 25), date(1926, 12, 25)),
        (("大正", 15, 12, 24), date(1926, 12, 24)),
        (("大正", 1, 7, 30), date(1912, 7, 30)),
        (("明治", 45, 7, 29), date(1912, 7, 29)),
        (("明治", 1, 10, 23), date(1868, 10, 23)),
        (("令和", 6, 2, 29), date(2024, 2, 29)),
    ],
)
def test_from_wareki(args, expected):
    assert from_wareki(*args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("平成", 31, 5, 1), "平成31年5月1日は存在しません。令和元年5月1日と入力してください。"),
        (("令和", 1, 4, 30), "令和元年4月30日は存在しません。平成31年4月30日と入力してください。"),
        (("昭和", 64, 1, 8), "昭和64年1月8日は存在しません。平成元年1月8日と入力してください。"),
        (("平成", 1, 1, 7), "平成元年1月7日は存在しません。昭和64年1月7日と入力してください。"),
        (("大正", 1, 7, 29), "大正元年7月29日は存在しません。明治45年7月29日と入力してください。"),
        (
            ("昭和", 1, 12, 24),
            "昭和元年12月24日は存在しません。大正15年12月24日と入力してください。",
        ),
        (("平成", 40, 1, 1), "平成40年1月1日は存在しません。令和10年1月1日と入力してください。"),
        (("令和", 6, 2, 30), "2月30日は存在しない日付です。"),
        (("令和", 6, 13, 1), "13月1日は存在しない日付です。"),
        (("令和", 6, 4, 31), "4月31日は存在しない日付です。"),
        (("令和", 6, 4, 0), "4月0日は存在しない日付です。"),
        (
            ("令和", 5, 2, 29),
            "令和5年2月29日は存在しない日付です（2023年はうるう年ではありません）。",
        ),
        (("明治", 1, 10, 22), "明治元年10月23日より前の日付は入力できません。"),
        (("令和", 0, 1, 1), "和暦の年は1（元年）以上の数字で入力してください。"),
        (("令和", 9999, 1, 1), "令和9999年は入力できる範囲を超えています。"),
    ],
)
def test_from_wareki_errors(args, expected):
    assert _message(from_wareki, *args) == expected


def test_to_wareki_and_format():
    assert to_wareki(date(2019, 5, 1)) == ("令和", 1, 5, 1)
    assert to_wareki(date(2019, 4, 30)) == ("平成", 31, 4, 30)
    assert format_wareki(date(2019, 5, 1)) == "令和元年5月1日"
    assert format_wareki(date(2024, 12, 3)) == "令和6年12月3日"
    assert format_wareki(date(1989, 1, 7)) == "昭和64年1月7日"


def test_to_wareki_before_meiji():
    assert _message(to_wareki, date(1868, 10, 22)) == (
        "明治元年10月23日より前の日付は和暦で表せません。"
    )


def test_format_date_styles():
    d = date(2024, 12, 3)
    assert format_date(d) == "令和6年12月3日"
    assert format_date(d, "wareki") == "令和6年12月3日"
    assert format_date(d, "seireki") == "2024年12月3日"
    assert format_date(d, "both") == "令和6年12月3日（2024年12月3日）"
    with pytest.raises(ValueError):
        format_date(d, "iso")


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01",
        "2024/5/1",
        "2024.5.1",
        "20240501",
        "2024年5月1日",
        "2024年5月1日（水）",
        "令和6年5月1日",
        "令和 6 年 5 月 1 日",
        "R6.5.1",
        "r6/5/1",
        "R06-05-01",
        "令6.5.1",
        "㋿6年5月1日",
        "２０２４－０５－０１",
        "２０２４ー０５ー０１",
        "令和６年５月１日",
        "Ｒ６．５．１",
    ],
)
def test_parse_date_text(text):
    assert parse_date_text(text) == date(2024, 5, 1)


def test_parse_gannen_and_boundaries():
    assert parse_date_text("令和元年5月1日") == date(2019, 5, 1)
    assert parse_date_text("H31/4/30") == date(2019, 4, 30)
    assert parse_date_text("平成元年1月8日") == date(1989, 1, 8)
    assert parse_date_text("S64.1.7") == date(1989, 1, 7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "日付を入力してください。"),
        ("   ", "日付を入力してください。"),
        ("きのう", UNKNOWN_FORMAT),
        ("2024-5/1", UNKNOWN_FORMAT),
        ("24/5/1", UNKNOWN_FORMAT),
        ("令和6年5月", UNKNOWN_FORMAT),
        ("平成31年5月1日", "平成31年5月1日は存在しません。令和元年5月1日と入力してください。"),
        ("R1.4.30", "令和元年4月30日は存在しません。平成31年4月30日と入力してください。"),
        ("昭和64年1月8日", "昭和64年1月8日は存在しません。平成元年1月8日と入力してください。"),
        ("2024/2/30", "2月30日は存在しない日付です。"),
        (
            "2023-02-29",
            "2023年2月29日は存在しない日付です（2023年はうるう年ではありません）。",
        ),
        ("明治元年1月1日", "明治元年10月23日より前の日付は入力できません。"),
    ],
)
def test_parse_date_text_errors(text, expected):
    assert _message(parse_date_text, text) == expected


@given(dates)
def test_wareki_round_trip(d):
    assert from_wareki(*to_wareki(d)) == d


@given(dates)
def test_parse_formatted_wareki(d):
    assert parse_date_text(format_wareki(d)) == d


@given(dates)
def test_parse_iso(d):
    assert parse_date_text(d.isoformat()) == d


@given(dates)
def test_parse_seireki_and_letter_forms(d):
    assert parse_date_text(format_date(d, "seireki")) == d
    era, year, month, day = to_wareki(d)
    letter = find_era(era).code_letter
    assert parse_date_text(f"{letter}{year}.{month}.{day}") == d


@given(dates, st.sampled_from(ERAS))
def test_wrong_era_names_the_alternative(d, era):
    year = d.year - era.start.year + 1
    if year < 1 or find_era(to_wareki(d)[0]) == era:
        return
    message = _message(from_wareki, era.name, year, d.month, d.day)
    assert message.endswith(f"{format_wareki(d)}と入力してください。")
