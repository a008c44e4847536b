"""Indexes for the KPI queries on the applications tables.

They live here (not in the applications app's models) because the KPIs are what need them;
Django cannot add an index to another app's model, so they are plain SQL, idempotent
(IF NOT EXISTS) and written for both PostgreSQL (covering INCLUDE columns, so the volume and
decision queries are index-only scans) and SQLite.
"""

from django.db import migrations

APP = "applications_application"
EVENT = "applications_applicationevent"

# (name, PostgreSQL definition, SQLite definition)
INDEXES = [
    (
        "kpi_app_submitted",
        f"ON {APP} (municipality_id, submitted_at) INCLUDE (procedure_id, channel, status)"
        " WHERE submitted_at IS NOT NULL",
        f"ON {APP} (municipality_id, submitted_at, procedure_id, channel)"
        " WHERE submitted_at IS NOT NULL",
    ),
    (
        "kpi_app_finished",
        f"ON {APP} (municipality_id, finished_at) INCLUDE (procedure_id, status, submitted_at)"
        " WHERE finished_at IS NOT NULL",
        f"ON {APP} (municipality_id, finished_at, procedure_id, status)"
        " WHERE finished_at IS NOT NULL",
    ),
    (
        "kpi_app_open",
        f"ON {APP} (municipality_id, procedure_id) INCLUDE (status, submitted_at, due_at)"
        " WHERE status IN ('received', 'in_progress', 'returned')",
        f"ON {APP} (municipality_id, procedure_id)"
        " WHERE status IN ('received', 'in_progress', 'returned')",
    ),
    (
        "kpi_app_portal_started",
        f"ON {APP} (municipality_id, created_at)"
        " INCLUDE (procedure_id, furthest_step_index, status)"
        " WHERE channel = 'portal' AND proxy_business_id IS NULL AND entered_by_id IS NULL",
        f"ON {APP} (municipality_id, created_at)"
        " WHERE channel = 'portal' AND proxy_business_id IS NULL AND entered_by_id IS NULL",
    ),
    (
        "kpi_event_waiting",
        f"ON {EVENT} (application_id) INCLUDE (kind, from_status, to_status, created_at)"
        " WHERE to_status = 'returned' OR from_status = 'returned'",
        f"ON {EVENT} (application_id, created_at)"
        " WHERE to_status = 'returned' OR from_status = 'returned'",
    ),
    (
        "kpi_event_kind_time",
        f"ON {EVENT} (municipality_id, kind, created_at)"
        " WHERE kind IN ('feedback', 'status_changed')",
        f"ON {EVENT} (municipality_id, kind, created_at)"
        " WHERE kind IN ('feedback', 'status_changed')",
    ),
]


def create(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, pg, lite in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {pg if postgres else lite}")


def drop(apps, schema_editor):
    for name, _pg, _lite in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("applications", "0007_identity_fields"),
    ]

    operations = [migrations.RunPython(create, drop)]
