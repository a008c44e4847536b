# The per-application KPI rows are named after Application, as everywhere else in the code.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0003_case_facts"),
    ]

    operations = [
        migrations.RenameModel("CaseFact", "ApplicationFact"),
        migrations.RenameModel("PendingCaseFact", "PendingApplicationFact"),
        migrations.RenameIndex(
            model_name="applicationfact",
            new_name="applicationfact_decided",
            old_name="casefact_decided",
        ),
    ]
