from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "madoguchi.ops"
    verbose_name = "運用"

    def ready(self) -> None:
        from . import celery_signals

        celery_signals.connect()
