"""Indexes that let the inbox's searches read only the department's candidates, on
PostgreSQL:

- `application_search_scope_grams`: GIN on (procedure_id + 0, search_grams) (btree_gin gives
  the GIN operators for the bigint). `(procedure_id + 0) = ANY(the department's procedures)
  AND search_grams @> ARRAY[...]` is then one index scan that yields the department's rows
  holding the search's grams, instead of every application of the municipality holding them
  (「やまだ」: 2,700 rows of the department against 22,000 in the table) or of a bitmap of the
  department's 118,000 rows combined with the table-wide grams. It answers the rows and the
  status counts of a name search whose grams are not common (applications.inbox.search_q),
  for one or two characters (the gram itself) and longer ones (their bigrams). `+ 0`: only
  that condition, written the same way, uses the index; on the plain column the planner
  also took it for any `procedure_id IN (...)`, which the btree indexes answer far sooner.
- `application_receipt_prefix`: (procedure_id, receipt_number varchar_pattern_ops). A
  受付番号 prefix (2026-0001) is a byte range (applications.inbox.ReceiptPrefix) that the
  (municipality, 受付番号) unique index cannot answer (its collation is not C) and the trigram
  index answers poorly (every number holds '202', '026', '26-': ~1,000 index pages for 10
  rows). The procedure first: the department's procedures and the range are then one index
  scan (with the municipality first, the planner combined the range with the department's
  118,000 entries of the procedure index, 40 ms, for 10 rows).

Safe on a big table: CREATE INDEX CONCURRENTLY does not block writes (the migration is not
atomic, as CONCURRENTLY requires); IF NOT EXISTS makes a retry after an interrupted run
harmless (an interrupted CONCURRENTLY build leaves an INVALID index: drop it and migrate
again, docs/deploy.md). At 1,000,000 applications the GIN index builds in ~40 s and the
btree in ~3 s on the bench machine (busy); btree_gin is a trusted extension (PostgreSQL 13+):
the database owner may create it. Nothing happens on SQLite, where the search is a plain
LIKE.
"""

from django.db import migrations

TABLE = "applications_application"
INDEXES = {
    "application_search_scope_grams": f"ON {TABLE} USING gin ((procedure_id + 0), search_grams)",
    "application_receipt_prefix": (
        f"ON {TABLE} (procedure_id, receipt_number varchar_pattern_ops)"
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("applications", "0011_search_grams")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
