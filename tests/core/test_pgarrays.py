"""core.pgarrays writes the same bytes as psycopg's own text-format list dumper."""

import datetime
import decimal
import json

import pytest
from django.db import connection
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
def test_same_bytes_as_psycopg(value):
    connection.ensure_connection()
    raw = connection.connection
    from psycopg.adapt import Transformer

    ours = Transformer(raw)
    theirs = Transformer(raw)
    plain = ListDumper(list, theirs).upgrade(value, PyFormat.TEXT)
    fast = pgarrays.FastListDumper(list, ours).upgrade(value, PyFormat.TEXT)
    assert type(fast) is pgarrays.FastListDumper
    assert fast.oid == plain.oid
    assert bytes(fast.dump(value)) == bytes(plain.dump(value))


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
