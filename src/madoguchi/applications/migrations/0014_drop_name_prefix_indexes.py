"""Two indexes fewer on applications_application: the varchar_pattern_ops indexes on
search_name and search_kana (migration 0004) served name searches by prefix (LIKE 'x%').
Since 0010-0012 a name search is a substring search: the trigram indexes, the grams'
indexes and the (procedure, status) index holding both name columns answer it, and no query
compares the two columns by prefix or equality. At the 1M bench neither was read by any
inbox search plan (department or 全体, kana, kanji, 1-4 characters), while every INSERT
and every change of a name wrote both (7 MB each).

Written out as 0013: on PostgreSQL the drops are CONCURRENTLY (so not atomic), IF EXISTS
makes a retry harmless, and going back builds them again as 0004 made them."""

from django.db import migrations

TABLE = "applications_application"
INDEXES = {"application_search_name": "search_name", "application_search_kana": "search_kana"}


def forwards(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    drop = "DROP INDEX CONCURRENTLY IF EXISTS" if postgresql else "DROP INDEX IF EXISTS"
    for name in INDEXES:
        schema_editor.execute(f"{drop} {name}")


def backwards(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for name, column in INDEXES.items():
        if postgresql:
            schema_editor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} "
                f"({column} varchar_pattern_ops)"
            )
        else:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} ({column})")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("applications", "0013_fewer_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="application", name="application_search_name"),
                migrations.RemoveIndex(model_name="application", name="application_search_kana"),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
