"""The input boundary: what the database cannot hold never gets past the request.

PostgreSQL text and jsonb cannot hold NUL (U+0000), and no UTF-8 text can hold a lone
surrogate (U+D800–U+DFFF, reachable through JSON's \\ud800 escapes). Such characters are
never part of what a person meant to type, so:

- form data and query strings (residents' steps, staff notes and searches, login): the
  characters are stripped here, once, by `InputBoundaryMiddleware`, before any view, form or
  field sees them; a request path holding them is refused with 400;
- JSON bodies (the API): refused with 400 by `StrictJSONParser`, since a machine client
  should learn that it sent something wrong;
- integers taken from the URL (`<int:pk>`) and from filters must fit the database's 64-bit
  integer (`fits_bigint`, `parse_db_int`), else the URL is a 404 and the filter an error;
- dates taken from filters must lie in `FILTER_DATE_MIN`..`FILTER_DATE_MAX`, so that a day
  added or a time zone applied never leaves Python's or the database's calendar
  (`parse_filter_date`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.core.exceptions import BadRequest
from django.http import Http404, QueryDict
from django.utils.datastructures import MultiValueDict

# NUL and the surrogate code points: nothing a person types, nothing PostgreSQL stores.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1

# The dates a filter may name: wide enough for any real question, narrow enough that a day
# more or a time zone applied stays inside every calendar involved.
FILTER_DATE_MIN = dt.date(1900, 1, 1)
FILTER_DATE_MAX = dt.date(2999, 12, 31)


def has_unstorable(value: str) -> bool:
    return UNSTORABLE.search(value) is not None


def strip_unstorable(value: str) -> str:
    return UNSTORABLE.sub("", value)


def fits_bigint(number: int) -> bool:
    return BIGINT_MIN <= number <= BIGINT_MAX


def parse_db_int(value, *, minimum: int | None = None) -> int | None:
    """An integer the database can compare with, or None (not a number, or out of range)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    if not fits_bigint(number) or (minimum is not None and number < minimum):
        return None
    return number


class FilterDateError(ValueError):
    """A date that is well formed but outside FILTER_DATE_MIN..FILTER_DATE_MAX."""


def parse_filter_date(value) -> dt.date | None:
    """A date typed into a filter (2026-04-01, ２０２６/４/１), or None when empty or malformed.
    Raises FilterDateError for a well-formed date outside the range a filter may name."""
    value = unicodedata.normalize("NFKC", value or "").strip().replace("/", "-")
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    if not FILTER_DATE_MIN <= day <= FILTER_DATE_MAX:
        raise FilterDateError(value)
    return day


def cursor_moment_in_range(moment: dt.datetime) -> bool:
    """A moment read back from a pagination cursor is usable: time-zone aware and within the
    filter range (a forged one could otherwise overflow on conversion to UTC)."""
    return (
        moment.tzinfo is not None
        and moment.utcoffset() is not None
        and FILTER_DATE_MIN.year <= moment.year <= FILTER_DATE_MAX.year
    )


def _clean_querydict(data: QueryDict) -> QueryDict | None:
    """A cleaned copy of `data`, or None when nothing needed cleaning."""
    if not any(
        has_unstorable(key) or any(has_unstorable(v) for v in values if isinstance(v, str))
        for key, values in data.lists()
    ):
        return None
    cleaned = QueryDict(mutable=True, encoding=data.encoding)
    for key, values in data.lists():
        cleaned.setlist(
            strip_unstorable(key),
            [strip_unstorable(v) if isinstance(v, str) else v for v in values],
        )
    cleaned._mutable = False
    return cleaned


def _clean_files(files: MultiValueDict) -> None:
    for uploads in files.lists():
        for upload in uploads[1]:
            if upload.name and has_unstorable(upload.name):
                upload.name = strip_unstorable(upload.name) or "file"


class InputBoundaryMiddleware:
    """Strips what the database cannot hold from query strings, form data, uploaded file
    names and cookies; refuses a path that holds it; 404s an `<int:...>` URL argument the
    database's integers cannot hold."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_unstorable(request.path_info):
            raise BadRequest("unstorable character in the path")
        cleaned = _clean_querydict(request.GET)
        if cleaned is not None:
            request.GET = cleaned
        for name in [name for name, value in request.COOKIES.items() if has_unstorable(value)]:
            del request.COOKIES[name]
        if request.method == "POST" and request.content_type in {
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        }:
            # Parsing here rather than in the view is what Django does for CSRF anyway; a
            # malformed or too large body raises the 400 Django gives for it.
            cleaned = _clean_querydict(request.POST)
            if cleaned is not None:
                request.POST = cleaned
            _clean_files(request.FILES)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        for value in list(view_args) + list(view_kwargs.values()):
            if isinstance(value, int) and not fits_bigint(value):
                raise Http404("identifier out of range")
        return None
