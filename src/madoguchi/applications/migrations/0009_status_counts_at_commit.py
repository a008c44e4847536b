"""Status counts without a lock order that can cycle (see applications.status_counts).

PostgreSQL: the row triggers append each change to a side table; a deferred trigger moves a
transaction's changes into the counts at commit, in (procedure, status) order. SQLite keeps
its direct triggers (it serialises writers). The statements are frozen here as they were
when this migration was written.
"""

from django.db import migrations

TABLE = "applications_application"
COUNTS = "applications_applicationstatuscount"
CHANGES = "applications_statuscountchange"
FLUSH = "applications_statuscountflush"


def _change(sign: str, row: str) -> str:
    return (
        f"INSERT INTO {COUNTS} (procedure_id, status, count) "
        f"VALUES ({row}.procedure_id, {row}.status, {sign}1) "
        f"ON CONFLICT (procedure_id, status) DO UPDATE SET count = {COUNTS}.count {sign} 1"
    )


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

# The 0005 triggers (direct upserts), for going back.
PREVIOUS = [
    f"DROP TRIGGER IF EXISTS status_count_flush ON {FLUSH}",
    f"DROP TABLE IF EXISTS {FLUSH}",
    f"DROP TABLE IF EXISTS {CHANGES}",
    "DROP FUNCTION IF EXISTS applications_status_count_flush()",
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
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in PREVIOUS:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0008_identified_event"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
