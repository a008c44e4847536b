"""Keyset (cursor) paging, the one implementation for the staff inbox and the API list.

A page is "the rows after (key, pk) in the order (key, pk)": page N costs what page 1 costs
(an index range scan starting at the cursor), and rows inserted or changed between two
requests never make a row appear twice or be skipped (as long as its key does not change).

A cursor is opaque to its reader: URL-safe base64 of the JSON list `[*tags, key, pk]`. The
tags say what the cursor belongs to (the API's order, the inbox's direction and sort), so a
cursor of one order is refused by another; the key is an ISO 8601 datetime or null (a
nullable key such as a due date). Decoding never raises: a malformed or foreign cursor is
`None`, and the caller decides (the inbox opens the first page, the API answers 422).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from django.db.models import F, Q

from madoguchi.core.boundary import cursor_moment_in_range


def encode_cursor(tags: tuple, key: dt.datetime | None, pk: int) -> str:
    value = key.isoformat() if isinstance(key, dt.datetime) else None
    raw = json.dumps([*tags, value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str, tags: tuple, *, nullable: bool = False
) -> tuple[Any, dt.datetime | None, int] | None:
    """(the cursor's tags, key, pk) when its tags match `tags` (None in `tags` matches any
    value at that place), else None."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        items = json.loads(raw)
        if not isinstance(items, list) or len(items) != len(tags) + 2:
            return None
        *found, value, pk = items
        key = dt.datetime.fromisoformat(value) if value is not None else None
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    # A primary key is a positive bigint: anything else could only overflow the query.
    if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk < 2**63:
        return None
    if any(t is not None and t != f for t, f in zip(tags, found, strict=True)):
        return None
    if key is None and not nullable:
        return None
    # A forged moment (naive, or at the calendar's ends) would overflow on conversion to UTC.
    if key is not None and not cursor_moment_in_range(key):
        return None
    return tuple(found), key, pk


def ordering(field: str, *, descending: bool, nullable: bool = False) -> list:
    """ORDER BY key, pk (same direction). A nullable key has its NULLs last ascending (first
    descending), so that walking backwards is the exact reverse."""
    if nullable:
        key = F(field).desc(nulls_first=True) if descending else F(field).asc(nulls_last=True)
    else:
        key = F(field).desc() if descending else F(field).asc()
    return [key, "-pk" if descending else "pk"]


def after(
    field: str, key: dt.datetime | None, pk: int, *, descending: bool, nullable: bool = False
) -> Q:
    """Rows strictly after (key, pk) in `ordering(field, descending=...)`."""
    beyond = "lt" if descending else "gt"
    if not nullable:
        # The redundant inclusive bound lets the database start an index range scan at the
        # cursor instead of filtering every row before it (a deep page costs as a first page).
        bound = Q(**{f"{field}__{beyond}e": key})
        return bound & (Q(**{f"{field}__{beyond}": key}) | Q(**{field: key, f"pk__{beyond}": pk}))
    isnull = f"{field}__isnull"
    if not descending:  # NULLs last
        if key is None:
            return Q(**{isnull: True, "pk__gt": pk})
        return Q(**{f"{field}__gt": key}) | Q(**{field: key, "pk__gt": pk}) | Q(**{isnull: True})
    # descending: NULLs first
    if key is None:
        return Q(**{isnull: False}) | Q(**{isnull: True, "pk__lt": pk})
    return Q(**{f"{field}__lt": key}) | Q(**{field: key, "pk__lt": pk})
