from django.apps import AppConfig


class DevToolsConfig(AppConfig):
    name = "madoguchi_dev"
    verbose_name = "開発・デモ用ツール"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deployment check)
