"""The pure keyword search (portal/search.py)."""

from dataclasses import dataclass

import pytest

from madoguchi.portal.search import query_terms, search


@dataclass
class P:
    name: str
    reading: str
    keywords: str = ""


JIDOU_NINTEI = P(
    "児童手当等の受給資格及び児童手当の額についての認定請求",
    "じどうてあてとうのじゅきゅうしかくおよびじどうてあてのがくについてのにんていせいきゅう",
    "出生 転入",
)
JIDOU_GENKYO = P("児童手当 現況届", "じどうてあてげんきょうとどけ", "")
SUIDO = P("水道使用開始届", "すいどうしようかいしとどけ", "引越し 転入")
HOIKU = P("保育所等の利用申込", "ほいくしょとうのりようもうしこみ", "保育園 こども園")
ALL = [HOIKU, JIDOU_GENKYO, JIDOU_NINTEI, SUIDO]


@pytest.mark.parametrize(
    "query", ["児童手当", "じどうてあて", "ジドウテアテ", "ｼﾞﾄﾞｳﾃｱﾃ", " じどう　てあて "]
)
def test_kanji_hiragana_katakana_find_jidou_teate(query):
    found = search(ALL, query)
    assert JIDOU_NINTEI in found
    assert JIDOU_GENKYO in found
    assert SUIDO not in found
    assert HOIKU not in found


def test_hiragana_finds_by_reading():
    assert search(ALL, "すいどう") == [SUIDO]
    assert search(ALL, "スイドウ") == [SUIDO]


def test_keywords_are_searched():
    assert search(ALL, "保育園") == [HOIKU]
    assert set(map(id, search(ALL, "転入"))) == {id(JIDOU_NINTEI), id(SUIDO)}


def test_every_word_must_match():
    assert search(ALL, "児童手当 現況") == [JIDOU_GENKYO]
    assert search(ALL, "児童手当 水道") == []


def test_name_matches_rank_before_keyword_matches():
    assert search(ALL, "引越し") == [SUIDO]
    ranked = search([SUIDO, JIDOU_GENKYO], "てあて")
    assert ranked == [JIDOU_GENKYO]


def test_empty_query_returns_everything_in_order():
    assert search(ALL, "") == ALL
    assert search(ALL, "   ") == ALL


def test_query_terms_normalised_and_deduplicated():
    assert query_terms("ジドウ　じどう、ＡＢＣ") == ["じどう", "abc"]
    assert query_terms("") == []


def test_no_match():
    assert search(ALL, "ぺっと") == []
