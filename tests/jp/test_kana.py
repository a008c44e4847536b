import pytest

from madoguchi.jp.kana import is_katakana, katakana_error, search_key, to_katakana


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("やまだ たろう", "ヤマダ　タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ　タロウ"),
        ("ｼﾞｪｰﾑｽﾞ", "ジェームズ"),
        ("か\u3099", "ガ"),  # combining voiced mark → NFC
        ("ゔぁ", "ヴァ"),
        ("ヤマダ", "ヤマダ"),
        ("山田abc", "山田abc"),
        ("", ""),
    ],
)
def test_to_katakana(text, expected):
    assert to_katakana(text) == expected


@pytest.mark.parametrize(
    "text", ["ヤマダ　タロウ", "やまだ たろう", "ｼﾞｪｰﾑｽﾞ", "ヴァージニア", "ケ", "", "ジョン・スミス"]
)
def test_katakana_ok(text):
    """Includes 「・」, which separates the parts of foreign names."""
    assert katakana_error(text) is None
    assert is_katakana(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("山田", "「山」「田」は使えません。カタカナで入力してください。"),
        ("ヤマダ1", "「1」は使えません。カタカナで入力してください。"),
        ("ヤマダ\tタロウ", "「タブ」は使えません。カタカナで入力してください。"),
        ("ヤマダ\nタロウ", "「改行」は使えません。カタカナで入力してください。"),
        ("ヤマダ-タロウ", "「-」は使えません。カタカナで入力してください。"),
        ("abcdefg", "「a」「b」「c」「d」「e」などは使えません。カタカナで入力してください。"),
        ("山山山", "「山」は使えません。カタカナで入力してください。"),
    ],
)
def test_katakana_error(text, expected):
    assert katakana_error(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ヤマダ　タロウ", "やまだたろう"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "やまだたろう"),
        ("やまだ たろう", "やまだたろう"),
        ("ＡＢＣ Def", "abcdef"),
        ("山田　太郎", "山田太郎"),
    ],
)
def test_search_key(text, expected):
    assert search_key(text) == expected


def test_search_key_matches_across_scripts():
    assert search_key("ヤマダ タロウ") == search_key("やまだたろう") == search_key("ﾔﾏﾀﾞﾀﾛｳ")
