"""The inbox's 1- and 2-character name searches on PostgreSQL (「田」, 「美咲」, 「さき」), which
the trigram indexes of 0010 cannot answer (such a query has no trigram).

- `search_grams text[]`: the unigrams and bigrams of `search_name` and `search_kana`
  (applications.search_grams.grams is the specification), with a GIN index. A column of the
  application row, not a table of grams: one GIN entry per gram and row, no second table to
  keep in step or to join, and PostgreSQL's statistics on array elements estimate how many
  rows one gram matches, so the planner walks the date index for a common gram and reads
  the GIN index for a rare one.
- Kept by triggers on every write of the two columns, whoever writes them (the lifecycle,
  an UPDATE, a bulk COPY): BEFORE INSERT, and BEFORE UPDATE when either column (or the grams
  themselves) changes. ENABLE ALWAYS: they also fire under session_replication_role =
  replica, which bulk loads use to skip the other row triggers. The column is not a field of
  the Django model: nothing but the triggers writes it, and SQLite (no arrays) searches with
  the plain LIKE.
- `application_search_counts`: (procedure, status) INCLUDE (municipality, search_name,
  search_kana). The status counts of a search read it alone (an index-only scan over the
  department's applications, testing the LIKE on each entry) instead of visiting in the table
  every application that matches a common name (「田」: a fifth of them).

On a big table: the column is added without a default (no rewrite), the existing rows are
filled in batches of BATCH ids, each batch its own transaction (the migration is not atomic),
and the indexes are built CONCURRENTLY (writes go on; IF NOT EXISTS: an interrupted run can
be repeated after dropping an INVALID index, docs/deploy.md). Nothing happens on SQLite. The
statements are frozen here as they were when this migration was written.
"""

from django.db import migrations

TABLE = "applications_application"
BATCH = 5000

FUNCTIONS = [
    # Unigrams and bigrams of both texts (code points), without repeats.
    """CREATE OR REPLACE FUNCTION madoguchi_search_grams(name text, kana text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  found text[] := '{}';
  t text;
  n integer;
  g text;
BEGIN
  FOREACH t IN ARRAY ARRAY[coalesce(name, ''), coalesce(kana, '')] LOOP
    n := char_length(t);
    FOR i IN 1..n LOOP
      g := substr(t, i, 1);
      IF NOT g = ANY(found) THEN found := found || g; END IF;
      IF i < n THEN
        g := substr(t, i, 2);
        IF NOT g = ANY(found) THEN found := found || g; END IF;
      END IF;
    END LOOP;
  END LOOP;
  RETURN found;
END $$""",
    """CREATE OR REPLACE FUNCTION applications_search_grams() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_grams := madoguchi_search_grams(NEW.search_name, NEW.search_kana);
  RETURN NEW;
END $$""",
]

TRIGGERS = [
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS search_grams text[]",
    f"DROP TRIGGER IF EXISTS search_grams_insert ON {TABLE}",
    f"CREATE TRIGGER search_grams_insert BEFORE INSERT ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION applications_search_grams()",
    f"DROP TRIGGER IF EXISTS search_grams_update ON {TABLE}",
    f"CREATE TRIGGER search_grams_update "
    f"BEFORE UPDATE OF search_name, search_kana, search_grams ON {TABLE} FOR EACH ROW "
    "WHEN (OLD.search_name IS DISTINCT FROM NEW.search_name "
    "OR OLD.search_kana IS DISTINCT FROM NEW.search_kana "
    "OR OLD.search_grams IS DISTINCT FROM NEW.search_grams) "
    "EXECUTE FUNCTION applications_search_grams()",
    f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER search_grams_insert",
    f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER search_grams_update",
]

INDEXES = {
    "application_search_grams": f"ON {TABLE} USING gin (search_grams)",
    "application_search_counts": (
        f"ON {TABLE} (procedure_id, status) INCLUDE (municipality_id, search_name, search_kana)"
    ),
}


def backfill(cursor) -> None:
    """The rows written before the triggers: '{}' differs from NULL, so the update trigger
    computes the grams. One transaction per BATCH ids (autocommit: not atomic)."""
    cursor.execute(f"SELECT min(id), max(id) FROM {TABLE} WHERE search_grams IS NULL")
    low, high = cursor.fetchone()
    if low is None:
        return
    for start in range(low, high + 1, BATCH):
        cursor.execute(
            f"UPDATE {TABLE} SET search_grams = '{{}}' "
            "WHERE id >= %s AND id < %s AND search_grams IS NULL",
            [start, start + BATCH],
        )


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FUNCTIONS + TRIGGERS:
        schema_editor.execute(statement)
    with schema_editor.connection.cursor() as cursor:
        backfill(cursor)
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}")
    # The backfill left a dead version of every row: VACUUM sets the visibility map again
    # (index-only scans need it) and ANALYZE gathers the grams' statistics.
    schema_editor.execute(f"VACUUM (ANALYZE) {TABLE}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    for statement in [
        f"DROP TRIGGER IF EXISTS search_grams_insert ON {TABLE}",
        f"DROP TRIGGER IF EXISTS search_grams_update ON {TABLE}",
        f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS search_grams",
        "DROP FUNCTION IF EXISTS applications_search_grams()",
        "DROP FUNCTION IF EXISTS madoguchi_search_grams(text, text)",
    ]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("applications", "0010_search_trigram_indexes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
