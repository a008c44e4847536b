"""Six indexes fewer on applications_application (35 at the 1M bench), none of which a
query needs:

- the single-column indexes Django makes for the municipality, procedure and assigned_to
  foreign keys: the composite indexes of Meta lead with each column ((municipality, status,
  submitted_at), the (municipality, 受付番号) unique constraint, (procedure, status,
  submitted_at), (assigned_to, status)), so they answer the same lookups and the foreign
  keys' checks;
- the varchar_pattern_ops copies ("_like") PostgreSQL gets for a CharField with
  db_index=True, on the two token digests and the 宛名番号: they are only ever compared for
  equality (87 + 10 + 7 MB at 1,000,000 applications). Their plain indexes stay, renamed
  to the names Meta now gives them.

Every index is one more write at each INSERT and at each UPDATE that changes an indexed
column (a status change, a draft saved at every step).

The database side is written out rather than left to AlterField, which would drop and add
the foreign-key constraints again (ADD CONSTRAINT reads the whole table under a lock). On
PostgreSQL the drops are CONCURRENTLY (not atomic, as 0012) and the kept indexes renamed,
not rebuilt; IF [NOT] EXISTS makes a retry harmless. On SQLite the indexes are dropped and
made again.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "applications_application"
UNINDEXED_FOREIGN_KEYS = ("municipality_id", "procedure_id", "assigned_to_id")
# column: the index Meta names (the plain index Django made for db_index=True, renamed)
KEPT = {
    "status_token_digest": "application_status_token",
    "resume_token_digest": "application_resume_token",
    "atena_number": "application_atena_number",
}


def _django_index(schema_editor, column: str, suffix: str = "") -> str:
    """The name Django gave the index of a field with db_index=True (its "_like" copy with
    that suffix)."""
    return schema_editor._create_index_name(TABLE, [column], suffix=suffix)


def forwards(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    drop = "DROP INDEX CONCURRENTLY IF EXISTS" if postgresql else "DROP INDEX IF EXISTS"
    for column in UNINDEXED_FOREIGN_KEYS:
        schema_editor.execute(f"{drop} {_django_index(schema_editor, column)}")
    for column, name in KEPT.items():
        old = _django_index(schema_editor, column)
        if postgresql:
            schema_editor.execute(f"{drop} {_django_index(schema_editor, column, '_like')}")
            schema_editor.execute(f"ALTER INDEX IF EXISTS {old} RENAME TO {name}")
            schema_editor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} ({column})"
            )
        else:
            schema_editor.execute(f"{drop} {old}")
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} ({column})")


def backwards(apps, schema_editor):
    """The indexes as Django made them before (the "_like" copies included)."""
    model = apps.get_model("applications", "Application")
    for name in KEPT.values():
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    for field in model._meta.local_fields:
        if field.column in UNINDEXED_FOREIGN_KEYS or field.column in KEPT:
            for sql in schema_editor._field_indexes_sql(model, field):
                schema_editor.execute(sql)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("applications", "0012_search_scope_indexes"),
        ("catalog", "0002_procedure_target_days"),
        ("tenants", "0003_staffmembership_form_editor_role"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="application",
                    name="assigned_to",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_applications",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="担当職員",
                    ),
                ),
                migrations.AlterField(
                    model_name="application",
                    name="atena_number",
                    field=models.CharField(blank=True, max_length=32, verbose_name="宛名番号"),
                ),
                migrations.AlterField(
                    model_name="application",
                    name="municipality",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="applications",
                        to="tenants.municipality",
                    ),
                ),
                migrations.AlterField(
                    model_name="application",
                    name="procedure",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="applications",
                        to="catalog.procedure",
                    ),
                ),
                migrations.AlterField(
                    model_name="application",
                    name="resume_token_digest",
                    field=models.CharField(blank=True, max_length=64),
                ),
                migrations.AlterField(
                    model_name="application",
                    name="status_token_digest",
                    field=models.CharField(blank=True, max_length=64),
                ),
                migrations.AddIndex(
                    model_name="application",
                    index=models.Index(
                        fields=["status_token_digest"], name="application_status_token"
                    ),
                ),
                migrations.AddIndex(
                    model_name="application",
                    index=models.Index(
                        fields=["resume_token_digest"], name="application_resume_token"
                    ),
                ),
                migrations.AddIndex(
                    model_name="application",
                    index=models.Index(fields=["atena_number"], name="application_atena_number"),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
