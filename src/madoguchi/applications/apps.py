from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_status_count_triggers(sender, using, **kwargs):
    from django.db import connections

    from .status_counts import ensure_triggers

    ensure_triggers(connections[using])


class ApplicationsConfig(AppConfig):
    name = "madoguchi.applications"
    verbose_name = "申請"

    def ready(self):
        from . import metrics
        from .signals import events_recorded

        post_migrate.connect(_ensure_status_count_triggers, sender=self)
        events_recorded.connect(
            lambda sender, events, **kwargs: metrics.count_events(events),
            dispatch_uid="madoguchi.applications.metrics.count_events",
            weak=False,
        )
