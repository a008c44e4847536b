from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0004_request_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="claim_token",
            field=models.CharField(blank=True, db_default="", default="", max_length=32),
        ),
    ]
