"""The n-grams of an applicant's name that answer the inbox's 1- and 2-character searches.

A name search is a substring search (LIKE '%x%') on the two normalised columns `search_name`
and `search_kana`. PostgreSQL's trigram index cannot answer a query of one or two characters
(「田」, 「美咲」, 「さき」): it has no trigram. So every application also carries, on
PostgreSQL, the set of its names' unigrams and bigrams (`search_grams`, a text[] with a GIN
index, kept by a trigger from the two columns on every write: migration 0011). A query of one
or two characters is then one gram, `search_grams && ARRAY[...]`, exact by construction: a
string of length 1 or 2 is a substring of a name exactly when it is one of that name's grams.

A longer query (「やまだ」, 「山田花子」) is not one gram, but every name holding it holds each
of its bigrams: `required_grams` gives them, `search_grams @> ARRAY[...]` narrows the rows to
those few candidates (with the department's procedures in the same GIN index, migration 0012)
and the LIKE decides.

Pure: no Django. `grams` is the specification; the database function of migration 0011 must
give the same set (a test compares them on PostgreSQL)."""

from __future__ import annotations

__all__ = ["GRAM_SIZES", "grams", "query_gram", "required_grams"]

GRAM_SIZES = (1, 2)


def grams(*texts: str) -> frozenset[str]:
    """Every substring of length 1 and 2 of each text (code points, as PostgreSQL's substr
    counts them): 山田花子 → 山 田 花 子 山田 田花 花子."""
    found: set[str] = set()
    for text in texts:
        for size in GRAM_SIZES:
            found.update(text[i : i + size] for i in range(len(text) - size + 1))
    return frozenset(found)


def query_gram(text: str) -> str | None:
    """The gram that answers a search for `text` exactly (the text itself, when it has one
    or two characters), else None: longer queries go to the trigram index."""
    return text if 0 < len(text) <= max(GRAM_SIZES) else None


def required_grams(text: str) -> frozenset[str]:
    """Grams that every name containing `text` holds: the text itself when it has one or two
    characters (then exactly those names hold it), else its bigrams (a superset of those
    names: the LIKE stays as the exact test). Empty for an empty text."""
    gram = query_gram(text)
    if gram is not None:
        return frozenset({gram})
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))
