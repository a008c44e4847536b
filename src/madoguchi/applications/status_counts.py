"""Triggers that keep ApplicationStatusCount exact (see the model).

Installed by migration 0005 and checked again after every `migrate`: on SQLite, Django
rebuilds a table to alter it (copy, drop, rename), which silently drops its triggers. When the
triggers are missing they are installed again and the counts rebuilt from the rows.
"""

TABLE = "applications_application"
COUNTS = "applications_applicationstatuscount"
TRIGGER_NAMES = ("status_count_insert_delete", "status_count_update")


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
    f"""CREATE OR REPLACE FUNCTION applications_status_count() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {_change("-", "OLD")};
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {_change("+", "NEW")};
  END IF;
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
]


def _installed(cursor, vendor: str) -> int:
    if vendor == "sqlite":
        cursor.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s "
            "AND name LIKE 'status_count_%%'",
            [TABLE],
        )
        return cursor.fetchone()[0]
    cursor.execute(
        "SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname LIKE %s",
        [TABLE, "status_count_%"],
    )
    return cursor.fetchone()[0]


def ensure_triggers(connection) -> bool:
    """Install the triggers (and rebuild the counts) when they are missing. Returns True
    when it had to."""
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"status count triggers for {vendor}")
    expected = 3 if vendor == "sqlite" else 2
    with connection.cursor() as cursor:
        if _installed(cursor, vendor) >= expected:
            return False
        for statement in [*REBUILD, *(SQLITE if vendor == "sqlite" else POSTGRESQL)]:
            cursor.execute(statement)
    return True
