import sys

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _rebuild_when_empty(sender, using="default", verbosity=1, stdout=None, **kwargs) -> None:
    """After the migration that adds the KPI aggregates to an existing database, fill them
    once from the event log (afterwards they are kept up to date as events are recorded)."""
    from django.db import connections

    from madoguchi.applications.models import ApplicationEvent

    from . import application_facts
    from .models import ApplicationFact

    if connections[using].vendor not in ("sqlite", "postgresql"):
        return
    if ApplicationFact.objects.using(using).exists():
        return
    if (
        not ApplicationEvent.objects.using(using)
        .filter(kind__in=application_facts.RELEVANT_KINDS)
        .exists()
    ):
        return
    from django.core.management.base import OutputWrapper

    from .maintenance import rebuild_all
    from .management.commands.rebuild_kpi_figures import progress_bar

    out = OutputWrapper(stdout or sys.stdout)
    show = progress_bar(out) if verbosity else None
    if verbosity:
        out.write("業務改革の指標の集計値を申請の経過から作成しています ...")
    summary = rebuild_all(progress=show)
    if verbosity:
        out.write(f"\n集計値を作成しました: 申請 {summary['cases']:,} 件")


class AnalyticsConfig(AppConfig):
    name = "madoguchi.analytics"
    verbose_name = "業務改革の指標"

    def ready(self) -> None:
        from madoguchi.applications.signals import events_recorded, step_invalid

        from .maintenance import on_events_recorded
        from .recording import on_step_invalid

        events_recorded.connect(on_events_recorded, dispatch_uid="analytics.fold_events")
        step_invalid.connect(on_step_invalid, dispatch_uid="analytics.validation_failures")
        post_migrate.connect(_rebuild_when_empty, sender=self)
