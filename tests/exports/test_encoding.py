from madoguchi.exports.encoding import REPLACEMENT, to_cp932
from madoguchi.exports.writers import neutralise_formula


def test_same_jis_character_is_mapped_not_reported():
    text, missing = to_cp932("A—B〜C−D")
    assert missing == []
    text.encode("cp932")


def test_unencodable_characters_are_replaced_and_listed_once():
    text, missing = to_cp932("𠮷野𠮷😀髙")
    assert text == f"{REPLACEMENT}野{REPLACEMENT}{REPLACEMENT}髙"
    assert [(m.character, m.code) for m in missing] == [("𠮷", "U+20BB7"), ("😀", "U+1F600")]


def test_formula_neutralised_but_numbers_kept():
    assert neutralise_formula("=SUM(A1)") == "'=SUM(A1)"
    assert neutralise_formula("@cmd") == "'@cmd"
    assert neutralise_formula("-1200") == "-1200"
    assert neutralise_formula("2026-000001") == "2026-000001"
