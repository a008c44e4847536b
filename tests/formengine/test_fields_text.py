"""text, textarea, address, katakana, email, name."""

import pytest

from .helpers import messages, value

TEXT = {"key": "note", "type": "text", "label": "備考", "required": True}


def test_required_text():
    assert messages(TEXT, {"note": " \u3000 "}) == ["備考を入力してください。"]


def test_optional_empty_text_is_not_stored():
    assert value({**TEXT, "required": False}, {"note": ""}) is None


def test_text_is_trimmed_and_single_line():
    assert value(TEXT, {"note": "\u3000山田\r\n太郎 "}) == "山田 太郎"


def test_text_max_length_counts_characters():
    field = {**TEXT, "max_length": 5}
    assert messages(field, {"note": "あいうえおか"}) == [
        "備考は5文字以内で入力してください（現在6文字）。"
    ]
    assert value(field, {"note": "あいうえお"}) == "あいうえお"


def test_text_default_max_length_is_200():
    assert messages(TEXT, {"note": "x" * 201}) == [
        "備考は200文字以内で入力してください（現在201文字）。"
    ]


def test_text_pattern():
    field = {
        **TEXT,
        "pattern": r"[A-Z]\d{3}",
        "pattern_message": "記号は英大文字1字と数字3桁です。",
    }
    assert messages(field, {"note": "a123"}) == ["記号は英大文字1字と数字3桁です。"]
    assert value(field, {"note": "A123"}) == "A123"
    default = {**TEXT, "pattern": r"\d+"}
    assert messages(default, {"note": "x"}) == ["備考の形式が正しくありません。"]


def test_textarea_keeps_lines_and_default_limit():
    field = {"key": "memo", "type": "textarea", "label": "内容"}
    assert value(field, {"memo": "一行目\r\n二行目  \r\n"}) == "一行目\n二行目"
    assert messages(field, {"memo": "あ" * 2001}) == [
        "内容は2000文字以内で入力してください（現在2001文字）。"
    ]


def test_address():
    field = {"key": "addr", "type": "address", "label": "住所", "required": True}
    assert messages(field, {"addr": ""}) == ["住所を入力してください。"]
    assert value(field, {"addr": "東京都千代田区千代田1-1"}) == "東京都千代田区千代田1-1"


KANA = {"key": "kana", "type": "katakana", "label": "フリガナ", "required": True}


def test_katakana_converts_hiragana_and_half_width():
    assert value(KANA, {"kana": "やまだ ﾀﾛｳ"}) == "ヤマダ\u3000タロウ"


def test_katakana_refuses_other_characters():
    assert messages(KANA, {"kana": "山田たろう"}) == [
        "フリガナはカタカナで入力してください（「山」「田」は使えません）。"
    ]


def test_katakana_required():
    assert messages(KANA, {}) == ["フリガナを入力してください。"]


EMAIL = {"key": "email", "type": "email", "label": "メールアドレス", "required": True}


def test_email_format():
    for bad in (
        "taro",
        "taro@",
        "taro@example",
        "taro@@example.jp",
        "ta ro@example.jp",
        "a..b@x.jp",
    ):
        assert messages(EMAIL, {"email": bad}) == [
            "メールアドレスの形式が正しくありません（例：taro@example.jp）。"
        ], bad


def test_email_accepts_full_width_and_lowercases_domain():
    assert value(EMAIL, {"email": "ｔａｒｏ＠Example.JP"}) == "taro@example.jp"


def test_email_confirmation():
    field = {**EMAIL, "confirm": True}
    assert messages(field, {"email": "taro@example.jp", "email__confirm": "hanako@example.jp"}) == [
        "確認用のメールアドレスが一致しません。同じメールアドレスを2回入力してください。"
    ]
    assert messages(field, {"email": "taro@example.jp"}) == [
        "確認のため、メールアドレスをもう一度入力してください。"
    ]
    assert value(field, {"email": "taro@example.jp", "email__confirm": "taro@EXAMPLE.jp"}) == (
        "taro@example.jp"
    )


def test_email_confirmation_error_points_at_the_confirmation_input():
    from madoguchi.formengine.validation import validate_step

    from .helpers import form_of

    form = form_of({**EMAIL, "confirm": True})
    result = validate_step(form, "s", {"email": "a@b.jp", "email__confirm": "c@d.jp"}, {}, {}, None)
    assert result.errors[0].input_id == "f-email__confirm"


NAME = {"key": "applicant", "type": "name", "label": "氏名", "required": True}


def test_name_with_kana():
    raw = {
        "applicant__family": " 山田 ",
        "applicant__given": "太郎",
        "applicant__family_kana": "やまだ",
        "applicant__given_kana": "ﾀﾛｳ",
    }
    assert value(NAME, raw) == {
        "family": "山田",
        "given": "太郎",
        "family_kana": "ヤマダ",
        "given_kana": "タロウ",
    }


def test_name_required_gives_one_message():
    assert messages(NAME, {}) == ["氏名を入力してください。"]


def test_name_missing_parts_and_bad_kana():
    raw = {"applicant__family": "山田", "applicant__family_kana": "Yamada"}
    assert messages(NAME, raw) == [
        "氏名の名を入力してください。",
        "氏名のフリガナ（セイ）はカタカナで入力してください（「Y」「a」「m」「d」は使えません）。",
        "氏名のフリガナ（メイ）を入力してください。",
    ]


def test_name_without_kana():
    field = {**NAME, "kana": False}
    assert value(field, {"applicant__family": "山田", "applicant__given": "太郎"}) == {
        "family": "山田",
        "given": "太郎",
    }


def test_name_part_length():
    raw = {"applicant__family": "山" * 51, "applicant__given": "太郎"}
    assert messages({**NAME, "kana": False}, raw) == [
        "氏名の姓は50文字以内で入力してください（現在51文字）。"
    ]


def name_errors(field, raw):
    from madoguchi.formengine.validation import validate_step

    from .helpers import TODAY, form_of

    result = validate_step(form_of(field), "s", raw, {}, today=TODAY)
    return [(e.message, e.rule) for e in result.errors]


@pytest.mark.parametrize("family, given", [("𠮷野", "𩸽子"), ("髙橋", "﨑"), ("山﨑", "髙")])
def test_name_keeps_kanji_outside_jis_x_0208(family, given):
    raw = {
        "applicant__family": family,
        "applicant__given": given,
        "applicant__family_kana": "ヨシノ",
        "applicant__given_kana": "ホッケ",
    }
    assert value(NAME, raw)["family"] == family
    assert value(NAME, raw)["given"] == given


def test_name_refuses_emoji_and_symbols_naming_them():
    raw = {
        "applicant__family": "山田😀",
        "applicant__given": "★花子♡",
        "applicant__family_kana": "ヤマダ",
        "applicant__given_kana": "ハナコ🌸",
    }
    assert name_errors(NAME, raw) == [
        ("氏名の姓に使えない文字が含まれています（「😀」は使えません）。", "characters"),
        ("氏名の名に使えない文字が含まれています（「★」「♡」は使えません）。", "characters"),
        (
            "氏名のフリガナ（メイ）はカタカナで入力してください（「🌸」は使えません）。",
            "kana",
        ),
    ]


def test_name_in_a_repeat_names_the_item():
    field = {
        "key": "children",
        "type": "repeat",
        "label": "児童",
        "item_label": "児童",
        "fields": [{"key": "child", "type": "name", "label": "氏名", "kana": False}],
    }
    raw = {
        "children__count": "2",
        "children__0__child__family": "山田",
        "children__0__child__given": "一郎",
        "children__1__child__family": "山田",
        "children__1__child__given": "👶",
    }
    errors = name_errors(field, raw)
    assert [rule for _, rule in errors] == ["characters"]
    assert "「👶」は使えません" in errors[0][0]


@pytest.mark.parametrize("token", ["name", "family-name", "given-name"])
def test_text_field_holding_a_persons_name_refuses_emoji(token):
    field = {"key": "doctor", "type": "text", "label": "主治医の氏名", "autocomplete": token}
    assert name_errors(field, {"doctor": "髙橋🩺"}) == [
        ("主治医の氏名に使えない文字が含まれています（「🩺」は使えません）。", "characters")
    ]
    assert value(field, {"doctor": "𠮷田 太郎"}) == "𠮷田 太郎"


def test_text_field_that_is_not_a_name_keeps_symbols():
    field = {"key": "note", "type": "text", "label": "備考"}
    assert value(field, {"note": "★よろしく😀"}) == "★よろしく😀"


def test_kana_names_an_emoji_sequence_whole():
    field = {"key": "ka", "type": "katakana", "label": "フリガナ"}
    assert messages(field, {"ka": "ヤマダ👨‍👩‍👧"}) == [
        "フリガナはカタカナで入力してください（「👨‍👩‍👧」は使えません）。"
    ]


DOCTOR = {"key": "doctor", "type": "text", "label": "主治医の氏名", "person_name": True}


def test_person_name_flag_refuses_emoji_with_the_applicant_name_message():
    assert name_errors(DOCTOR, {"doctor": "山田😀"}) == [
        ("主治医の氏名に使えない文字が含まれています（「😀」は使えません）。", "characters")
    ]
    assert name_errors(DOCTOR, {"doctor": "★佐藤♡"}) == [
        ("主治医の氏名に使えない文字が含まれています（「★」「♡」は使えません）。", "characters")
    ]


@pytest.mark.parametrize("name", ["𠮷野", "髙橋 一郎", "山﨑", "ジョン・スミス", "O'Brien"])
def test_person_name_flag_keeps_kanji_outside_jis_x_0208(name):
    assert value(DOCTOR, {"doctor": name}) == name


def test_text_field_without_the_flag_accepts_what_it_accepted_before():
    for flag in ({}, {"person_name": False}):
        field = {"key": "owner", "type": "text", "label": "所有者の氏名または名称", **flag}
        for text in ("㈱山田＆サンズ", "★よろしく😀", "𠮷野"):
            assert value(field, {"owner": text}) == text


def test_person_name_flag_is_checked_before_the_pattern():
    field = {**DOCTOR, "pattern": ".{1,3}", "pattern_message": "3文字以内です。"}
    assert messages(field, {"doctor": "山😀"}) == [
        "主治医の氏名に使えない文字が含まれています（「😀」は使えません）。"
    ]
