"""date (和暦/西暦), postal code, phone, 個人番号, 法人番号, bank account."""

import pytest

from madoguchi.jp.check_digits import individual_number_check_digit

from .helpers import messages, value

DATE = {"key": "bd", "type": "date", "label": "生年月日", "required": True}


def date_raw(era, year, month, day):
    return {"bd__era": era, "bd__year": year, "bd__month": month, "bd__day": day}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (date_raw("令和", "6", "5", "1"), "2024-05-01"),
        (date_raw("令和", "元", "5", "1"), "2019-05-01"),
        (date_raw("平成", "３１", "４", "３０"), "2019-04-30"),
        (date_raw("昭和", "60", "1", "15"), "1985-01-15"),
        (date_raw("西暦", "2024", "2", "29"), "2024-02-29"),
        (date_raw("", "1990", "7", "7"), "1990-07-07"),  # 4-digit year without era = 西暦
        (date_raw("", "令和6年5月1日", "", ""), "2024-05-01"),  # pasted into the year box
        (date_raw("令和", "2024/5/1", "", ""), "2024-05-01"),
    ],
)
def test_date_happy_paths(raw, expected):
    assert value(DATE, raw) == expected


def test_date_in_wrong_era_names_the_right_one():
    assert messages(DATE, date_raw("平成", "31", "5", "1")) == [
        "平成31年5月1日は存在しません。令和元年5月1日と入力してください。"
    ]


def test_date_impossible_day():
    assert messages(DATE, date_raw("令和", "6", "2", "30")) == ["2月30日は存在しない日付です。"]
    assert messages(DATE, date_raw("西暦", "2023", "2", "29")) == [
        "2023年2月29日は存在しない日付です（2023年はうるう年ではありません）。"
    ]
    assert messages(DATE, date_raw("西暦", "2023", "2", "30")) == ["2月30日は存在しない日付です。"]


def test_date_incomplete():
    assert messages(DATE, date_raw("令和", "", "", "")) == ["生年月日を入力してください。"]
    assert messages(DATE, date_raw("令和", "6", "", "")) == ["生年月日の月と日を入力してください。"]
    assert messages(DATE, date_raw("令和", "6", "5", "")) == ["生年月日の日を入力してください。"]
    assert messages(DATE, date_raw("", "6", "5", "1")) == ["生年月日の元号を選択してください。"]
    assert messages(DATE, date_raw("令和", "6", "五", "1")) == [
        "生年月日の月は数字で入力してください。"
    ]


def test_date_seireki_year_must_have_four_digits():
    assert messages(DATE, date_raw("西暦", "85", "1", "1")) == [
        "生年月日の年は西暦4桁で入力してください（例：1985）。"
    ]


def test_date_limits():
    # helpers.TODAY is 2024-06-15
    past = {**DATE, "max": "today"}
    assert messages(past, date_raw("令和", "6", "6", "16")) == [
        "生年月日は今日以前の日付を入力してください。"
    ]
    assert value(past, date_raw("令和", "6", "6", "15")) == "2024-06-15"
    future = {**DATE, "min": "today"}
    assert messages(future, date_raw("令和", "6", "6", "14")) == [
        "生年月日は今日以降の日付を入力してください。"
    ]
    fixed = {**DATE, "min": "2020-04-01"}
    assert messages(fixed, date_raw("西暦", "2020", "3", "31")) == [
        "生年月日は令和2年4月1日（2020年4月1日）以降の日付を入力してください。"
    ]


def test_date_without_era_input():
    field = {**DATE, "era_input": False}
    assert value(field, {"bd__year": "２０２４", "bd__month": "1", "bd__day": "2"}) == "2024-01-02"


POSTAL = {"key": "zip", "type": "postal_code", "label": "郵便番号", "required": True}


@pytest.mark.parametrize("typed", ["100-0001", "１００－０００１", "〒1000001"])
def test_postal_code(typed):
    assert value(POSTAL, {"zip": typed}) == "1000001"


def test_postal_code_refused():
    assert messages(POSTAL, {"zip": "100-001"}) == [
        "郵便番号は7桁の数字で入力してください（例：100-0001）。"
    ]
    assert messages(POSTAL, {"zip": ""}) == ["郵便番号を入力してください。"]


@pytest.mark.parametrize("typed", ["999-0001", "０００－００００", "1009999"])
def test_postal_code_that_does_not_exist_is_refused_with_the_lookups_message(typed):
    """Refused when the step is sent, not only while typing: the same message as the lookup."""
    from madoguchi.jp.postal import normalize_postal_code, unknown_postal_code_message

    code = normalize_postal_code(typed)
    expected = f"郵便番号「{code[:3]}-{code[3:]}」に該当する住所が見つかりません。郵便番号をもう一度ご確認ください。"
    assert unknown_postal_code_message(code) == expected
    assert messages(POSTAL, {"zip": typed}) == [expected]


@pytest.mark.parametrize("typed", ["100-8111", "530-8201"])
def test_postal_code_of_a_business_office_is_accepted(typed):
    """事業所の個別番号 exist too (Japan Post's business list), and are not refused."""
    assert value(POSTAL, {"zip": typed}) == typed.replace("-", "")


PHONE = {"key": "tel", "type": "phone", "label": "電話番号", "required": True}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("0312345678", "03-1234-5678"), ("０９０（１２３４）５６７８", "090-1234-5678")],
)
def test_phone_is_normalised(typed, expected):
    assert value(PHONE, {"tel": typed}) == expected


def test_phone_refused():
    assert messages(PHONE, {"tel": "12345"}) == [
        "電話番号は市外局番から、10桁または11桁の数字で入力してください（例：03-1234-5678、090-1234-5678）。"
    ]


MYNUMBER = {"key": "mn", "type": "individual_number", "label": "個人番号", "required": True}
VALID_MN = "12345678901" + str(individual_number_check_digit("12345678901"))


def test_individual_number():
    spaced = f"{VALID_MN[:4]} {VALID_MN[4:8]}－{VALID_MN[8:]}"
    assert value(MYNUMBER, {"mn": spaced}) == VALID_MN
    wrong = VALID_MN[:11] + str((int(VALID_MN[11]) + 1) % 10)
    assert messages(MYNUMBER, {"mn": wrong}) == [
        "個人番号が正しくありません。入力した番号をもう一度ご確認ください。"
    ]
    assert messages(MYNUMBER, {"mn": "1234"}) == ["個人番号は12桁の数字で入力してください。"]
    assert messages(MYNUMBER, {"mn": ""}) == ["個人番号を入力してください。"]


CORP = {"key": "cn", "type": "corporate_number", "label": "法人番号", "required": True}


def test_corporate_number():
    assert value(CORP, {"cn": "７０００－０１２０５０００２"}) == "7000012050002"
    assert messages(CORP, {"cn": "8000012050002"}) == [
        "法人番号が正しくありません。入力した番号をもう一度ご確認ください。"
    ]
    assert messages(CORP, {"cn": "123"}) == ["法人番号は13桁の数字で入力してください。"]


BANK = {"key": "bank", "type": "bank_account", "label": "振込先口座", "required": True}


def bank_raw(**parts):
    base = {
        "bank_code": "0001",
        "branch_code": "001",
        "account_type": "普通",
        "account_number": "1234567",
        "holder_kana": "やまだ たろう",
    }
    base.update(parts)
    return {f"bank__{k}": v for k, v in base.items()}


def test_bank_account_happy_path():
    assert value(BANK, bank_raw(account_number="１２３", holder_kana="ﾔﾏﾀﾞ ﾀﾛｳ")) == {
        "bank_code": "0001",
        "bank_name": "みずほ",
        "branch_code": "001",
        "branch_name": "東京営業部",
        "account_type": "普通",
        "account_number": "0000123",
        "holder_kana": "ヤマダ\u3000タロウ",
    }


def test_bank_account_company_holder_allows_parentheses():
    assert (
        value(BANK, bank_raw(holder_kana="カ）ヤマダショウジ"))["holder_kana"]
        == "カ）ヤマダショウジ"
    )


def test_bank_account_refusals():
    assert messages(BANK, {}) == ["振込先口座を入力してください。"]
    assert messages(BANK, bank_raw(bank_code="9998")) == [
        "金融機関コード「9998」に該当する金融機関が見つかりません。"
    ]
    assert messages(BANK, bank_raw(bank_code="12")) == [
        "金融機関コードは4桁の数字で入力してください。"
    ]
    assert messages(BANK, bank_raw(branch_code="999")) == [
        "みずほに支店コード「999」の支店が見つかりません。"
    ]
    assert messages(BANK, bank_raw(account_type="")) == ["振込先口座の預金種目を選択してください。"]
    assert messages(BANK, bank_raw(account_number="12345678")) == [
        "振込先口座の口座番号は7桁以内の数字で入力してください。"
    ]
    assert messages(BANK, bank_raw(holder_kana="山田")) == [
        "振込先口座の口座名義（カナ）はカタカナで入力してください（「山」「田」は使えません）。"
    ]
    assert messages(BANK, bank_raw(holder_kana="")) == [
        "振込先口座の口座名義（カナ）を入力してください。"
    ]
