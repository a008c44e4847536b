"""Triggers that keep ApplicationStatusCount exact (see the model), and the one way to read it.

Every insert, status change and delete of an application moves one count down and one up,
whichever code path made it. On PostgreSQL the counts are shared rows that every submission
and every status change of a procedure writes, so how they are locked decides whether
concurrent transactions can wait on each other in a cycle:

- a row trigger only *appends* the change (procedure, status, ±1) to `CHANGES`, tagged with
  the transaction id — an insert, which never waits for anyone;
- at commit, a deferred constraint trigger (one per transaction, through the `FLUSH` marker)
  moves the transaction's changes into the counts in one statement, in (procedure, status)
  order. The count rows are thus the last locks a transaction takes, taken in one global
  order and held only for its commit: two committing transactions wait for each other at
  most in that order, never in a cycle.

Until it commits, a transaction's own changes are visible only to itself; `totals` adds them,
so a reader inside the writing transaction sees exact counts too (every other reader finds
`CHANGES` empty). SQLite serialises writers, so there the triggers update the counts directly.

Installed by migrations and checked again after every `migrate`: on SQLite, Django rebuilds
a table to alter it (copy, drop, rename), which silently drops its triggers. When triggers
are missing they are installed again and the counts rebuilt from the rows.
"""

from django.db import connection as default_connection

TABLE = "applications_application"
COUNTS = "applications_applicationstatuscount"
CHANGES = "applications_statuscountchange"
FLUSH = "applications_statuscountflush"
# PostgreSQL's three; SQLite has three too (status_count_insert, _delete, _update).
TRIGGER_NAMES = ("status_count_insert_delete", "status_count_update", "status_count_flush")


def _change(sign: str, row: str) -> str:
    return (
        f"INSERT INTO {COUNTS} (procedure_id, status, count) "
        f"VALUES ({row}.procedure_id, {row}.status, {sign}1) "
        f"ON CONFLICT (procedure_id, status) DO UPDATE SET count = {COUNTS}.count {sign} 1"
    )


REBUILD = [
    f"DELETE FROM {COUNTS}",
    f"INSERT INTO {COUNTS} (procedure_id, status, count) "
    f"SELECT procedure_id, status, COUNT(*) FROM {TABLE} GROUP BY procedure_id, status",
]
POSTGRESQL_REBUILD = [f"DELETE FROM {CHANGES}", f"DELETE FROM {FLUSH}", *REBUILD]

SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS status_count_insert AFTER INSERT ON {TABLE} "
    f"BEGIN {_change('+', 'NEW')}; END",
    f"CREATE TRIGGER IF NOT EXISTS status_count_delete AFTER DELETE ON {TABLE} "
    f"BEGIN {_change('-', 'OLD')}; END",
    f"CREATE TRIGGER IF NOT EXISTS status_count_update "
    f"AFTER UPDATE OF status, procedure_id ON {TABLE} "
    f"WHEN OLD.status IS NOT NEW.status OR OLD.procedure_id IS NOT NEW.procedure_id "
    f"BEGIN {_change('-', 'OLD')}; {_change('+', 'NEW')}; END",
]

POSTGRESQL = [
    f"""CREATE TABLE IF NOT EXISTS {CHANGES} (
  txid bigint NOT NULL,
  procedure_id bigint NOT NULL,
  status varchar(12) NOT NULL,
  change integer NOT NULL
)""",
    f"CREATE INDEX IF NOT EXISTS {CHANGES}_txid ON {CHANGES} (txid)",
    f"CREATE TABLE IF NOT EXISTS {FLUSH} (txid bigint PRIMARY KEY)",
    # Row trigger: append the change; the first change of a transaction also inserts its
    # marker (remembered in a transaction-local setting, undone with a rolled-back savepoint
    # together with the marker row).
    f"""CREATE OR REPLACE FUNCTION applications_status_count() RETURNS trigger AS $$
DECLARE
  tx bigint := txid_current();
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO {CHANGES} VALUES (tx, OLD.procedure_id, OLD.status, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO {CHANGES} VALUES (tx, NEW.procedure_id, NEW.status, 1);
  END IF;
  IF current_setting('madoguchi.status_count_tx', true) IS DISTINCT FROM tx::text THEN
    INSERT INTO {FLUSH} VALUES (tx) ON CONFLICT DO NOTHING;
    PERFORM set_config('madoguchi.status_count_tx', tx::text, true);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    # At commit: the transaction's changes into the counts, in one global order.
    f"""CREATE OR REPLACE FUNCTION applications_status_count_flush() RETURNS trigger AS $$
BEGIN
  DELETE FROM {FLUSH} WHERE txid = NEW.txid;
  WITH moved AS (
    DELETE FROM {CHANGES} WHERE txid = NEW.txid RETURNING procedure_id, status, change
  )
  INSERT INTO {COUNTS} (procedure_id, status, count)
  SELECT procedure_id, status, SUM(change) FROM moved
  GROUP BY procedure_id, status HAVING SUM(change) <> 0
  ORDER BY procedure_id, status
  ON CONFLICT (procedure_id, status) DO UPDATE SET count = {COUNTS}.count + EXCLUDED.count;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS status_count_insert_delete ON {TABLE}",
    f"CREATE TRIGGER status_count_insert_delete AFTER INSERT OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION applications_status_count()",
    f"DROP TRIGGER IF EXISTS status_count_update ON {TABLE}",
    f"CREATE TRIGGER status_count_update AFTER UPDATE OF status, procedure_id ON {TABLE} "
    "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status "
    "OR OLD.procedure_id IS DISTINCT FROM NEW.procedure_id) "
    "EXECUTE FUNCTION applications_status_count()",
    f"DROP TRIGGER IF EXISTS status_count_flush ON {FLUSH}",
    f"CREATE CONSTRAINT TRIGGER status_count_flush AFTER INSERT ON {FLUSH} "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
    "EXECUTE FUNCTION applications_status_count_flush()",
]
POSTGRESQL_DROP = [
    f"DROP TRIGGER IF EXISTS status_count_insert_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS status_count_update ON {TABLE}",
    f"DROP TABLE IF EXISTS {FLUSH}",
    f"DROP TABLE IF EXISTS {CHANGES}",
    "DROP FUNCTION IF EXISTS applications_status_count_flush()",
    "DROP FUNCTION IF EXISTS applications_status_count()",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS status_count_insert",
    "DROP TRIGGER IF EXISTS status_count_delete",
    "DROP TRIGGER IF EXISTS status_count_update",
]


def statements(vendor: str, *, install: bool = True) -> list[str]:
    if vendor == "postgresql":
        return POSTGRESQL if install else POSTGRESQL_DROP
    if vendor == "sqlite":
        return SQLITE if install else SQLITE_DROP
    raise NotImplementedError(f"status count triggers for {vendor}")


def rebuild_statements(vendor: str) -> list[str]:
    """Recount from the rows (after a bulk load without triggers, or lost triggers)."""
    return POSTGRESQL_REBUILD if vendor == "postgresql" else REBUILD


def totals(procedure_ids, statuses, *, connection=None) -> dict[str, int]:
    """{status: applications} over `procedure_ids`, for `statuses`: the stored counts plus
    the reading transaction's own changes not yet committed (PostgreSQL; see above)."""
    connection = connection or default_connection
    procedure_ids, statuses = list(procedure_ids), list(statuses)
    if not procedure_ids or not statuses:
        return {}
    ids = ", ".join(["%s"] * len(procedure_ids))
    names = ", ".join(["%s"] * len(statuses))
    sources = (
        f"SELECT status, count FROM {COUNTS} WHERE procedure_id IN ({ids}) AND status IN ({names})"
    )
    params = [*procedure_ids, *statuses]
    if connection.vendor == "postgresql":
        sources += (
            f" UNION ALL SELECT status, change FROM {CHANGES}"
            f" WHERE procedure_id IN ({ids}) AND status IN ({names})"
        )
        params *= 2
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status, SUM(count) FROM ({sources}) AS c GROUP BY status", params)
        return {status: int(n) for status, n in cursor.fetchall()}


def _installed(cursor, vendor: str) -> int:
    if vendor == "sqlite":
        cursor.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s "
            "AND name LIKE 'status_count_%%'",
            [TABLE],
        )
        return cursor.fetchone()[0]
    cursor.execute(
        "SELECT COUNT(*) FROM pg_trigger WHERE tgname = ANY(%s) AND tgrelid IN "
        "(to_regclass(%s), to_regclass(%s))",
        [list(TRIGGER_NAMES), TABLE, FLUSH],
    )
    return cursor.fetchone()[0]


def ensure_triggers(connection) -> bool:
    """Install the triggers (and rebuild the counts) when they are missing. Returns True
    when it had to."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if _installed(cursor, vendor) >= len(TRIGGER_NAMES):
            return False
        for statement in [*statements(vendor), *rebuild_statements(vendor)]:
            cursor.execute(statement)
    return True
