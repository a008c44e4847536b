"""The indexes of applications_application after migration 0013: each lookup the code runs
keeps an index that leads with its column, and the copies nothing reads are gone."""

import pytest
from django.db import connection

from madoguchi.applications.models import Application

TABLE = Application._meta.db_table


def _indexes() -> dict[str, dict]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, TABLE)
    return {name: info for name, info in found.items() if info["index"] or info["unique"]}


def _leading(indexes: dict[str, dict], column: str) -> list[str]:
    return sorted(name for name, info in indexes.items() if info["columns"][:1] == [column])


@pytest.mark.django_db
def test_every_looked_up_column_leads_an_index():
    """The token digests (a resident's status and resume links), the 宛名番号 and the three
    foreign keys whose single-column index was dropped: each still leads an index (for the
    foreign keys, a composite one, which also serves the constraint's checks)."""
    indexes = _indexes()
    for column in (
        "status_token_digest",
        "resume_token_digest",
        "atena_number",
        "municipality_id",
        "procedure_id",
        "assigned_to_id",
    ):
        assert _leading(indexes, column), column


@pytest.mark.django_db
def test_no_single_column_copy_of_a_composite_index_and_no_pattern_copy_of_a_digest():
    indexes = _indexes()
    for column in ("municipality_id", "procedure_id", "assigned_to_id"):
        single = [n for n in _leading(indexes, column) if indexes[n]["columns"] == [column]]
        assert single == [], column
    for column in ("status_token_digest", "resume_token_digest", "atena_number"):
        assert len(_leading(indexes, column)) == 1, _leading(indexes, column)


@pytest.mark.django_db
def test_a_status_link_is_found_through_its_index():
    """On PostgreSQL, the planner answers the status page's lookup by the digest's index (a
    sequential scan of the table would be the symptom of a lost index)."""
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    query = Application.objects.filter(status_token_digest="0" * 64)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()
    assert "application_status_token" in plan, plan


@pytest.mark.django_db
def test_no_prefix_index_on_the_search_names():
    """Name searches are substring searches: the varchar_pattern_ops indexes of 0004 are
    gone (0014), the trigram indexes (PostgreSQL) stay."""
    indexes = _indexes()
    assert "application_search_name" not in indexes
    assert "application_search_kana" not in indexes
    if connection.vendor == "postgresql":
        assert {"application_search_name_trgm", "application_search_kana_trgm"} <= set(indexes)
