"""異体字 and comparison keys (madoguchi.jp.itaiji)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.jp.itaiji import (
    ITAIJI,
    address_key,
    differs_only_by_variants,
    name_key,
    normalize_itaiji,
)


@pytest.mark.parametrize(
    ("variant", "standard"),
    [
        ("髙橋", "高橋"),
        ("山﨑", "山崎"),
        ("渡邊", "渡辺"),
        ("渡邉", "渡辺"),
        ("齋藤", "斎藤"),
        ("齊藤", "斎藤"),
        ("濱田", "浜田"),
        ("澤井", "沢井"),
        ("櫻井", "桜井"),
        ("廣瀬", "広瀬"),
        ("國分", "国分"),
        ("實", "実"),
        ("𠮷田", "吉田"),
        ("德川", "徳川"),
        ("瀨戸", "瀬戸"),
    ],
)
def test_common_variants_map_to_the_standard_form(variant, standard):
    assert normalize_itaiji(variant) == standard
    assert name_key(variant) == name_key(standard)


def test_the_table_is_applied_once_values_are_never_keys():
    assert not set(ITAIJI.values()) & set(ITAIJI)
    assert all(len(k) == 1 and len(v) == 1 for k, v in ITAIJI.items())


def test_variation_selectors_are_removed():
    assert normalize_itaiji("葛\U000e0100城") == "葛城"
    assert name_key("辻\U000e0101") == name_key("辻")


def test_name_key_folds_width_spaces_and_kana():
    assert name_key("山田　花子") == name_key("山田 花子") == name_key("山田花子")
    assert name_key("ﾔﾏﾀﾞ ﾊﾅｺ") == name_key("やまだ　はなこ") == name_key("ヤマダハナコ")
    assert name_key("ＳＭＩＴＨ　Ｊｏｈｎ") == "smithjohn"


def test_address_key_folds_numbers_blocks_and_ga():
    written = "東京都千代田区千代田一丁目１番１号"
    assert address_key(written) == "東京都千代田区千代田1-1-1"
    assert address_key("東京都千代田区千代田1-1-1") == address_key(written)
    assert address_key("千代田1丁目1番地の1") == "千代田1-1-1"
    assert address_key("霞ヶ関3丁目2番1号") == address_key("霞が関三丁目2-1")
    assert address_key("二十三丁目4番5号") == "23-4-5"
    # A building after the number keeps the shorter address a prefix of the longer one.
    long = address_key("東京都千代田区千代田1丁目1番1号　メゾン千代田101")
    assert long == "東京都千代田区千代田1-1-1メゾン千代田101"
    assert long.startswith(address_key(written))
    # 「ー」 only counts as a dash between digits.
    assert address_key("センター1ー2") == "センター1-2"
    assert address_key("番場町12番地") == "番場町12"


def test_differs_only_by_variants():
    assert differs_only_by_variants("髙橋", "高橋")
    assert not differs_only_by_variants("高橋", "高橋")
    assert not differs_only_by_variants("高橋", "高田")


TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list(ITAIJI) + list("一二十丁目番地号のヶケー－ 　ｱｶﾞ０１２")),
    ),
    max_size=40,
)


@given(TEXT)
def test_normalisation_is_idempotent(text):
    assert normalize_itaiji(normalize_itaiji(text)) == normalize_itaiji(text)
    assert name_key(name_key(text)) == name_key(text)
    assert address_key(address_key(text)) == address_key(text)
