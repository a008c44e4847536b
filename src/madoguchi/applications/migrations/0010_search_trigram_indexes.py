"""Trigram (pg_trgm) GIN indexes for the inbox search on PostgreSQL: any part of the
applicant's name (search_name, search_kana) and any part of the 受付番号 (its last digits or
its beginning), answered as LIKE '%x%' from the index on a million applications.

Safe on a big table: CREATE INDEX CONCURRENTLY does not block writes (the migration is not
atomic, as CONCURRENTLY requires); IF NOT EXISTS makes a retry after an interrupted run
harmless (an interrupted CONCURRENTLY build leaves an INVALID index: drop it and migrate
again, docs/deploy.md). pg_trgm is a trusted extension (PostgreSQL 13+): the database owner
may create it. Nothing happens on SQLite, where the search is a plain LIKE.
"""

from django.db import migrations

INDEXES = {
    "application_search_name_trgm": "search_name",
    "application_search_kana_trgm": "search_kana",
    "application_receipt_trgm": "receipt_number",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON applications_application USING gin ({column} gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("applications", "0009_status_counts_at_commit")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
