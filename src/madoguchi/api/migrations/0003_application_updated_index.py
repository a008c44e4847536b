"""Index for the API list in `order=updated` (and `updated_since`): (updated_at, id) over
submitted cases. The table belongs to the applications app; the index is created here (raw
SQL, not in the model state) because only the API reads in this order. PostgreSQL and SQLite
both support the partial index."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_api_token"),
        ("applications", "0005_status_counts"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS api_application_updated "
            "ON applications_application (updated_at, id) WHERE status <> 'draft'",
            reverse_sql="DROP INDEX IF EXISTS api_application_updated",
        ),
    ]
