from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "madoguchi.outbox"
    verbose_name = "送信待ち"

    def ready(self) -> None:
        from madoguchi.ops.metrics import register_gauges

        from .metrics import outbox_gauges

        register_gauges(outbox_gauges)
