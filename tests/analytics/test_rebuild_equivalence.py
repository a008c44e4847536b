"""The set-based rebuild (PostgreSQL), the reference rebuild (Python fold) and the incremental
fold (events folded batch by batch as they are recorded) give exactly the same aggregates for
any event history: random kinds, statuses in any order, reasons with odd whitespace, step
and rating data of any JSON type, clocks going backwards, times with microseconds (waiting
times summed in floating point) and around local midnight."""

import copy
import datetime as dt
import random

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.analytics import application_facts, maintenance
from madoguchi.analytics.models import ApplicationFact, DailyCount, PendingApplicationFact
from madoguchi.applications import services
from madoguchi.applications.models import Application, ApplicationEvent, Channel
from madoguchi.tenants.models import Business
from tests.applications.conftest import make_procedure
from tests.conftest import make_staff

from .test_maintenance import snapshot

pytestmark = pytest.mark.django_db

MOVING = sorted(application_facts.MOVING_KINDS)
# Weighted towards 要再申請 and finishing, where the fold's rules are.
STATUSES = ["returned", "returned", "returned", "received", "received", "completed"]
STATUSES += ["rejected", "withdrawn", "in_progress", "draft", ""]
MESSAGES = [
    "",
    "  ",
    "\u3000",
    "添付書類が不足しています。",
    " 添付書類が不足しています。\u3000",
    "添付書類が不足しています。\n",
    "氏名\u2028の記載に誤りがあります。\x1f",
    "\x85住所を確認してください。\xa0",
]
# Around 2026-01-01 00:00 in Tokyo (15:00 UTC the day before): local days change inside.
BASE = dt.datetime(2025, 12, 31, 12, 0, tzinfo=dt.UTC)

json_scalar = st.one_of(
    st.integers(-3, 12),
    st.sampled_from([0, 1, 5, 6, 2.0, 3.5, True, False, None, "3", ""]),
)
odd_data = st.one_of(
    st.dictionaries(st.sampled_from(["index", "reached", "rating", "step"]), json_scalar),
    st.lists(st.integers(0, 3), max_size=2),
    st.sampled_from(["index", 3]),
)
message = st.one_of(
    st.sampled_from(MESSAGES),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=6),
)
status = st.sampled_from(STATUSES)
# (kind, from_status, to_status, message, data)
step = st.tuples(
    st.just("step_completed"),
    st.just(""),
    st.just(""),
    st.just(""),
    st.one_of(
        st.fixed_dictionaries({}, optional={"index": json_scalar, "reached": json_scalar}),
        odd_data,
    ),
)
feedback = st.tuples(
    st.just("feedback"),
    st.just(""),
    st.just(""),
    message,
    st.one_of(st.fixed_dictionaries({"rating": json_scalar}), odd_data),
)
move = st.tuples(st.sampled_from(MOVING), status, status, message, st.just({}))
other = st.tuples(
    st.sampled_from(["started", "started", "note", "viewed"]), status, status, message, odd_data
)
event = st.tuples(
    st.sampled_from([0, 0, 0, 1, 2, 3, 4, 5]),  # which case: mostly the portal one
    st.one_of(move, step, other, feedback),
    st.integers(0, 6 * 86400 * 10**6),  # microseconds after BASE (not in event order)
)


def _as_step(drawn):
    """The same case and time, as a step completed with a plain reached/index."""
    which, (_kind, _from, _to, _text, data), offset = drawn
    data = data if isinstance(data, dict) else {}
    return which, ("step_completed", "", "", "", data), offset


@pytest.fixture
def cases(municipality, other_municipality):
    """Six cases with no events: portal (in the funnel), portal entered by staff, by a
    business, マイナポータル, counter, and one of another municipality."""
    procedure = make_procedure(municipality, slug="kodomo-a")
    procedure.allows_proxy = True
    procedure.save()
    other = make_procedure(other_municipality, slug="kodomo-b")
    clerk = make_staff("kpi_clerk", municipality, role="admin")
    business = Business.objects.create(municipality=municipality, name="さくら介護")
    drafts = [
        services.start_draft(procedure)[0],
        services.start_draft(procedure, entered_by=clerk)[0],
        services.start_draft(procedure, proxy_business=business)[0],
        services.start_draft(procedure, channel=Channel.MYNAPORTAL)[0],
        services.start_draft(procedure, channel=Channel.COUNTER, entered_by=clerk)[0],
        services.start_draft(other)[0],
    ]
    ApplicationEvent.objects.all().delete()
    ApplicationFact.objects.all().delete()
    DailyCount.objects.all().delete()
    return drafts


def fold_incrementally(cuts: list[int]) -> None:
    """As the application does: each batch of just-recorded events folded in its own
    transaction (the facts read back from the database between batches)."""
    events = list(ApplicationEvent.objects.select_related("application").order_by("pk"))
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    for start, end in zip(bounds, bounds[1:], strict=False):
        with transaction.atomic():
            maintenance.fold_events(events[start:end])


def _record(cases, history) -> None:
    """Write the generated history's events (one INSERT, not folded)."""
    ApplicationEvent.objects.bulk_create(
        ApplicationEvent(
            municipality_id=cases[which].municipality_id,
            application=cases[which],
            kind=kind,
            actor_type="system",
            from_status=from_status,
            to_status=to_status,
            message=text,
            data=data,
            created_at=BASE + dt.timedelta(microseconds=offset),
        )
        for which, (kind, from_status, to_status, text, data), offset in history
    )


def _assert_every_rebuild_gives_the_folded_figures() -> None:
    """The figures folded so far equal those of the Python rebuild and, on PostgreSQL, of
    the set-based one."""
    incremental = snapshot()
    assert not PendingApplicationFact.objects.exists()
    maintenance.rebuild_all(method="python")
    assert snapshot() == incremental
    if connection.vendor == "postgresql":
        maintenance.rebuild_all(method="sql")
        assert snapshot() == incremental


@settings(
    max_examples=80,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=st.lists(event, min_size=4, max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=4),
)
def test_every_rebuild_equals_the_incremental_fold(cases, history, cuts):
    with transaction.atomic():
        _record(cases, history)
        fold_incrementally(cuts)
        _assert_every_rebuild_gives_the_folded_figures()
        transaction.set_rollback(True)


@settings(
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(st.one_of(event, event.map(_as_step)), min_size=4, max_size=30))
def test_folding_each_event_as_it_is_recorded_equals_the_rebuilds(cases, history):
    """Each event folded alone, as a resident's step is (a step completed: one statement on
    PostgreSQL), gives what the rebuilds give."""
    with transaction.atomic():
        _record(cases, history)
        events = list(ApplicationEvent.objects.select_related("application").order_by("pk"))
        for one in events:
            with transaction.atomic():
                maintenance.fold_events([one])
        # Folding an event twice changes nothing (a repair running again).
        for one in events[-3:]:
            maintenance.fold_events([one])
        _assert_every_rebuild_gives_the_folded_figures()
        transaction.set_rollback(True)


def random_history(rng: random.Random, cases: list, n: int) -> list[ApplicationEvent]:
    """`n` events in the spirit of the strategies above, from a seeded generator: many cases
    and long histories in one rebuild."""

    def scalar():
        return rng.choice([rng.randint(-3, 12), 2.0, 3.5, True, False, None, "3", ""])

    def odd():
        return rng.choice(
            [{k: scalar() for k in rng.sample(["index", "reached", "rating", "step"], 2)}, [1], "x"]
        )

    events = []
    for _ in range(n):
        case = rng.choice(cases)
        kind = rng.choice([*MOVING, *MOVING, "step_completed", "started", "feedback", "note"])
        data = {}
        if kind == "step_completed":
            data = rng.choice(
                [{"index": scalar()}, {"reached": scalar(), "index": scalar()}, odd()]
            )
        elif kind == "feedback":
            data = rng.choice([{"rating": scalar()}, {"rating": rng.randint(1, 5)}, odd()])
        events.append(
            ApplicationEvent(
                municipality_id=case.municipality_id,
                application=case,
                kind=kind,
                actor_type="system",
                from_status=rng.choice(STATUSES),
                to_status=rng.choice(STATUSES),
                message=rng.choice(MESSAGES),
                data=data,
                created_at=BASE + dt.timedelta(microseconds=rng.randint(0, 30 * 86400 * 10**6)),
            )
        )
    return events


@pytest.mark.parametrize("seed", [1, 2])
def test_many_random_cases_in_one_rebuild(cases, seed):
    rng = random.Random(seed)
    clones = []
    for i in range(300):
        clone = copy.copy(cases[i % len(cases)])
        clone.pk = None
        clones.append(clone)

    clones = Application.objects.bulk_create(clones)
    ApplicationEvent.objects.bulk_create(random_history(rng, clones, 4000))
    fold_incrementally([rng.randint(0, 4000) for _ in range(20)])
    incremental = snapshot()
    assert len(incremental[0]) > 250 and len(incremental[1]) > 300
    facts = incremental[0].values()
    assert sum(1 for f in facts if f["waiting_seconds"] and f["decision_seconds"]) > 20
    maintenance.rebuild_all(method="python")
    assert snapshot() == incremental
    if connection.vendor == "postgresql":
        maintenance.rebuild_all(method="sql")
        assert snapshot() == incremental


def test_a_history_that_exercises_every_rule(cases):
    """One fixed history: a portal case opened, steps reached, submitted, returned twice with
    reasons (waiting times with microseconds), resubmitted, finished, reopened and decided;
    a rating; all in one batch."""
    portal = cases[0]
    t = BASE + dt.timedelta(hours=2, microseconds=123457)

    def record(kind, seconds, from_status="", to_status="", message="", data=None):
        return ApplicationEvent(
            municipality_id=portal.municipality_id,
            application=portal,
            kind=kind,
            actor_type="system",
            from_status=from_status,
            to_status=to_status,
            message=message,
            data=data or {},
            created_at=t + dt.timedelta(seconds=seconds, microseconds=seconds * 7),
        )

    ApplicationEvent.objects.bulk_create(
        [
            record("started", 0),
            record("step_completed", 10, data={"index": 0, "reached": 2}),
            record("step_completed", 20, data={"index": 1}),
            record("submitted", 30, "draft", "received"),
            record("status_changed", 40.1, "received", "returned", " 添付書類が不足しています。"),
            record("resubmitted", 50.2, "returned", "received"),
            record("status_changed", 60.3, "received", "returned", "添付書類が不足しています。"),
            record("status_changed", 70.7, "returned", "completed"),
            record("status_changed", 80, "completed", "in_progress"),
            record("status_changed", 90.9, "in_progress", "rejected"),
            record("feedback", 100, data={"rating": 4}),
        ]
    )
    fold_incrementally([])
    incremental = snapshot()
    fact = incremental[0][portal.pk]
    assert fact["status"] == "rejected" and fact["returned_count"] == 2
    assert fact["furthest_step"] == 2 and fact["waiting_since"] is None
    assert fact["waiting_seconds"] == pytest.approx(10.1 + 10.4, abs=1e-3)
    reasons = [v for k, v in incremental[1].items() if k[2] == application_facts.REASON]
    assert reasons == [(2, "添付書類が不足しています。")]
    maintenance.rebuild_all(method="python")
    assert snapshot() == incremental
    if connection.vendor == "postgresql":
        maintenance.rebuild_all(method="sql")
        assert snapshot() == incremental


def test_python_whitespace_is_what_str_strip_removes():
    assert set(maintenance.PYTHON_WHITESPACE) == {
        chr(c) for c in range(0x110000) if chr(c).isspace()
    }


def test_the_sql_rebuild_needs_postgresql():
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL: the SQL rebuild is the default")
    with pytest.raises(ValueError):
        maintenance.rebuild_all(method="sql")
