"""PostgreSQL arrays in text format, escaped with `bytes.replace` instead of a regex.

Django 5.2's `bulk_create` on PostgreSQL sends each column as one array
(``INSERT … SELECT * FROM UNNEST(%s::jsonb[], …)``), which psycopg dumps in text format,
escaping every double quote and backslash of every element with ``re.sub(rb"\\\\\\1")``: on
Python 3.11 the replacement template is expanded in Python once per match, so a JSON value
with a hundred quotes costs a hundred Python calls (a third of the SQL time of the
マイナポータル intake, bench/mynaportal_bench.py). `install(connection)` registers, on one
psycopg connection, a list dumper that writes the very same bytes with two
`bytes.replace` calls per element (tests/core/test_pgarrays.py compares both).
"""

from __future__ import annotations

import re
from functools import cache

from psycopg.adapt import PyFormat
from psycopg.types.array import ListDumper

_MARK = "_madoguchi_fast_arrays"


@cache
def _needs_quotes(delimiter: bytes):
    # When the array output routine quotes an element (PostgreSQL's "Array Value Input"):
    # empty, braces, the delimiter, quotes, backslashes, white space, the word NULL; and the
    # Unicode spaces PostgreSQL keeps (psycopg quotes them too).
    return re.compile(
        rb"""(?xi)
          ^$
        | ["{}%s\\\s]
        | ^null$
        | \xe1\x9a\x80
        | \xe2\x80[\x80-\x8a\xa8\xa9\xaf]
        | \xe2\x81\x9f
        | \xe3\x80\x80
        """
        % re.escape(delimiter)
    ).search


class FastListDumper(ListDumper):
    """psycopg's text-format list dumper with the element escaping done by bytes.replace."""

    def dump(self, obj: list) -> bytes:
        if obj and self.delimiter == b"," and not any(i is None or type(i) is list for i in obj):
            flat = self._dump_flat(obj)
            if flat is not None:
                return flat
        tokens: list = []
        self._tokens(obj, tokens, _needs_quotes(self.delimiter))
        return b"".join(tokens)

    def _dump_flat(self, obj: list) -> bytes | None:
        """A one-level array without NULLs (every column of a bulk insert but the nullable
        ones): every element quoted, so no element needs looking at, and escaped in three
        passes over the whole array rather than per element. The array means the same as
        psycopg's (quotes are allowed around any element of any type). NUL, which
        PostgreSQL's text never holds, separates the elements while they are escaped; None
        (element by element, as psycopg) when an element holds one or dumps as NULL."""
        sub = self.sub_dumper
        dump = sub.dump if sub is not None else self._dump_text
        dumped = [dump(item) for item in obj]
        if any(d is None for d in dumped):
            return None
        joined = b"\x00".join(map(bytes, dumped))
        if joined.count(b"\x00") != len(obj) - 1:
            return None
        if b"\\" in joined:
            joined = joined.replace(b"\\", b"\\\\")
        if b'"' in joined:
            joined = joined.replace(b'"', b'\\"')
        return b'{"' + joined.replace(b"\x00", b'","') + b'"}'

    def _tokens(self, obj: list, tokens: list, needs_quotes) -> None:
        if not obj:
            tokens.append(b"{}")
            return
        sub = self.sub_dumper
        dump = sub.dump if sub is not None else self._dump_text
        delimiter = self.delimiter
        tokens.append(b"{")
        for item in obj:
            if item is None:
                tokens.append(b"NULL")
            elif isinstance(item, list):
                self._tokens(item, tokens, needs_quotes)
            else:
                dumped = dump(item)
                if dumped is None:
                    tokens.append(b"NULL")
                else:
                    dumped = bytes(dumped)
                    if needs_quotes(dumped):
                        if b"\\" in dumped:
                            dumped = dumped.replace(b"\\", b"\\\\")
                        if b'"' in dumped:
                            dumped = dumped.replace(b'"', b'\\"')
                        dumped = b'"' + dumped + b'"'
                    tokens.append(dumped)
            tokens.append(delimiter)
        tokens[-1] = b"}"

    def _dump_text(self, item):
        return self._tx.get_dumper(item, PyFormat.TEXT).dump(item)


def install(connection) -> None:
    """Dump lists with `FastListDumper` on this Django connection (PostgreSQL only; once
    per database connection; a no-op elsewhere)."""
    if connection.vendor != "postgresql":
        return
    connection.ensure_connection()
    raw = connection.connection
    if getattr(raw, _MARK, False):
        return
    raw.adapters.register_dumper(list, FastListDumper)
    setattr(raw, _MARK, True)
