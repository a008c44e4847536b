"""The grams of a name (applications.search_grams) and the database function that keeps them
(migration 0011): every substring of 1 or 2 characters is covered, nothing else is."""

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.applications.search_grams import grams, query_gram, required_grams

# Names as the search columns hold them: kanji (with one outside the BMP, 𠮷), kana,
# Latin letters, digits, marks; and anything else Unicode has.
JAPANESE = st.text(
    alphabet=st.sampled_from("山田花子美咲髙橋𠮷崎やまだはなこみさきゃーゔヤマダﾊﾅｺabcÅ1・々〆"),
    max_size=12,
)
NAMES = st.one_of(JAPANESE, st.text(max_size=12))


def test_grams_of_a_name():
    assert grams("山田花子") == {"山", "田", "花", "子", "山田", "田花", "花子"}
    assert grams("美咲", "みさき") == {"美", "咲", "美咲", "み", "さ", "き", "みさ", "さき"}
    assert grams("") == frozenset()
    assert grams("𠮷") == {"𠮷"}  # one character, outside the BMP


@given(NAMES, NAMES)
def test_every_substring_of_one_or_two_characters_is_a_gram(name, kana):
    found = grams(name, kana)
    for text in (name, kana):
        for size in (1, 2):
            for i in range(len(text) - size + 1):
                assert text[i : i + size] in found


@given(NAMES, NAMES)
def test_every_gram_is_such_a_substring(name, kana):
    for gram in grams(name, kana):
        assert 1 <= len(gram) <= 2
        assert gram in name or gram in kana


@given(NAMES, NAMES, NAMES)
def test_a_short_query_matches_exactly_when_its_gram_is_there(name, kana, query):
    gram = query_gram(query)
    if not 1 <= len(query) <= 2:
        assert gram is None
        return
    assert gram == query
    assert (gram in grams(name, kana)) == (query in name or query in kana)


def test_required_grams_of_a_query():
    assert required_grams("田") == {"田"}
    assert required_grams("美咲") == {"美咲"}
    assert required_grams("やまだ") == {"やま", "まだ"}
    assert required_grams("山田花子") == {"山田", "田花", "花子"}
    assert required_grams("") == frozenset()


@given(NAMES, NAMES, NAMES)
def test_a_name_holding_the_query_holds_its_required_grams(name, kana, query):
    """What makes the grams' condition safe to add to the LIKE: it never drops a match."""
    if query and (query in name or query in kana):
        assert required_grams(query) <= grams(name, kana)


@given(NAMES, NAMES, st.text(min_size=1, max_size=6))
def test_the_query_is_found_in_a_name_holding_its_text(name, kana, query):
    # Built so that the query is there: the property above on examples that hit.
    name = name + query + name
    assert required_grams(query) <= grams(name, kana)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the grams column is PostgreSQL's")
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=st.lists(st.tuples(NAMES, NAMES), min_size=1, max_size=20))
def test_the_database_function_gives_the_same_grams(names):
    # PostgreSQL text holds no NUL; the columns never do either.
    names = [(n.replace("\x00", ""), k.replace("\x00", "")) for n, k in names]
    with connection.cursor() as cursor:
        for name, kana in names:
            cursor.execute("SELECT madoguchi_search_grams(%s, %s)", [name, kana])
            (found,) = cursor.fetchone()
            assert len(found) == len(set(found))  # no repeats
            assert set(found) == grams(name, kana)
