"""core.pgarrays writes arrays PostgreSQL reads as it reads psycopg's own text-format list
dumper's: the same bytes for arrays with NULLs or nested arrays (escaped element by
element), every element quoted for the others."""

import datetime
import decimal
import json

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.adapt import PyFormat
from psycopg.types.array import ListDumper
from psycopg.types.json import Jsonb

from madoguchi.core import pgarrays

pytestmark = pytest.mark.django_db

VALUES = [
    ["plain", "with space", 'quote " and \\ backslash', "", "NULL", "null", None, "{braces}"],
    ["a,b", "全角　スペース", "\u2003em", "\t\n", "末尾\\"],
    [Jsonb({"名前": '山田 "花子"', "path": "C:\\x", "list": [1, None, "x"]}), Jsonb([]), None],
    [1, 2, None, 3],
    [decimal.Decimal("1.50"), None],
    [datetime.datetime(2026, 4, 1, 9, 30, tzinfo=datetime.UTC), None],
    [datetime.date(2026, 4, 1)],
    [True, False, None],
    [["nested", "a b"], ['c"d', None]],
    [],
    [None, None],
]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg dumpers")
@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_same_array_as_psycopg(value):
    connection.ensure_connection()
    raw = connection.connection
    from psycopg.adapt import Transformer

    ours = Transformer(raw)
    theirs = Transformer(raw)
    plain = ListDumper(list, theirs).upgrade(value, PyFormat.TEXT)
    fast = pgarrays.FastListDumper(list, ours).upgrade(value, PyFormat.TEXT)
    assert type(fast) is pgarrays.FastListDumper
    assert fast.oid == plain.oid
    ours_bytes, theirs_bytes = bytes(fast.dump(value)), bytes(plain.dump(value))
    flat = value and not any(v is None or isinstance(v, list) for v in value)
    if flat:
        assert ours_bytes.startswith(b'{"') and ours_bytes.endswith(b'"}')
    else:
        assert ours_bytes == theirs_bytes
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::regtype::text", [fast.oid or 1009])  # unknown: text[]
        array_type = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT %s::text::{array_type} IS NOT DISTINCT FROM %s::text::{array_type}, "
            f"%s::text::{array_type}::text",
            [ours_bytes.decode(), theirs_bytes.decode(), ours_bytes.decode()],
        )
        same, _text = cursor.fetchone()
    assert same, (ours_bytes, theirs_bytes)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg dumpers")
def test_an_element_holding_nul_is_escaped_element_by_element():
    """NUL separates the elements while a flat array is escaped. psycopg's text dumper
    refuses it and JSON escapes it, but a dumper that let one through would have its array
    escaped element by element, never split."""
    connection.ensure_connection()
    from psycopg.adapt import Transformer

    fast = pgarrays.FastListDumper(list, Transformer(connection.connection))
    fast._dump_text = lambda item: item  # the elements as some dumper gave them
    assert fast._dump_flat([b"a\x00b", b"c"]) is None
    assert fast._dump_flat([b"a", b'c"d\\']) == b'{"a","c\\"d\\\\"}'


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg dumpers")
def test_installed_arrays_round_trip():
    pgarrays.install(connection)
    pgarrays.install(connection)  # once per connection
    texts = ['a "b" \\ c', "", "NULL", None, "全角　スペース", "{x,y}"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT (%s)::text[]", [texts])
        assert cursor.fetchone()[0] == texts
        docs = [Jsonb({"k": 'v "q" \\'}), None]
        cursor.execute("SELECT (%s)::jsonb[]", [docs])
        got = cursor.fetchone()[0]  # Django reads jsonb as text
        assert [json.loads(v) if isinstance(v, str) else v for v in got] == [
            {"k": 'v "q" \\'},
            None,
        ]


def test_install_elsewhere_is_a_no_op():
    pgarrays.install(connection)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg dumpers")
@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_array_reads_back_as_sent(texts):
    pgarrays.install(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT (%s)::text[]", [texts])
        assert cursor.fetchone()[0] == texts
