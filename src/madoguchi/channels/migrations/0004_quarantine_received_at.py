from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0003_pull_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="quarantinedpackage",
            name="received_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="マイナポータルの受付日時"
            ),
        ),
    ]
