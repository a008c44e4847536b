"""The KPI aggregates kept event by event through the real services agree exactly with a
rebuild from the event log; a failed fold never loses the action and is repaired; rolled
back actions leave no count; the aggregates outlive retention."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import transaction

from madoguchi.analytics import application_facts, figures, maintenance
from madoguchi.analytics.apps import _rebuild_when_empty
from madoguchi.analytics.models import ApplicationFact, DailyCount, PendingApplicationFact
from madoguchi.applications import staff_actions
from madoguchi.applications.models import Application, ApplicationEvent, Status
from madoguchi.applications.retention import apply_retention

from .conftest import at, change

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[dict, dict]:
    facts = {
        f["application_id"]: f
        for f in ApplicationFact.objects.values(
            "application_id", "procedure_id", "channel", "in_funnel", *maintenance.STATE_FIELDS
        )
    }
    counts = {
        (c.procedure_id, c.day, c.measure, c.key): (c.count, c.label)
        for c in DailyCount.objects.exclude(count=0)
    }
    return facts, counts


def test_incremental_aggregates_equal_a_rebuild(history):
    kept = snapshot()
    assert kept[0] and kept[1]
    summary = maintenance.rebuild_all()
    assert snapshot() == kept
    assert summary["cases"] == len(kept[0])


def test_a_rolled_back_action_leaves_no_count(history):
    before = snapshot()
    case = Application.objects.get(pk=history.c5.pk)
    with transaction.atomic():
        staff_actions.change_status(
            case, Status.COMPLETED, user=history.handler, expected_version=case.lock_version
        )
        transaction.set_rollback(True)
    assert snapshot() == before


def test_a_failed_fold_keeps_the_action_and_is_repaired(history, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(application_facts, "apply", broken)
        changed = change(history.c5, Status.COMPLETED, history.handler, at(3, 10))
    assert changed.status == Status.COMPLETED  # the member of staff's decision is kept
    pending = PendingApplicationFact.objects.get()
    assert pending.application_id == history.c5.pk and pending.error == "ValueError"
    assert ApplicationFact.objects.get(pk=history.c5.pk).status == "in_progress"  # not folded yet

    out = io.StringIO()
    call_command("rebuild_kpi_figures", "--pending", stdout=out)
    assert out.getvalue().strip() == "集計し直した申請: 1 件"
    assert not PendingApplicationFact.objects.exists()
    repaired = snapshot()
    assert repaired[0][history.c5.pk]["status"] == "completed"
    maintenance.rebuild_all()
    assert snapshot() == repaired
    assert maintenance.refold([history.c5.pk]) == 1  # twice: nothing more is added
    assert snapshot() == repaired


def test_rebuild_command_prints_a_summary(history):
    out = io.StringIO()
    call_command("rebuild_kpi_figures", stdout=out)
    cases = ApplicationFact.objects.count()
    rows = DailyCount.objects.count()
    assert f"集計値を作り直しました: 申請 {cases:,} 件、日ごとの集計 {rows:,} 行" in out.getvalue()


def test_after_migrate_an_empty_table_is_filled_from_the_log(history):
    kept = snapshot()
    ApplicationFact.objects.all().delete()
    DailyCount.objects.all().delete()
    out = io.StringIO()
    _rebuild_when_empty(sender=None, verbosity=1, stdout=out)
    assert snapshot() == kept
    assert "集計値を作成しました" in out.getvalue()
    _rebuild_when_empty(sender=None, verbosity=1, stdout=io.StringIO())  # filled: no-op
    assert snapshot() == kept


def test_figures_outlive_retention(history):
    """Retention deletes the expired cases and their events; the figures stay."""
    history.a.retention_years = 1
    history.a.save()
    finished = [history.c7.pk, history.c1.pk, history.c2.pk, history.c3.pk, history.c4.pk]
    before = snapshot()
    report = apply_retention(dt.datetime(2028, 6, 1, tzinfo=dt.UTC))
    assert report.procedures[history.a.pk].deleted == len(finished)
    assert not Application.objects.filter(pk__in=finished).exists()
    assert not ApplicationEvent.objects.filter(application_id__in=finished).exists()
    assert snapshot() == before


def test_dashboard_figures_come_from_the_aggregates(history):
    """The figures read the aggregates: emptying them empties the figures (so no figure
    silently falls back to scanning the event log)."""
    scope = figures.build_scope(
        history.admin, history.municipality, start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30)
    )
    assert figures.volume(scope)["total"]["total"] > 0
    ApplicationFact.objects.all().delete()
    DailyCount.objects.all().delete()
    assert figures.volume(scope)["total"]["total"] == 0
    assert figures.processing(scope, {})["total"]["total"]["count"] == 0
    assert figures.outcomes(scope)["total"] == 0


def test_a_batch_of_events_folds_like_one_event_at_a_time(history):
    """A bulk writer announces many events of many cases at once: the batch fold gives
    exactly what folding them one by one gave."""
    kept = snapshot()
    ApplicationFact.objects.all().delete()
    DailyCount.objects.all().delete()
    events = list(ApplicationEvent.objects.select_related("application").order_by("pk"))
    assert len({e.application_id for e in events}) > 5
    maintenance.fold_events(events)
    assert snapshot() == kept


def test_folding_a_batch_takes_a_few_statements(history, django_assert_max_num_queries):
    events = list(ApplicationEvent.objects.select_related("application").order_by("pk"))
    ApplicationFact.objects.all().delete()
    DailyCount.objects.all().delete()
    # read the facts, create the new ones, one upsert of the counts (executemany)
    with django_assert_max_num_queries(3):
        maintenance.fold_events(events)
    assert ApplicationFact.objects.count() == len({e.application_id for e in events})


def test_a_step_completed_is_folded_in_one_statement(municipality, django_assert_num_queries):
    """A resident's valid step (one `step_completed`) moves the case's fact and its funnel
    count in one statement on PostgreSQL; the figures are those of the general fold."""
    from django.db import connection

    from madoguchi.applications import lifecycle, services
    from tests.applications.conftest import make_procedure

    if connection.vendor != "postgresql":
        pytest.skip("the one-statement fold is PostgreSQL's")
    procedure = make_procedure(municipality, slug="step-fold")
    application, _token = services.start_draft(procedure)
    steps = []
    for index, reached in [(0, 2), (1, 1), (2, 3)]:
        event = lifecycle.step_completed_event(application, f"s{index}", index, reached)
        event.save()
        with django_assert_num_queries(1):
            maintenance.fold_events([event])
        steps.append(event)
    fact = ApplicationFact.objects.get(pk=application.pk)
    assert (fact.furthest_step, fact.last_event_id) == (3, steps[-1].pk)
    funnel = {
        c.key: c.count
        for c in DailyCount.objects.filter(measure=application_facts.FUNNEL).exclude(count=0)
    }
    assert funnel == {"3": 1}
    kept = snapshot()
    maintenance.rebuild_all(method="python")
    assert snapshot() == kept


def test_counts_of_a_batch_are_summed_before_the_upsert(municipality):
    """Cases of a batch that add to the same count (one procedure, one day) write that count
    once, with their sum; counts of other keys and procedures stay apart."""
    from collections import Counter

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.applications.conftest import make_procedure

    first = make_procedure(municipality, slug="sum-a")
    second = make_procedure(municipality, slug="sum-b")
    day = dt.date(2026, 4, 1)
    received = Counter({("received", day, "mynaportal"): 1})
    rows = [(municipality.pk, first.pk, received) for _case in range(5)]
    rows.append((municipality.pk, first.pk, Counter({("received", day, "portal"): 2})))
    rows.append((municipality.pk, second.pk, received))
    rows.append((municipality.pk, first.pk, Counter({("received", day, "mynaportal"): -1})))
    with CaptureQueriesContext(connection) as queries:
        maintenance.add_counts(rows, {})
    assert [q["sql"].split(" times:", 1)[0] for q in queries.captured_queries] == ["3"]
    counts = {
        (c.procedure_id, c.key): c.count
        for c in DailyCount.objects.filter(day=day, measure="received")
    }
    assert counts == {
        (first.pk, "mynaportal"): 4,
        (first.pk, "portal"): 2,
        (second.pk, "mynaportal"): 1,
    }
