"""What a person's name may hold: kanji inside and outside JIS X 0208, kana, Latin letters and
the marks names are written with; never emoji, pictographs or other symbols."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.jp.errors import JpValueError
from madoguchi.jp.names import check_name, name_characters_message, refused_characters

# Kanji residents really have that JIS X 0208 lacks: 𠮷 (U+20BB7), 髙 (U+9AD9), 﨑 (U+FA11,
# a compatibility ideograph), 𩸽 (U+29E3D), 𡈽 (U+2123D), 塚 (U+FA10), and an IVS-qualified 葛.
OUTSIDE_JIS_X_0208 = ["𠮷野", "髙橋", "山﨑", "𩸽", "𡈽", "塚本", "葛\U000e0100城"]
NAMES = [
    "山田",
    "佐々木",
    "ジョン・スミス",
    "ジャン＝ポール",
    "Smith-Jones",
    "O'Brien",
    "María José",
    "김민준",
    "わたなべ",
    "〆木",
    "ヶ谷",
    *OUTSIDE_JIS_X_0208,
]


@pytest.mark.parametrize("name", NAMES)
def test_real_names_are_allowed(name):
    assert name_characters_message(name) is None
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name, message",
    [
        ("山田😀", "使えない文字が含まれています（「😀」は使えません）。"),
        ("★花子♡", "使えない文字が含まれています（「★」「♡」は使えません）。"),
        # An emoji sequence is named whole, as the resident sees it.
        ("家族👨‍👩‍👧", "使えない文字が含まれています（「👨‍👩‍👧」は使えません）。"),
        ("太郎👍🏽", "使えない文字が含まれています（「👍🏽」は使えません）。"),
        ("🇯🇵太郎", "使えない文字が含まれています（「🇯🇵」は使えません）。"),
        ("1️⃣郎", "使えない文字が含まれています（「1️⃣」は使えません）。"),
        ("㊙子", "使えない文字が含まれています（「㊙」は使えません）。"),
        ("山田\u200b", "使えない文字が含まれています（「見えない制御文字」は使えません）。"),
        ("花子\ue000", "使えない文字が含まれています（「\ue000」は使えません）。"),
        ("©®™€$%", "使えない文字が含まれています（「©」「®」「™」「€」「$」などは使えません）。"),
        ("😀😀花😀", "使えない文字が含まれています（「😀」は使えません）。"),
    ],
)
def test_symbols_are_refused_with_the_characters_named(name, message):
    assert name_characters_message(name) == message
    with pytest.raises(JpValueError) as caught:
        check_name(name)
    assert (caught.value.message, caught.value.code) == (message, "characters")


# Every CJK ideograph block: the URO and extension A in the BMP, the compatibility
# ideographs, and extensions B-F in plane 2 (𠮷 and 𩸽 are there).
IDEOGRAPHS = st.one_of(
    st.integers(0x4E00, 0x9FFF),
    st.integers(0x3400, 0x4DBF),
    st.integers(0xF900, 0xFAD9),
    st.integers(0x20000, 0x2EBE0),
).map(chr)
# (the compatibility block has unassigned gaps, e.g. U+FA6E: no character, nothing to allow)
IDEOGRAPHS = IDEOGRAPHS.filter(lambda c: ord(c) >= 0x20000 or unicodedata.category(c) != "Cn")
KANA = st.characters(min_codepoint=0x3041, max_codepoint=0x30FF, exclude_categories=["Cn"])


@given(st.text(st.one_of(IDEOGRAPHS, KANA), min_size=1, max_size=20))
def test_any_kanji_and_kana_are_allowed(name):
    assert refused_characters(name) == []


# Symbols and pictographs: Unicode's "Symbol, other" (絵文字, ★, ㊙, ©) and "Symbol, math".
SYMBOLS = st.characters(categories=["So", "Sm", "Sc", "Co"]).filter(
    lambda c: c not in "=＝゠"  # noqa: RUF001 - the equals signs of ジャン＝ポール are allowed
)


@given(
    st.text(st.one_of(IDEOGRAPHS, KANA), max_size=5),
    SYMBOLS,
    st.text(st.one_of(IDEOGRAPHS, KANA), max_size=5),
)
def test_a_symbol_anywhere_is_refused_and_named(before, symbol, after):
    message = name_characters_message(before + symbol + after)
    assert message is not None
    assert f"「{symbol}" in message
    assert unicodedata.category(symbol) in ("So", "Sm", "Sc", "Co")
