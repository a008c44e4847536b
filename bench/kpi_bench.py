"""KPI dashboard benchmark: 1,000,000 applications and ~5,000,000 events (PostgreSQL only).
Prints figures; asserts nothing.

    .venv/bin/python bench/kpi_bench.py        # or: python bench/run.py kpi

Database: KPI_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/madoguchi_kpi_bench),
a dedicated database, created when missing, migrated, and filled once with COPY: when it
already holds the generated rows the generation is skipped (idempotent). Never point it at a
database whose data you want to keep. BENCH_APPLICATIONS (default 1,000,000), BENCH_RUNS
(default 10 timed runs after 2 warm-up runs).

Data: two municipalities (70 % / 30 % of the cases), 10 departments and 20 procedures each,
cases over the last 3 years: 5 % abandoned portal drafts, the rest submitted; channels 60 %
portal / 20 % マイナポータル / 15 % 窓口 / 5 % 紙; histories with started, step_completed,
submitted, viewed, status changes, 10 % returned and resubmitted, withdrawals, and feedback
on 20 % of portal cases — about 5 events per case.

Timed: `figures.dashboard` + `tables.build` (every query of the dashboard page) for the 管理者
of the larger municipality over the last 365 days (about 230,000 cases), and for a 担当者 of
one department. Aim: median under 1 s per full dashboard load.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchdb  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/madoguchi_kpi_bench"
TOTAL = int(os.environ.get("BENCH_APPLICATIONS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
SEED = 20260401
MUNICIPALITIES = [("131016", "千代田区", 0.7), ("131024", "中央区", 0.3)]
PROCEDURES = 20
DEPARTMENTS = 10
FORM = {
    "title": "ベンチマーク用の申請",
    "steps": [
        {
            "key": f"s{i}",
            "title": f"ステップ{i + 1}",
            "fields": [{"key": f"f{i}", "type": "text", "label": f"項目{i + 1}"}],
        }
        for i in range(2)
    ],
}
REASONS = [
    "添付書類が不足しています。",
    "氏名の記載に誤りがあります。",
    "住所を確認してください。",
    "口座情報が読み取れません。",
]


def setup_django() -> None:
    benchdb.setup_django(
        benchdb.database_url("KPI_BENCH_DATABASE_URL", DEFAULT_URL), prefix="madoguchi-kpi-bench-"
    )


def ensure_catalog():
    from django.contrib.auth import get_user_model

    from madoguchi.tenants.models import Municipality, StaffMembership

    User = get_user_model()
    world = []
    for lg_code, name, share in MUNICIPALITIES:
        municipality, _ = Municipality.objects.get_or_create(
            lg_code=lg_code, defaults={"name": name, "prefecture": "東京都"}
        )
        departments, procedures = benchdb.ensure_departments_and_procedures(
            municipality,
            departments=DEPARTMENTS,
            procedures=PROCEDURES,
            slug="kpi-{i:02d}",
            name="手続{i:02d}",
            reading="てつづき{i:02d}",
            form=FORM,
        )
        users = {}
        for role, department in (("admin", None), ("handler", departments[0])):
            user, created = User.objects.get_or_create(username=f"kpi-{role}-{lg_code}")
            if created:
                StaffMembership.objects.create(
                    user=user, municipality=municipality, department=department, role=role
                )
            users[role] = user
        world.append((municipality, share, procedures, users))
    return world


class Ids:
    def __init__(self, start: int):
        self.next = start

    def take(self) -> int:
        self.next += 1
        return self.next


def generate(world) -> None:
    from django.db import connection

    from madoguchi.applications.models import Application, ApplicationEvent

    existing = Application.objects.filter(procedure__slug__startswith="kpi-").count()
    if existing >= TOTAL:
        events = ApplicationEvent.objects.count()
        print(f"data: {existing:,} applications, {events:,} events present (generation skipped)")
        return
    if existing:
        print(f"data: {existing:,} applications from an interrupted run: regenerating")
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE applications_applicationevent, applications_application CASCADE"
            )

    rng = random.Random(SEED)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(days=3 * 365)
    span = (now - start).total_seconds()
    app_columns = [f.column for f in Application._meta.concrete_fields]
    event_columns = [f.column for f in ApplicationEvent._meta.concrete_fields if f.column != "id"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM applications_application")
        ids = Ids(cursor.fetchone()[0])
    weights = [1 / (r + 1) ** 0.9 for r in range(PROCEDURES)]
    app_defaults = {c: benchdb.column_default(Application, c) for c in app_columns}
    event_defaults = {c: benchdb.column_default(ApplicationEvent, c) for c in event_columns}
    empty = "{}"
    print(f"data: generating {TOTAL:,} applications and their events ...", flush=True)
    t0 = time.perf_counter()
    n_events = 0
    sequence: dict[tuple[int, int], int] = {}
    chunk = 100_000
    tables = ("applications_application", "applications_applicationevent")
    with connection.cursor() as cursor:
        raw = cursor.connection
        # Bulk load as one would: without the secondary indexes (rebuilt afterwards) and
        # without per-row triggers and FK checks (benchdb.without_row_triggers, which
        # recomputes the per-procedure status counts the triggers keep).
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [list(tables)],
        )
        dropped = cursor.fetchall()
        for name, _definition in dropped:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        with benchdb.without_row_triggers(cursor):
            app_copy_sql = f"COPY applications_application ({', '.join(app_columns)}) FROM STDIN"
            event_copy_sql = (
                f"COPY applications_applicationevent ({', '.join(event_columns)}) FROM STDIN"
            )
            for first in range(0, TOTAL, chunk):
                event_rows = []
                with raw.cursor() as pg, pg.copy(app_copy_sql) as copy:
                    for _n in range(first, min(first + chunk, TOTAL)):
                        municipality, _share, procedures, users = rng.choices(
                            world, [w[1] for w in world]
                        )[0]
                        procedure = rng.choices(procedures, weights)[0]
                        created = start + dt.timedelta(seconds=rng.random() * span)
                        app_id = ids.take()
                        events = [("started", "applicant", "", "", "", {}, created)]
                        draft = rng.random() < 0.05
                        channel = (
                            "portal"
                            if draft
                            else rng.choices(
                                ["portal", "mynaportal", "counter", "paper"], [0.6, 0.2, 0.15, 0.05]
                            )[0]
                        )
                        furthest = rng.randint(0, 1) if draft else 2
                        for step in range(min(furthest, 1)):  # one event: keep ~5 per case
                            events.append(
                                (
                                    "step_completed",
                                    "applicant",
                                    "",
                                    "",
                                    "",
                                    {"step": f"s{step}", "index": step},
                                    created + dt.timedelta(minutes=2 * (step + 1)),
                                )
                            )
                        status, submitted, finished, receipt = "draft", None, None, None
                        if not draft:
                            submitted = created + dt.timedelta(minutes=10)
                            key = (municipality.pk, submitted.year)
                            sequence[key] = sequence.get(key, 0) + 1
                            receipt = f"{submitted.year}-{sequence[key]:07d}"
                            events.append(
                                ("submitted", "applicant", "draft", "received", "", {}, submitted)
                            )
                            age = (now - submitted).days
                            open_share = 0.9 if age < 30 else (0.3 if age < 180 else 0.02)
                            t = submitted + dt.timedelta(hours=rng.randint(2, 72))
                            status = "received"
                            if rng.random() > 0.15 or age > 60:
                                events.append(
                                    (
                                        "status_changed",
                                        "staff",
                                        "received",
                                        "in_progress",
                                        "",
                                        {},
                                        t,
                                    )
                                )
                                status = "in_progress"
                            if rng.random() < 0.1 and t < now:
                                t += dt.timedelta(days=rng.randint(1, 5))
                                events.append(
                                    (
                                        "status_changed",
                                        "staff",
                                        status,
                                        "returned",
                                        rng.choice(REASONS),
                                        {},
                                        t,
                                    )
                                )
                                status = "returned"
                                if rng.random() < 0.85:
                                    t += dt.timedelta(days=rng.randint(1, 10))
                                    events.append(
                                        (
                                            "resubmitted",
                                            "applicant",
                                            "returned",
                                            "received",
                                            "",
                                            {},
                                            t,
                                        )
                                    )
                                    status = "received"
                            if rng.random() > open_share and status != "returned":
                                final = rng.choices(
                                    ["completed", "rejected", "withdrawn"], [0.85, 0.05, 0.1]
                                )[0]
                                t += dt.timedelta(days=rng.randint(1, 30))
                                finished = min(t, now)
                                kind = "withdrawn" if final == "withdrawn" else "status_changed"
                                actor = "applicant" if final == "withdrawn" else "staff"
                                events.append((kind, actor, status, final, "", {}, finished))
                                status = final
                            if channel == "portal" and rng.random() < 0.2:
                                events.append(
                                    (
                                        "feedback",
                                        "applicant",
                                        "",
                                        "",
                                        "",
                                        {
                                            "rating": rng.randint(1, 5),
                                            "comment": "使いやすかった"
                                            if rng.random() < 0.1
                                            else "",
                                        },
                                        submitted + dt.timedelta(minutes=1),
                                    )
                                )
                        values = {
                            "id": app_id,
                            "municipality_id": municipality.pk,
                            "procedure_id": procedure.pk,
                            "form_version_id": procedure.current_version_id,
                            "channel": channel,
                            "status": status,
                            "receipt_number": receipt,
                            "draft_values": "{}",
                            "answers": "{}",
                            "current_step": "",
                            "furthest_step_index": furthest,
                            "applicant_name": "",
                            "applicant_name_kana": "",
                            "applicant_email": "",
                            "verified_email": "",
                            "email_verified_at": None,
                            "is_proxy": False,
                            "proxy_name": "",
                            "proxy_business_id": None,
                            "proxy_user_id": None,
                            "entered_by_id": users["admin"].pk
                            if channel in ("counter", "paper")
                            else None,
                            "assigned_to_id": None,
                            "lock_version": 0,
                            "search_name": "",
                            "search_kana": "",
                            "resubmitted_at": None,
                            "due_at": submitted + dt.timedelta(days=14) if submitted else None,
                            "status_token_digest": f"{app_id:064x}" if submitted else "",
                            "resume_token_digest": "" if submitted else f"r{app_id:063x}",
                            "created_at": created,
                            "updated_at": finished or submitted or created,
                            "submitted_at": submitted,
                            "finished_at": finished,
                        }
                        copy.write_row(
                            [values[c] if c in values else app_defaults[c] for c in app_columns]
                        )
                        for kind, actor, from_s, to_s, message, data, when in events:
                            event_rows.append(
                                {
                                    "municipality_id": municipality.pk,
                                    "application_id": app_id,
                                    "kind": kind,
                                    "actor_type": actor,
                                    "actor_user_id": None,
                                    "actor_client_id": None,
                                    "from_status": from_s,
                                    "to_status": to_s,
                                    "message": message,
                                    "data": json.dumps(data, ensure_ascii=False) if data else empty,
                                    "created_at": when,
                                }
                            )
                with raw.cursor() as pg, pg.copy(event_copy_sql) as copy:
                    for row in event_rows:
                        copy.write_row(
                            [row[c] if c in row else event_defaults[c] for c in event_columns]
                        )
                n_events += len(event_rows)
                print(
                    f"  {min(first + chunk, TOTAL):,} applications, {n_events:,} events"
                    f" ({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('applications_application', 'id'), %s)",
                [ids.next],
            )
        print(f"  rebuilding {len(dropped)} indexes ...", flush=True)
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in dropped:
            cursor.execute(definition)
    benchdb.vacuum_analyze("applications_application", "applications_applicationevent")
    print(f"data: {TOTAL:,} applications, {n_events:,} events in {time.perf_counter() - t0:.0f} s")


def ensure_aggregates() -> None:
    """The generated rows bypass the application (COPY), so the KPI aggregates are built
    from the event log once, with the same fold the application uses event by event."""
    from madoguchi.analytics import maintenance
    from madoguchi.analytics.models import ApplicationFact, DailyCount
    from madoguchi.applications.models import Application

    facts = ApplicationFact.objects.count()
    if facts and facts == Application.objects.count() and DailyCount.objects.exists():
        print(f"aggregates: {facts:,} case facts present (rebuild skipped)")
        return
    print("aggregates: rebuilding from the event log ...", flush=True)
    t0 = time.perf_counter()
    last = [0.0]

    def progress(done, total):
        if time.perf_counter() - last[0] > 10 or done >= total:
            last[0] = time.perf_counter()
            print(f"  {done:,}/{total:,} cases ({time.perf_counter() - t0:.0f} s)", flush=True)

    summary = maintenance.rebuild_all(progress=progress)
    benchdb.vacuum_analyze("analytics_applicationfact", "analytics_dailycount")
    print(
        f"aggregates: {summary['cases']:,} case facts, {summary['daily_counts']:,} daily counts"
        f" in {time.perf_counter() - t0:.0f} s"
    )


def measure_incremental(world) -> None:
    """What keeping the aggregates costs a write: staff status changes through the real
    service (one event folded each), timed with and without the fold receiver."""
    from django.db import transaction

    from madoguchi.analytics.maintenance import on_events_recorded
    from madoguchi.applications import staff_actions
    from madoguchi.applications.models import Application, Status
    from madoguchi.applications.signals import events_recorded

    municipality, _share, _procedures, users = world[0]
    cases = list(
        Application.objects.filter(municipality=municipality, status=Status.RECEIVED).order_by(
            "-id"
        )[:400]
    )
    if len(cases) < 400:
        return

    def run(batch) -> float:
        t = time.perf_counter()
        for case in batch:
            with transaction.atomic():
                staff_actions.change_status(
                    case,
                    Status.IN_PROGRESS,
                    user=users["admin"],
                    expected_version=case.lock_version,
                )
                transaction.set_rollback(True)  # leave the benchmark data as it was
        return (time.perf_counter() - t) * 1000 / len(batch)

    run(cases[:20])  # warm-up
    with_fold = run(cases[:200])
    events_recorded.disconnect(dispatch_uid="analytics.fold_events")
    try:
        without = run(cases[200:])
    finally:
        events_recorded.connect(on_events_recorded, dispatch_uid="analytics.fold_events")
    print(
        f"  staff status change: {with_fold:.1f} ms with the KPI fold, {without:.1f} ms without"
        f" (+{with_fold - without:.1f} ms per event)"
    )


def ensure_kpi_indexes() -> None:
    """The KPI indexes of analytics migration 0002 (CREATE INDEX IF NOT EXISTS: idempotent)."""
    import importlib

    from django.db import connection

    migration = importlib.import_module("madoguchi.analytics.migrations.0002_kpi_indexes")
    with connection.schema_editor() as editor:
        migration.create(None, editor)


def timed(label: str, fn) -> None:
    for _ in range(2):
        fn()
    samples = []
    for _ in range(RUNS):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    print(f"  {label:<58} median {statistics.median(samples):7.1f} ms   max {samples[-1]:7.1f} ms")


def main() -> int:
    setup_django()
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from madoguchi.analytics import figures, tables
    from madoguchi.applications.models import Application, ApplicationEvent

    world = ensure_catalog()
    generate(world)
    ensure_kpi_indexes()
    ensure_aggregates()
    if os.environ.get("KPI_BENCH_GENERATE_ONLY"):
        return 0
    municipality, _share, _procedures, users = world[0]
    end = timezone.localdate()
    start = end - dt.timedelta(days=364)
    year_cases = Application.objects.filter(
        municipality=municipality, submitted_at__date__gte=start
    ).count()
    print(
        f"kpi dashboard  applications={Application.objects.count():,}"
        f"  events={ApplicationEvent.objects.count():,}"
        f"  ({municipality.name}, {start}〜{end}: {year_cases:,} cases)  runs={RUNS}"
    )

    def load(user, **kwargs):
        def run():
            if hasattr(user, "_madoguchi_memberships"):
                del user._madoguchi_memberships
            scope = figures.build_scope(user, municipality, start=start, end=end, **kwargs)
            tables.build(figures.dashboard(scope))

        return run

    timed("full dashboard, 管理者 (whole municipality, 1 year)", load(users["admin"]))
    timed("full dashboard, 担当者 (one department, 1 year)", load(users["handler"]))
    busiest = (
        Application.objects.filter(municipality=municipality)
        .values("procedure_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()["procedure_id"]
    )
    timed("full dashboard, 管理者, busiest procedure", load(users["admin"], procedure_id=busiest))
    # per-part timings, to see where the time goes
    scope = figures.build_scope(users["admin"], municipality, start=start, end=end)
    procedures = {p.pk: p for p in figures.Procedure.objects.filter(pk__in=scope.procedure_ids)}
    targets = {pid: p.target_days for pid, p in procedures.items()}
    timed("  volume", lambda: figures.volume(scope))
    timed("  processing (median/p90, waiting time)", lambda: figures.processing(scope, targets))
    timed("  backlog", lambda: figures.backlog(scope))
    timed("  outcomes + reasons", lambda: figures.outcomes(scope))
    timed("  funnel", lambda: figures.funnel(scope, procedures))
    timed("  satisfaction", lambda: figures.satisfaction(scope))
    print("  aim: median < 1000 ms per full dashboard load")
    measure_incremental(world)
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
