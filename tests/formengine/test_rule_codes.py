"""The rule code of each error is the rule that was really broken.

The KPI 「入力エラーが多い項目」 counts errors per field and rule code, so a code that says
`check_digit` for a number of the wrong length, or `date_format` for a day that does not exist,
sends the municipality after the wrong problem. One fault has one code whatever the field type.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.formengine.fields import TYPES
from madoguchi.formengine.validation import validate_step
from madoguchi.jp.check_digits import individual_number_check_digit

from .helpers import TODAY, form_of

MN = "12345678901" + str(individual_number_check_digit("12345678901"))
WRONG_MN = MN[:11] + str((int(MN[11]) + 1) % 10)

DATE = {"key": "bd", "type": "date", "label": "生年月日", "required": True}
SEIREKI = {**DATE, "era_input": False}
MYNUMBER = {"key": "mn", "type": "individual_number", "label": "個人番号", "required": True}
CORP = {"key": "cn", "type": "corporate_number", "label": "法人番号", "required": True}
POSTAL = {"key": "zip", "type": "postal_code", "label": "郵便番号", "required": True}
PHONE = {"key": "tel", "type": "phone", "label": "電話番号", "required": True}
BANK = {"key": "bank", "type": "bank_account", "label": "振込先口座", "required": True}
NAME = {"key": "nm", "type": "name", "label": "氏名", "required": True}


def date(era, year, month, day):
    return {"bd__era": era, "bd__year": year, "bd__month": month, "bd__day": day}


def bank(**parts):
    raw = {
        "bank__bank_code": "0001",
        "bank__branch_code": "001",
        "bank__account_type": "普通",
        "bank__account_number": "1234567",
        "bank__holder_kana": "ヤマダ　タロウ",
    }
    raw.update({f"bank__{k}": v for k, v in parts.items()})
    return raw


def errors_of(field, raw):
    result = validate_step(form_of(field), "s", raw, {}, today=TODAY)
    return [(e.message, e.rule) for e in result.errors]


CASES = [
    # 和暦 and 西暦: a day that does not exist is date_impossible, however it is written.
    (
        DATE,
        date("平成", "31", "5", "1"),
        "平成31年5月1日は存在しません。令和元年5月1日と入力してください。",
        "date_impossible",
    ),
    (
        DATE,
        date("令和", "元", "4", "30"),
        "令和元年4月30日は存在しません。平成31年4月30日と入力してください。",
        "date_impossible",
    ),
    (
        DATE,
        date("昭和", "64", "1", "8"),
        "昭和64年1月8日は存在しません。平成元年1月8日と入力してください。",
        "date_impossible",
    ),
    (DATE, date("令和", "6", "2", "30"), "2月30日は存在しない日付です。", "date_impossible"),
    (DATE, date("令和", "6", "13", "1"), "13月1日は存在しない日付です。", "date_impossible"),
    (
        DATE,
        date("西暦", "2023", "2", "29"),
        "2023年2月29日は存在しない日付です（2023年はうるう年ではありません）。",
        "date_impossible",
    ),
    (
        DATE,
        date("", "平成31年5月1日", "", ""),
        "平成31年5月1日は存在しません。令和元年5月1日と入力してください。",
        "date_impossible",
    ),
    (DATE, date("", "2024/2/31", "", ""), "2月31日は存在しない日付です。", "date_impossible"),
    (
        SEIREKI,
        {"bd__year": "2023", "bd__month": "4", "bd__day": "31"},
        "4月31日は存在しない日付です。",
        "date_impossible",
    ),
    # A date that cannot be read is date_format; one outside what is accepted is date_range.
    (
        DATE,
        date("", "来週の月曜", "", ""),
        "日付の形式が正しくありません。「2024年5月1日」「令和6年5月1日」「2024/5/1」のように入力してください。",
        "date_format",
    ),
    (
        DATE,
        date("明治", "1", "1", "1"),
        "明治元年10月23日より前の日付は入力できません。",
        "date_range",
    ),
    (
        DATE,
        date("西暦", "1850", "1", "1"),
        "明治元年10月23日より前の日付は入力できません。",
        "date_range",
    ),
    (
        DATE,
        date("西暦", "85", "1", "1"),
        "生年月日の年は西暦4桁で入力してください（例：1985）。",
        "format",
    ),
    (
        DATE,
        date("令和", "0", "5", "1"),
        "和暦の年は1（元年）以上の数字で入力してください。",
        "range",
    ),
    (DATE, date("令和", "6", "", ""), "生年月日の月と日を入力してください。", "incomplete"),
    (DATE, date("令和", "6", "五", "1"), "生年月日の月は数字で入力してください。", "format"),
    (
        {**DATE, "max": "today"},
        date("令和", "6", "6", "16"),
        "生年月日は今日以前の日付を入力してください。",
        "date_range",
    ),
    # 個人番号 / 法人番号: wrong length is length, letters are format, only a real mismatch
    # of the check digit is check_digit.
    (MYNUMBER, {"mn": "1234"}, "個人番号は12桁の数字で入力してください。", "length"),
    (MYNUMBER, {"mn": MN + "0"}, "個人番号は12桁の数字で入力してください。", "length"),
    (MYNUMBER, {"mn": "1234567890ab"}, "個人番号は12桁の数字で入力してください。", "format"),
    (
        MYNUMBER,
        {"mn": WRONG_MN},
        "個人番号が正しくありません。入力した番号をもう一度ご確認ください。",
        "check_digit",
    ),
    (CORP, {"cn": "123"}, "法人番号は13桁の数字で入力してください。", "length"),
    (
        CORP,
        {"cn": "8000012050002"},
        "法人番号が正しくありません。入力した番号をもう一度ご確認ください。",
        "check_digit",
    ),
    # Postal code and phone: the same faults, the same codes.
    (
        POSTAL,
        {"zip": "100-001"},
        "郵便番号は7桁の数字で入力してください（例：100-0001）。",
        "length",
    ),
    (
        POSTAL,
        {"zip": "100-000A"},
        "郵便番号は7桁の数字で入力してください（例：100-0001）。",
        "format",
    ),
    (
        POSTAL,
        {"zip": "999-0001"},
        "郵便番号「999-0001」に該当する住所が見つかりません。郵便番号をもう一度ご確認ください。",
        "postal_unknown",
    ),
    (
        PHONE,
        {"tel": "12345"},
        "電話番号は市外局番から、10桁または11桁の数字で入力してください（例：03-1234-5678、090-1234-5678）。",
        "length",
    ),
    (
        PHONE,
        {"tel": "03-1234-ABCD"},
        "電話番号は市外局番から、10桁または11桁の数字で入力してください（例：03-1234-5678、090-1234-5678）。",
        "format",
    ),
    # Bank account: a code of the wrong length is length, an unknown one names what is unknown.
    (BANK, bank(bank_code="12"), "金融機関コードは4桁の数字で入力してください。", "length"),
    (
        BANK,
        bank(bank_code="9999"),
        "金融機関コード「9999」に該当する金融機関が見つかりません。",
        "bank_unknown",
    ),
    (BANK, bank(branch_code="1"), "支店コードは3桁の数字で入力してください。", "length"),
    (
        BANK,
        bank(branch_code="999"),
        "みずほに支店コード「999」の支店が見つかりません。",
        "branch_unknown",
    ),
    (
        BANK,
        bank(account_number="12345678"),
        "振込先口座の口座番号は7桁以内の数字で入力してください。",
        "length",
    ),
    (
        BANK,
        bank(account_number="12-34a"),
        "振込先口座の口座番号は7桁以内の数字で入力してください。",
        "format",
    ),
]


@pytest.mark.parametrize(("field", "raw", "message", "rule"), CASES)
def test_rule_code_is_the_rule_broken(field, raw, message, rule):
    assert errors_of(field, raw) == [(message, rule)]


# Every rule code the engine emits, and what it means. The KPI tables label each one.
KNOWN_RULES = {
    "required",
    "incomplete",
    "format",
    "length",
    "max_length",
    "range",
    "check_digit",
    "date_impossible",
    "date_format",
    "date_range",
    "era",
    "choice",
    "min_selected",
    "max_selected",
    "kana",
    "characters",
    "confirm_mismatch",
    "postal_unknown",
    "bank_unknown",
    "branch_unknown",
    "file_type",
    "file_size",
    "file_empty",
    "file_count",
    "min_items",
    "max_items",
}


def test_every_rule_code_has_a_label_on_the_kpi_page():
    from madoguchi.analytics.tables import RULE_LABELS

    assert KNOWN_RULES <= RULE_LABELS.keys()


FIELDS = [
    DATE,
    SEIREKI,
    MYNUMBER,
    CORP,
    POSTAL,
    PHONE,
    BANK,
    NAME,
    {"key": "t", "type": "text", "label": "テキスト", "required": True, "max_length": 5},
    {"key": "ka", "type": "katakana", "label": "カナ", "required": True, "max_length": 5},
    {"key": "n", "type": "integer", "label": "人数", "required": True, "min": 1, "max": 9},
    {"key": "d", "type": "decimal", "label": "面積", "required": True, "places": 1},
    {"key": "m", "type": "money", "label": "金額", "required": True},
    {"key": "em", "type": "email", "label": "メールアドレス", "required": True, "confirm": True},
    {
        "key": "c",
        "type": "checkboxes",
        "label": "種類",
        "required": True,
        "max_selected": 1,
        "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
    },
    {"key": "yn", "type": "yesno", "label": "同居", "required": True},
]
TYPED = st.text(
    alphabet=st.sampled_from(list("0123456789０１２-/.年月日令和平成元 aZ😀髙𠮷ア")),
    max_size=16,
)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(FIELDS), data=st.data())
def test_no_error_ever_goes_unnamed(field, data):
    """Whatever is typed into whichever part, every error carries a known code, never the
    catch-all `invalid`."""
    names = [
        name
        for name, _ in TYPES[field["type"]].input_names(
            form_of(field).steps[0].fields[0], _loc(field)
        )
    ]
    raw = {name: data.draw(TYPED, label=name) for name in names}
    if field["type"] == "checkboxes":
        raw = {field["key"]: data.draw(st.lists(st.sampled_from(["a", "b", "x"]), max_size=3))}
    result = validate_step(form_of(field), "s", raw, {}, today=TODAY)
    for error in result.errors:
        assert error.rule in KNOWN_RULES, (error.message, error.rule)


def _loc(field):
    from madoguchi.formengine.fields.base import top_loc

    return top_loc(form_of(field).steps[0].fields[0])
