"""The マイナポータル login password leaves the database: it is read from the environment.

A password stored by an earlier version is not copied anywhere (a migration must not write
secrets to logs or files); the migration names, per connection that had one, the
environment variable to set, and then drops the column.
"""

import logging

from django.db import migrations, models

import madoguchi.channels.models

logger = logging.getLogger("madoguchi.channels")


def name_the_variables(apps, schema_editor):
    connection_model = apps.get_model("channels", "MynaportalConnection")
    for row in connection_model.objects.exclude(password="").select_related("municipality"):
        variable = f"MADOGUCHI_MYNAPORTAL_PASSWORD_{row.municipality.lg_code}"
        message = (
            f"マイナポータル接続設定（団体コード {row.municipality.lg_code}）のパスワードを"
            f"データベースから削除しました。環境変数 {variable} に設定してください。"
        )
        logger.warning(message)
        print(f"\n  {message}")  # shown by `migrate` to the operator


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="mynaportalconnection",
            name="password_env",
            field=models.CharField(
                blank=True,
                help_text=(
                    "パスワードはデータベースに保存せず、サーバーの環境変数から読み込みます。"
                    "空欄のときは MADOGUCHI_MYNAPORTAL_PASSWORD_<地方公共団体コード> を使います。"
                ),
                max_length=100,
                validators=[madoguchi.channels.models.validate_password_env],
                verbose_name="パスワードの環境変数名",
            ),
        ),
        migrations.RunPython(name_the_variables, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="mynaportalconnection",
            name="password",
        ),
    ]
