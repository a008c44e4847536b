"""`madoguchi check --deploy` warns while the development and demo tools are installed: their
commands create accounts with a published password and a certification authority whose keys
anyone can read."""

from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def dev_tools_installed(app_configs, **kwargs):
    return [
        Warning(
            "開発・デモ用ツール（seed_demo, jpki_testca, mynaportal-simulator）が有効です。",
            hint="本番環境では MADOGUCHI_DEV_TOOLS=0 を設定してください。",
            id="madoguchi_dev.W001",
        )
    ]
