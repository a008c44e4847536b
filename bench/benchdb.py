"""The dedicated PostgreSQL database a benchmark runs in, and Django set up on it.

Shared by the benchmarks that need a large database (inbox, export, API, KPI, マイナポータル).
A benchmark database is created when missing and migrated; never point one at a database
whose data you want to keep.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def database_url(variable: str, default: str) -> str:
    url = os.environ.get(variable, default)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"{variable} must name a PostgreSQL database")
    return url


def ensure_database(url: str) -> None:
    """Create the benchmark database when it does not exist."""
    import psycopg
    from psycopg import sql

    conninfo = url.replace("postgres://", "postgresql://", 1)
    name = conninfo.rsplit("/", 1)[1].split("?", 1)[0]
    admin = conninfo.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def setup_django(url: str, *, prefix: str = "madoguchi-bench-") -> None:
    """Django on `url` (created and migrated), with files in a temporary folder (or
    BENCH_VAR_DIR)."""
    ensure_database(url)
    workdir = Path(os.environ.get("BENCH_VAR_DIR") or tempfile.mkdtemp(prefix=prefix))
    os.environ["MADOGUCHI_VAR_DIR"] = str(workdir)
    os.environ.setdefault("MEDIA_ROOT", str(workdir / "media"))
    (workdir / "static").mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    # Only when something is to migrate: after a load, `migrate`'s post_migrate would rebuild
    # the KPI aggregates of the whole database in every bench process (the KPI bench does it
    # once, timed); and an up-to-date database is ready at once.
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", verbosity=0)


def column_default(model, column: str):
    """The value COPY writes for a column the generator does not set (a later migration's
    column): its default (JSON for dict/list), NULL when nullable, else ""."""
    import json

    for f in model._meta.concrete_fields:
        if f.column == column:
            if f.null:
                return None
            if f.has_default():
                value = f.get_default()
                return json.dumps(value) if isinstance(value, dict | list) else value
            return ""
    return None


def ensure_departments_and_procedures(
    municipality, *, departments: int, procedures: int, slug: str, name: str, reading: str, form
):
    """`departments` departments and `procedures` procedures (procedure i handled by
    department i mod n, with a published form), created when missing: idempotent.
    `slug`, `name` and `reading` are formats of the procedure's number ({i:02d})."""
    from madoguchi.catalog.models import FormVersion, Procedure
    from madoguchi.tenants.models import Department

    made_departments = [
        Department.objects.get_or_create(
            municipality=municipality, code=f"dept{i:02d}", defaults={"name": f"担当課{i:02d}"}
        )[0]
        for i in range(departments)
    ]
    made = []
    for i in range(procedures):
        procedure, created = Procedure.objects.get_or_create(
            municipality=municipality,
            slug=slug.format(i=i),
            defaults={
                "name": name.format(i=i),
                "reading": reading.format(i=i),
                "category": "other",
                "target_days": 14,
            },
        )
        if created:
            procedure.departments.add(made_departments[i % departments])
            FormVersion.new_draft(procedure, schema=form).publish()
            procedure.refresh_from_db()
        made.append(procedure)
    return made_departments, made


@contextlib.contextmanager
def without_row_triggers(cursor):
    """Bulk load as one would: COPY without per-row triggers and FK checks
    (session_replication_role = replica; generated rows are consistent by construction).
    The per-procedure status counts the triggers keep are recomputed afterwards — kept
    per row during a 1,000,000-row COPY, one transaction updating the same few count rows
    makes ever longer version chains and the load takes many minutes instead of seconds."""
    from madoguchi.applications.status_counts import REBUILD

    cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        cursor.execute("SET session_replication_role = DEFAULT")
    for statement in REBUILD:
        cursor.execute(statement)


def vacuum_analyze(*tables: str) -> None:
    """VACUUM ANALYZE after a bulk load, as autovacuum would later: it sets the visibility map
    (index-only scans need it) and the planner's statistics. VACUUM cannot run inside a
    transaction, so the connection is switched to autocommit for it."""
    from django.db import connection

    autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    try:
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"VACUUM ANALYZE {table}")
    finally:
        connection.set_autocommit(autocommit)
