from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "madoguchi.ops"
    verbose_name = "運用"

    def ready(self) -> None:
        from madoguchi.applications.signals import events_recorded

        from . import celery_signals, metrics

        events_recorded.connect(
            lambda sender, events, **kwargs: metrics.count_events(events),
            dispatch_uid="madoguchi.ops.metrics.count_events",
            weak=False,
        )
        celery_signals.connect()
