"""The one keyset-paging helper (inbox and API list): cursors and the 'after' condition."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core import keyset

UTC = dt.UTC
MOMENT = dt.datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


def test_cursor_round_trip_and_tags():
    cursor = keyset.encode_cursor(("n", "received_desc"), MOMENT, 42)
    assert keyset.decode_cursor(cursor, (None, "received_desc")) == (
        ("n", "received_desc"),
        MOMENT,
        42,
    )
    assert keyset.decode_cursor(cursor, (None, "updated")) is None  # another order
    assert keyset.decode_cursor(cursor, ("received",)) is None  # another shape


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "bm90IGpzb24", keyset.encode_cursor(("received",), None, 1)],
)
def test_malformed_or_null_key_cursors_are_none(cursor):
    assert keyset.decode_cursor(cursor, ("received",)) is None


@pytest.mark.parametrize("pk", [0, -1, 2**63, True])
def test_out_of_range_keys_are_refused(pk):
    cursor = keyset.encode_cursor(("received",), MOMENT, pk)
    assert keyset.decode_cursor(cursor, ("received",)) is None


def test_a_nullable_key_may_be_null():
    cursor = keyset.encode_cursor(("n", "due"), None, 7)
    assert keyset.decode_cursor(cursor, (None, "due"), nullable=True) == (("n", "due"), None, 7)


def _sort_key(row, descending):
    moment, pk = row
    if moment is None:  # NULLs last ascending, first descending
        return (1, 0, pk) if not descending else (0, 0, -pk)
    stamp = moment.timestamp()
    return (0, stamp, pk) if not descending else (1, -stamp, -pk)


def _matches(q, row) -> bool:
    """Evaluate the Q of `keyset.after` on one (key, pk) row in Python."""
    moment, pk = row
    if q.connector not in ("AND", "OR"):
        raise AssertionError(q.connector)
    results = []
    for child in q.children:
        if hasattr(child, "children"):
            results.append(_matches(child, row))
            continue
        name, value = child
        field, _, op = name.partition("__")
        actual = pk if field == "pk" else moment
        if op == "isnull":
            results.append((actual is None) == value)
        elif actual is None:
            results.append(False)
        elif op == "":
            results.append(actual == value)
        else:
            results.append(
                {"gt": actual > value, "gte": actual >= value, "lt": actual < value,
                 "lte": actual <= value}[op]
            )  # fmt: skip
    return all(results) if q.connector == "AND" else any(results)


rows_strategy = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 5).map(lambda h: MOMENT + dt.timedelta(hours=h))),
        st.integers(1, 10_000),
    ),
    unique_by=lambda r: r[1],
    min_size=1,
    max_size=30,
)


@given(rows_strategy, st.booleans(), st.data())
def test_after_is_exactly_the_rows_that_follow_in_the_order(rows, descending, data):
    ordered = sorted(rows, key=lambda r: _sort_key(r, descending))
    i = data.draw(st.integers(0, len(ordered) - 1))
    moment, pk = ordered[i]
    q = keyset.after("due_at", moment, pk, descending=descending, nullable=True)
    assert [r for r in ordered if _matches(q, r)] == ordered[i + 1 :]
    if all(r[0] is not None for r in rows):
        q = keyset.after("due_at", moment, pk, descending=descending)
        assert [r for r in ordered if _matches(q, r)] == ordered[i + 1 :]
