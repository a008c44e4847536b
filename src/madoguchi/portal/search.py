"""Keyword search over a municipality's procedures (pure: no Django, no database).

Catalogs are small (tens to a few hundred procedures), so matching is done in Python over the
open procedures. Both sides are normalised with `madoguchi.jp.kana.search_key` (NFKC,
katakana → hiragana, lower case, no spaces), so 「児童手当」「じどうてあて」「ジドウテアテ」 and
half-width 「ｼﾞﾄﾞｳﾃｱﾃ」 all find 児童手当. Several words separated by spaces must all match.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

from madoguchi.jp.kana import search_key


class Searchable(Protocol):
    name: str
    reading: str
    keywords: str


T = TypeVar("T", bound=Searchable)

_SPLIT = re.compile(r"[\s\u3000,、，]+")


def query_terms(query: str) -> list[str]:
    """The normalised, non-empty search terms of a query (duplicates removed, order kept)."""
    terms: list[str] = []
    for part in _SPLIT.split(query or ""):
        key = search_key(part)
        if key and key not in terms:
            terms.append(key)
    return terms


def _haystacks(item: Searchable) -> tuple[str, str, str]:
    return (
        search_key(item.name or ""),
        search_key(item.reading or ""),
        search_key(item.keywords or ""),
    )


def score(item: Searchable, terms: Sequence[str]) -> int | None:
    """None when a term does not match; otherwise a rank (lower is better): a name match
    counts before a reading match, which counts before a keyword match."""
    if not terms:
        return 0
    name, reading, keywords = _haystacks(item)
    total = 0
    for term in terms:
        if term in name:
            total += 0 if name.startswith(term) else 1
        elif term in reading:
            total += 2 if reading.startswith(term) else 3
        elif term in keywords:
            total += 4
        else:
            return None
    return total


def search(
    items: Iterable[T],
    query: str,
    *,
    sort_key: Callable[[T], object] | None = None,
) -> list[T]:
    """Items matching every term of `query`, best matches first (stable: ties keep the
    given order, or `sort_key` order). An empty query returns every item."""
    terms = query_terms(query)
    ranked: list[tuple[int, int, T]] = []
    for position, item in enumerate(items):
        rank = score(item, terms)
        if rank is not None:
            ranked.append((rank, position, item))
    if sort_key is not None:
        ranked.sort(key=lambda entry: (entry[0], sort_key(entry[2])))
    else:
        ranked.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _rank, _position, item in ranked]
