# The read grant is named after Application, as everywhere else in the code.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0003_application_updated_index"),
    ]

    operations = [
        migrations.RenameField("apigrant", "can_read_cases", "can_read_applications"),
    ]
