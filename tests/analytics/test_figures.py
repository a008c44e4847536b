"""Every figure of the dashboard, exactly, for histories built through the real services."""

import datetime as dt

import pytest
from django.http import Http404

from madoguchi.analytics import figures
from madoguchi.analytics.models import ProcedureBaseline

from .conftest import at

pytestmark = pytest.mark.django_db

PERIOD = {"start": dt.date(2026, 1, 1), "end": dt.date(2026, 6, 30)}


def scope_for(history, user, **kwargs):
    return figures.build_scope(user, history.municipality, now=history.now, **{**PERIOD, **kwargs})


def test_volume_by_channel_and_online_rate(history):
    data = figures.dashboard(scope_for(history, history.handler))
    total = data["volume"]["total"]
    assert total == {
        "portal": 3,
        "mynaportal": 1,
        "counter": 1,
        "paper": 1,
        "total": 6,
        "online": 4,
        "online_rate": 0.6667,
    }
    months = {m["month"]: m for m in data["volume"]["months"]}
    assert len(months) == 6
    assert months[dt.date(2026, 1, 1)]["portal"] == 2
    assert months[dt.date(2026, 1, 1)]["online_rate"] == 1.0
    assert months[dt.date(2026, 2, 1)]["counter"] == 1
    assert months[dt.date(2026, 2, 1)]["paper"] == 1
    assert months[dt.date(2026, 2, 1)]["online_rate"] == 0.0
    assert months[dt.date(2026, 3, 1)]["total"] == 2
    assert months[dt.date(2026, 4, 1)]["total"] == 0
    assert months[dt.date(2026, 4, 1)]["online_rate"] is None
    assert list(data["volume"]["procedures"]) == [history.a.pk]
    assert data["departments"][0]["department"] == "こども家庭課"
    assert data["departments"][0]["total"] == 6


def test_month_boundaries_are_japan_time(history):
    """A case received at 00:30 on 1 February (JST) belongs to February."""
    from .conftest import submitted

    submitted(history.a, dt.datetime(2026, 2, 1, 0, 30, tzinfo=at(1, 1).tzinfo))
    data = figures.volume(scope_for(history, history.handler))
    months = {m["month"]: m for m in data["months"]}
    assert months[dt.date(2026, 1, 1)]["total"] == 2
    assert months[dt.date(2026, 2, 1)]["total"] == 3


def test_processing_time_waiting_separately(history):
    data = figures.dashboard(scope_for(history, history.handler))
    total = data["processing"]["total"]
    # decided in the period: c7 (14 d), c1 (4 d), c2 (10 d, 3 waiting), c3 (19 d, 3 waiting)
    assert total["total"] == {"count": 4, "median_days": 12.0, "p90_days": 19.0}
    assert total["municipality"] == {"count": 4, "median_days": 10.5, "p90_days": 16.0}
    assert total["waiting"] == {"count": 2, "median_days": 3.0, "p90_days": 3.0}
    assert total["returned_applications"] == 2
    assert total["late"] == 2  # c3 (16 municipal days) and c7 (14) over the 10-day target


def test_backlog_and_its_age(history):
    backlog = figures.backlog(scope_for(history, history.handler))
    assert backlog["count"] == 2
    assert backlog["by_status"] == {"received": 0, "in_progress": 1, "returned": 1}
    assert backlog["age"]["median_days"] == 121.0  # 122 (c5) and 120 (c6) days
    assert [b["count"] for b in backlog["buckets"]] == [0, 0, 0, 2]
    # c5 is past its target; c6 waits for the applicant, which does not count against it
    assert backlog["over_target"] == 1


def test_outcomes_and_resubmission(history):
    out = figures.outcomes(scope_for(history, history.handler))
    assert out["counts"] == {"completed": 3, "rejected": 1, "withdrawn": 1}
    assert out["rates"] == {"completed": 0.6, "rejected": 0.2, "withdrawn": 0.2}
    assert out["submitted"] == 6
    assert out["resubmission_requested"] == 3  # c2, c3, c6
    assert out["resubmission_rate"] == 0.5
    assert out["reasons"] == [
        {"message": "添付書類が不足しています。", "count": 2},
        {"message": "住所を確認してください。", "count": 1},
        {"message": "氏名の記載に誤りがあります。", "count": 1},
    ]


def test_funnel_counts_portal_drafts_only(history):
    data = figures.dashboard(scope_for(history, history.handler))
    [funnel] = data["funnel"]
    # c1, c2, c6 and the abandoned draft (c7 was opened in 2025; c3/c4 at the counter/paper,
    # c5 through マイナポータル)
    assert funnel["opened"] == 4
    assert [(s["reached"], s["dropped"], s["drop_rate"]) for s in funnel["steps"]] == [(4, 1, 0.25)]
    assert funnel["confirmation"] == 3
    assert funnel["submitted"] == 3
    assert funnel["completion_rate"] == 0.75


def test_satisfaction(history):
    sat = figures.satisfaction(scope_for(history, history.handler))
    assert sat["distribution"] == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    assert sat["answered"] == 3
    assert sat["average"] == 3.67
    assert [c["comment"] for c in sat["comments"]] == [
        "添付の方法がわかりにくい",
        "とても簡単でした",
    ]
    assert sat["unhandled"] == 2


def test_effort_beside_baseline(history):
    ProcedureBaseline.objects.create(
        municipality=history.municipality,
        procedure=history.a,
        minutes_per_case=30,
        yearly_cases=120,
        note="紙の申請書を手入力",
    )
    [row] = figures.dashboard(scope_for(history, history.handler))["effort"]
    assert row["baseline_hours"] == 60.0
    assert row["cases"] == 6
    assert row["counter_share"] == 0.3333
    assert row["yearly_estimate"] == 12  # 6 cases in 181 days
    assert row["median_days"] == 10.5


def test_other_department_and_municipality_not_counted(history):
    water = figures.dashboard(scope_for(history, history.water))
    assert water["volume"]["total"]["total"] == 1
    assert water["satisfaction"]["answered"] == 1
    admin = figures.dashboard(scope_for(history, history.admin))
    assert admin["volume"]["total"]["total"] == 7
    assert admin["satisfaction"]["answered"] == 4
    by_department = figures.dashboard(
        scope_for(history, history.admin, department_id=history.b.departments.get().pk)
    )
    assert by_department["volume"]["total"]["total"] == 1
    with pytest.raises(Http404):
        scope_for(history, history.water, procedure_id=history.a.pk)
    with pytest.raises(Http404):
        scope_for(history, history.water, department_id=history.a.departments.get().pk)
    with pytest.raises(Http404):
        scope_for(history, history.other_admin)


def test_nearest_rank_percentile():
    assert figures.nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert figures.nearest_rank([5], 0.9) == 5
    assert figures.nearest_rank([], 0.5) is None
