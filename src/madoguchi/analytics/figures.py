"""KPI figures (業務改革の指標), exact, from the aggregates folded from the event log.

Volume, outcomes, funnel, reasons and ratings sum `DailyCount` rows; processing times take
quantiles over `ApplicationFact` rows (see application_facts.py for how both are kept); the backlog is the
open cases now, from the applications themselves; comments and validation failures come
from their own tables.

No request, no templates: the dashboard, its CSV/XLSX download, the open-data file and the
benchmark all call these functions with a `Scope` (municipality, the procedures the viewer may
see, optional department/procedure filter, period).

Definitions (documented for staff in docs/opendata.md and on the dashboard):

- Volume: applications *submitted* in the period (受付日時), by channel. Online = ポータル +
  マイナポータル; online rate = online ÷ all submitted.
- Processing time: cases *decided* (完了 or 却下) in the period, from receipt (submitted_at) to
  decision (finished_at). Time waiting for the applicant is the sum of the 要再申請 periods (from
  each status change to 要再申請 until the resubmission, or until the decision); time with the
  municipality is the rest. Median and 90th percentile (nearest rank), in days.
- Backlog: cases open now (受付, 処理中, 要再申請), whatever the period, with their age since
  receipt; over target: open cases past their processing target (`due_at`, which is moved by
  the time waiting for the applicant) and decided cases whose time with the municipality
  exceeded the procedure's `target_days`.
- Outcomes: cases finished in the period by 完了 / 却下 / 取り下げ; resubmission rate: cases
  submitted in the period that were returned (要再申請) at least once; the most frequent
  reasons: the staff's messages of the 要再申請 changes made in the period.
- Form funnel: residents' own portal drafts (no counter, paper or business entry) *opened* in
  the period: opened, reached each step, reached the confirmation page, submitted.
- Validation failures: counts per field and rule recorded in the period (never values).
- Satisfaction: closing-question ratings (5 = とても使いやすい) and comments given in the period.
- Staff effort: the 管理者's pre-BPR baseline beside the counter/paper share that remains and
  the measured time from receipt to decision.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    FloatField,
    Func,
    Max,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from madoguchi.applications.models import Application, ApplicationEvent, Channel, Status
from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import Department, Municipality
from madoguchi.tenants.permissions import seeing_memberships

from . import application_facts
from .models import ApplicationFact, DailyCount

ONLINE_CHANNELS = (Channel.PORTAL, Channel.MYNAPORTAL)
CHANNELS = (Channel.PORTAL, Channel.MYNAPORTAL, Channel.COUNTER, Channel.PAPER)
OPEN_STATUSES = (Status.RECEIVED, Status.IN_PROGRESS, Status.RETURNED)
DECIDED_STATUSES = (Status.COMPLETED, Status.REJECTED)
OUTCOME_STATUSES = (Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN)
AGE_BUCKETS = ((0, 7), (8, 30), (31, 90), (91, None))
DAY = 86400.0


def tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass
class Scope:
    municipality: Municipality
    procedure_ids: list[int]
    start: dt.date  # first day, inclusive
    end: dt.date  # last day, inclusive
    department: Department | None = None
    procedure: Procedure | None = None
    now: dt.datetime = field(default_factory=timezone.now)

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=tz())

    @property
    def end_at(self) -> dt.datetime:
        """Exclusive: midnight after the last day."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz())

    def applications(self):
        return Application.objects.filter(
            municipality_id=self.municipality.pk, procedure_id__in=self.procedure_ids
        )

    def months(self) -> list[dt.date]:
        months, month = [], self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return months


def _seeing(user, municipality: Municipality | None = None) -> list:
    """The user's memberships that see applications (of `municipality` when given): those
    `applications.permissions.visible_condition` counts. A 様式作成者 builds forms and sees
    no application, so none of their figures or residents' comments either."""
    return [
        m
        for m in seeing_memberships(user)
        if municipality is None or m.municipality_id == municipality.pk
    ]


def viewer_municipalities(user) -> list[Municipality]:
    ids = {m.municipality_id for m in _seeing(user)}
    return list(Municipality.objects.filter(pk__in=ids).order_by("lg_code"))


def visible_procedure_ids(user, municipality: Municipality) -> set[int]:
    """Procedures whose cases the user may see in `municipality` (the same rule as
    `applications.permissions.visible_applications`, as procedure ids so no join/DISTINCT is needed)."""
    mine = _seeing(user, municipality)
    procedures = Procedure.objects.filter(municipality=municipality)
    if any(m.department_id is None for m in mine):
        return set(procedures.values_list("pk", flat=True))
    departments = {m.department_id for m in mine}
    if not departments:
        return set()
    return set(procedures.filter(departments__in=departments).values_list("pk", flat=True))


def visible_departments(user, municipality: Municipality) -> list[Department]:
    mine = _seeing(user, municipality)
    departments = Department.objects.filter(municipality=municipality)
    if not any(m.department_id is None for m in mine):
        departments = departments.filter(pk__in={m.department_id for m in mine})
    return list(departments.order_by("code"))


def build_scope(
    user,
    municipality: Municipality,
    *,
    start: dt.date,
    end: dt.date,
    department_id: int | None = None,
    procedure_id: int | None = None,
    now: dt.datetime | None = None,
) -> Scope:
    """The viewer's scope; Http404 for a municipality, department or procedure they may not
    see (never reveal that it exists)."""
    ids = visible_procedure_ids(user, municipality)
    if not ids and not _seeing(user, municipality):
        raise Http404("not a member of this municipality")
    department = procedure = None
    if department_id is not None:
        department = next(
            (d for d in visible_departments(user, municipality) if d.pk == department_id), None
        )
        if department is None:
            raise Http404("department")
        ids &= set(department.procedures.values_list("pk", flat=True))
    if procedure_id is not None:
        if procedure_id not in ids:
            raise Http404("procedure")
        procedure = Procedure.objects.get(pk=procedure_id)
        ids = {procedure_id}
    return Scope(
        municipality=municipality,
        procedure_ids=sorted(ids),
        start=start,
        end=end,
        department=department,
        procedure=procedure,
        now=now or timezone.now(),
    )


# ---------------------------------------------------------------------------------------
# helpers


class Epoch(Func):
    """Seconds since 1970 of a datetime column, as a float computed by the database."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


class _Percentile(Aggregate):
    """PostgreSQL's ordered-set aggregates: the quantile is computed where the rows are."""

    template = "%(function)s(%(quantile)s) WITHIN GROUP (ORDER BY %(expressions)s%(order)s)"
    output_field = FloatField()

    def __init__(self, expression, quantile: float, *, descending: bool = False, **extra):
        order = " DESC" if descending else ""
        super().__init__(expression, quantile=float(quantile), order=order, **extra)


class Median(_Percentile):
    """The median as `statistics.median` computes it (the mean of the two middle values)."""

    function = "PERCENTILE_CONT"
    name = "Median"


class NearestRank(_Percentile):
    """The q-quantile by nearest rank, as `nearest_rank` computes it."""

    function = "PERCENTILE_DISC"
    name = "NearestRank"


def in_database_quantiles() -> bool:
    return connection.vendor == "postgresql"


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def nearest_rank(sorted_values: list[float], q: float) -> float | None:
    """The q-quantile by nearest rank (p90 of 10 values = the 9th smallest). The rank is
    computed exactly (0.9 × 30 is 27, not 27.000000000000004) so it matches PostgreSQL's
    PERCENTILE_DISC."""
    if not sorted_values:
        return None
    rank = math.ceil(Fraction(str(q)) * len(sorted_values))
    return sorted_values[max(rank - 1, 0)]


def _days(value) -> float | None:
    return None if value is None else round(value / DAY, 1)


def summary(seconds: list[float]) -> dict:
    """count, median and p90 in days (rounded to 0.1 day)."""
    values = sorted(seconds)
    return {
        "count": len(values),
        "median_days": _days(statistics.median(values)) if values else None,
        "p90_days": _days(nearest_rank(values, 0.9)),
    }


def _summary_of(count: int, median, p90) -> dict:
    return {
        "count": count,
        "median_days": _days(median) if count else None,
        "p90_days": _days(p90) if count else None,
    }


def _channel_row(counts: dict[str, int]) -> dict:
    row = {c.value: counts.get(c.value, 0) for c in CHANNELS}
    row["total"] = sum(row.values())
    row["online"] = row[Channel.PORTAL] + row[Channel.MYNAPORTAL]
    row["online_rate"] = rate(row["online"], row["total"])
    return row


def daily(scope: Scope, measure: str):
    """The scope's daily counts of one measure (see application_facts)."""
    return DailyCount.objects.filter(
        municipality_id=scope.municipality.pk,
        measure=measure,
        day__gte=scope.start,
        day__lte=scope.end,
        procedure_id__in=scope.procedure_ids,
    )


def _sums(rows, *fields) -> list[tuple]:
    return list(rows.values_list(*fields).annotate(n=Sum("count")).order_by())


# ---------------------------------------------------------------------------------------
# 1. volume by channel and online rate


def volume(scope: Scope) -> dict:
    by_month: dict[dt.date, Counter] = defaultdict(Counter)
    by_procedure: dict[int, Counter] = defaultdict(Counter)
    # One pass: (month, procedure, channel) sums give both breakdowns.
    rows = daily(scope, application_facts.SUBMITTED).annotate(month=TruncMonth("day"))
    for month, pid, channel, n in _sums(rows, "month", "procedure_id", "key"):
        if isinstance(month, dt.datetime):
            month = month.date()
        by_month[month.replace(day=1)][channel] += n
        by_procedure[pid][channel] += n
    total: Counter = Counter()
    for counts in by_procedure.values():
        total.update(counts)
    return {
        "months": [{"month": m, **_channel_row(dict(by_month.get(m, {})))} for m in scope.months()],
        "procedures": {pid: _channel_row(dict(counts)) for pid, counts in by_procedure.items()},
        "total": _channel_row(dict(total)),
    }


# ---------------------------------------------------------------------------------------
# 2. processing time, backlog, over target


def decided_facts(scope: Scope):
    """Cases decided (完了・却下) in the period, from their folded facts."""
    return ApplicationFact.objects.filter(
        municipality_id=scope.municipality.pk,
        finished_on__gte=scope.start,
        finished_on__lte=scope.end,
        decision_seconds__isnull=False,
        procedure_id__in=scope.procedure_ids,
    )


def processing(scope: Scope, targets: dict[int, int | None]) -> dict:
    if in_database_quantiles():
        return _processing_in_database(scope, targets)
    decided = decided_facts(scope)
    rows = list(
        decided.values_list("procedure_id", "decision_seconds", "waiting_seconds", "returned_count")
    )

    def figures(selected) -> dict:
        total = [s for _p, s, _w, _r in selected]
        waiting = [w for _p, _s, w, returned in selected if returned]
        municipal = [s - w for _p, s, w, _r in selected]
        late = sum(1 for p, s, w, _r in selected if targets.get(p) and s - w > targets[p] * DAY)
        return {
            "total": summary(total),
            "municipality": summary(municipal),
            "waiting": summary(waiting),
            "returned_applications": len(waiting),
            "late": late,
        }

    per_procedure: dict[int, list] = defaultdict(list)
    for row in rows:
        per_procedure[row[0]].append(row)
    return {
        "total": figures(rows),
        "procedures": {pid: figures(selected) for pid, selected in per_procedure.items()},
    }


PROCESSING_SQL = """
SELECT f.procedure_id, GROUPING(f.procedure_id) AS whole,
  COUNT(*),
  PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY f.decision_seconds),
  PERCENTILE_DISC(0.9) WITHIN GROUP (ORDER BY f.decision_seconds),
  PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY f.decision_seconds - f.waiting_seconds),
  PERCENTILE_DISC(0.9) WITHIN GROUP (ORDER BY f.decision_seconds - f.waiting_seconds),
  COUNT(*) FILTER (WHERE f.returned_count > 0),
  PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY f.waiting_seconds)
    FILTER (WHERE f.returned_count > 0),
  PERCENTILE_DISC(0.9) WITHIN GROUP (ORDER BY f.waiting_seconds)
    FILTER (WHERE f.returned_count > 0),
  COUNT(*) FILTER (
    WHERE t.days > 0 AND f.decision_seconds - f.waiting_seconds > t.days * 86400.0)
FROM {table} f
JOIN UNNEST(%s::bigint[], %s::integer[]) AS t(procedure_id, days)
  ON t.procedure_id = f.procedure_id
WHERE f.municipality_id = %s AND f.finished_on >= %s AND f.finished_on <= %s
  AND f.decision_seconds IS NOT NULL
GROUP BY GROUPING SETS ((f.procedure_id), ())
"""


def _processing_in_database(scope: Scope, targets: dict[int, int | None]) -> dict:
    """One pass over the index of decided cases: per procedure and for the whole scope
    (GROUPING SETS), every quantile computed by PostgreSQL where the rows are."""
    ids = list(scope.procedure_ids)
    sql = PROCESSING_SQL.format(table=ApplicationFact._meta.db_table)
    params = [
        ids,
        [targets.get(pid) or 0 for pid in ids],
        scope.municipality.pk,
        scope.start,
        scope.end,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    def figures(row) -> dict:
        _pid, _whole, n, t50, t90, m50, m90, returned, w50, w90, late = row
        return {
            "total": _summary_of(n, t50, t90),
            "municipality": _summary_of(n, m50, m90),
            "waiting": _summary_of(returned, w50, w90),
            "returned_applications": returned,
            "late": late,
        }

    total = next((figures(r) for r in rows if r[1]), None) or figures(
        (None, 1, 0, None, None, None, None, 0, None, None, 0)
    )
    return {"total": total, "procedures": {r[0]: figures(r) for r in rows if not r[1]}}


def backlog(scope: Scope) -> dict:
    # Counting `status` (never NULL), not `id`: every column read is in the kpi_app_open
    # index, so PostgreSQL answers from the index alone (~25 ms instead of ~140 ms for
    # 64,000 open cases).
    open_applications = scope.applications().filter(
        status__in=OPEN_STATUSES, submitted_at__isnull=False
    )
    now = scope.now
    buckets = {}
    for low, high in AGE_BUCKETS:
        age = Q(submitted_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            age &= Q(submitted_at__gt=now - dt.timedelta(days=high + 1))
        buckets[f"b{low}"] = Count("status", filter=age)
    over = Q(due_at__lt=now) & ~Q(status=Status.RETURNED)
    rows = list(
        open_applications.values("procedure_id", "status")
        .annotate(n=Count("status"), over=Count("status", filter=over), **buckets)
        .order_by()
    )
    count = sum(r["n"] for r in rows)
    by_status: Counter = Counter()
    by_procedure: Counter = Counter()
    for row in rows:
        by_status[row["status"]] += row["n"]
        by_procedure[row["procedure_id"]] += row["n"]
    age_seconds = Epoch(Value(now, output_field=DateTimeField())) - Epoch("submitted_at")
    if in_database_quantiles():
        # Ages are now − receipt: their median is now − the median receipt time, so the
        # quantiles are taken over the indexed column itself (newest first = youngest first).
        received = open_applications.aggregate(
            median=Median(Epoch("submitted_at"), 0.5),
            p90=NearestRank(Epoch("submitted_at"), 0.9, descending=True),
        )
        stamp = now.timestamp()
        age = _summary_of(
            count,
            None if received["median"] is None else stamp - received["median"],
            None if received["p90"] is None else stamp - received["p90"],
        )
    else:
        age = summary(
            list(
                open_applications.annotate(age=age_seconds).values_list("age", flat=True).order_by()
            )
        )
    return {
        "count": count,
        "by_status": {s.value: by_status.get(s.value, 0) for s in map(Status, OPEN_STATUSES)},
        "age": age,
        "buckets": [
            {"low": low, "high": high, "count": sum(r[f"b{low}"] for r in rows)}
            for low, high in AGE_BUCKETS
        ],
        "over_target": sum(r["over"] for r in rows),
        "procedures": dict(by_procedure),
    }


# ---------------------------------------------------------------------------------------
# 3. outcomes, resubmission


def outcomes(scope: Scope, *, reasons: int = 10) -> dict:
    counts: Counter = Counter()
    by_procedure: dict[int, dict[str, int]] = defaultdict(dict)
    for pid, status, n in _sums(daily(scope, application_facts.FINISHED), "procedure_id", "key"):
        if status not in OUTCOME_STATUSES:
            continue
        by_procedure[pid][status] = n
        counts[status] += n
    total = sum(counts.values())
    submitted_count = daily(scope, application_facts.SUBMITTED).aggregate(n=Sum("count"))["n"] or 0
    returned_count = (
        daily(scope, application_facts.RETURNED_APPLICATION).aggregate(n=Sum("count"))["n"] or 0
    )
    reason_rows = (
        daily(scope, application_facts.REASON)
        .values("key")
        .annotate(n=Sum("count"), message=Max("label"))
        .filter(n__gt=0)
        .order_by("-n", "message")[:reasons]
    )
    return {
        "counts": {s.value: counts.get(s.value, 0) for s in map(Status, OUTCOME_STATUSES)},
        "rates": {
            s.value: rate(counts.get(s.value, 0), total) for s in map(Status, OUTCOME_STATUSES)
        },
        "total": total,
        "procedures": dict(by_procedure),
        "submitted": submitted_count,
        "resubmission_requested": returned_count,
        "resubmission_rate": rate(returned_count, submitted_count),
        "reasons": [{"message": r["message"], "count": r["n"]} for r in reason_rows],
    }


# ---------------------------------------------------------------------------------------
# 4. form funnel and validation failures


def funnel(scope: Scope, procedures: dict[int, Procedure]) -> list[dict]:
    """Per procedure with portal drafts opened in the period."""
    reached: dict[int, Counter] = defaultdict(Counter)
    for pid, furthest, n in _sums(daily(scope, application_facts.FUNNEL), "procedure_id", "key"):
        if n:
            reached[pid][int(furthest)] += n
    submitted: Counter = Counter(
        dict(_sums(daily(scope, application_facts.FUNNEL_SUBMITTED), "procedure_id"))
    )
    result = []
    for pid in sorted(reached, key=lambda p: procedures[p].reading if p in procedures else ""):
        procedure = procedures.get(pid)
        version = procedure.current_version if procedure else None
        steps = list(version.form.steps) if version else []
        counts = reached[pid]
        opened = sum(counts.values())
        rows = []
        for index, step in enumerate(steps):
            n = sum(c for furthest, c in counts.items() if furthest >= index)
            rows.append({"index": index, "key": step.key, "title": step.title, "reached": n})
        confirmation = sum(c for furthest, c in counts.items() if furthest >= len(steps))
        confirmation = max(confirmation, submitted[pid])
        # Whoever got further passed every earlier stage. Counts can say otherwise for drafts
        # whose steps were counted before hidden steps were recorded (only visible steps) or
        # whose form got fewer steps in a later version: a stage never shows fewer people
        # than the one after it, so no drop-off is negative.
        floor = confirmation
        for row in reversed(rows):
            row["reached"] = floor = max(row["reached"], floor)
        sequence = [*(r["reached"] for r in rows), confirmation, submitted[pid]]
        for i, row in enumerate(rows):
            following = sequence[i + 1]
            row["dropped"] = row["reached"] - following
            row["drop_rate"] = rate(row["dropped"], row["reached"])
        result.append(
            {
                "procedure_id": pid,
                "procedure": procedure.name if procedure else str(pid),
                "opened": opened,
                "steps": rows,
                "confirmation": confirmation,
                "confirmation_dropped": confirmation - submitted[pid],
                "confirmation_drop_rate": rate(confirmation - submitted[pid], confirmation),
                "submitted": submitted[pid],
                "completion_rate": rate(submitted[pid], opened),
            }
        )
    return result


def validation_failures(scope: Scope, *, limit: int = 10) -> list[dict]:
    """The fields that most often failed validation, with the rule (never a value)."""
    from .models import ValidationFailure

    rows = (
        ValidationFailure.objects.filter(
            municipality_id=scope.municipality.pk,
            form_version__procedure_id__in=scope.procedure_ids,
            month__gte=scope.start.replace(day=1),
            month__lte=scope.end,
        )
        .values("form_version__procedure__name", "field_key", "rule")
        .annotate(n=Sum("count"), label=Max("field_label"))
        .order_by("-n", "form_version__procedure__name", "field_key", "rule")[:limit]
    )
    return [
        {
            "procedure": row["form_version__procedure__name"],
            "field_key": row["field_key"],
            "field": row["label"],
            "rule": row["rule"],
            "count": row["n"],
        }
        for row in rows
    ]


# ---------------------------------------------------------------------------------------
# 5. satisfaction


def satisfaction(scope: Scope, *, comments: int = 50) -> dict:
    events = ApplicationEvent.objects.filter(
        municipality_id=scope.municipality.pk,
        kind=ApplicationEvent.Kind.FEEDBACK,
        created_at__gte=scope.start_at,
        created_at__lt=scope.end_at,
        application__procedure_id__in=scope.procedure_ids,
    )
    distribution: Counter = Counter()
    for rating, n in _sums(daily(scope, application_facts.RATING), "key"):
        if rating.isdigit() and 1 <= int(rating) <= 5:
            distribution[int(rating)] += n
    answered = sum(distribution.values())
    average = round(sum(r * n for r, n in distribution.items()) / answered, 2) if answered else None
    comment_rows = []
    for event in (
        events.exclude(data__comment="")
        .exclude(data__comment=None)
        .select_related("application__procedure", "review", "review__handled_by")
        .order_by("-created_at", "-pk")[:comments]
    ):
        review = getattr(event, "review", None)
        comment_rows.append(
            {
                "id": event.pk,
                "created_at": event.created_at,
                "procedure": event.application.procedure.name,
                "rating": (event.data or {}).get("rating"),
                "comment": (event.data or {}).get("comment", ""),
                "handled": review is not None,
                "handled_at": review.handled_at if review else None,
                "handled_by": review.handled_by.get_username() if review else "",
                "note": review.note if review else "",
            }
        )
    return {
        "distribution": {r: distribution.get(r, 0) for r in range(1, 6)},
        "answered": answered,
        "average": average,
        "comments": comment_rows,
        "unhandled": sum(1 for c in comment_rows if not c["handled"]),
    }


# ---------------------------------------------------------------------------------------
# 6. staff effort against the baseline


def effort(scope: Scope, volume_figures: dict, processing_figures: dict, procedures) -> list:
    from .models import ProcedureBaseline

    days = (scope.end - scope.start).days + 1
    rows = []
    for baseline in ProcedureBaseline.objects.filter(procedure_id__in=scope.procedure_ids):
        counts = volume_figures["procedures"].get(baseline.procedure_id) or _channel_row({})
        offline = counts[Channel.COUNTER] + counts[Channel.PAPER]
        timing = processing_figures["procedures"].get(baseline.procedure_id)
        yearly = round(counts["total"] * 365 / days) if days > 0 else None
        rows.append(
            {
                "procedure_id": baseline.procedure_id,
                "procedure": procedures[baseline.procedure_id].name,
                "baseline_minutes": baseline.minutes_per_case,
                "baseline_yearly": baseline.yearly_cases,
                "baseline_hours": round(baseline.minutes_per_case * baseline.yearly_cases / 60, 1),
                "note": baseline.note,
                "cases": counts["total"],
                "yearly_estimate": yearly,
                "counter_share": rate(offline, counts["total"]),
                "median_days": timing["municipality"]["median_days"] if timing else None,
            }
        )
    return sorted(rows, key=lambda r: r["procedure"])


# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quantile_memory():
    """The quantiles sort a year of decided cases (~10 MB for 150,000): let PostgreSQL do it
    in memory for these queries only (SET LOCAL ends with the transaction)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def dashboard(scope: Scope) -> dict:
    """Every figure of the dashboard for `scope`."""
    with _quantile_memory():
        return _dashboard(scope)


def _dashboard(scope: Scope) -> dict:
    procedures = {
        p.pk: p
        for p in Procedure.objects.filter(pk__in=scope.procedure_ids)
        .select_related("current_version")
        .prefetch_related("departments")
    }
    targets = {pid: p.target_days for pid, p in procedures.items()}
    vol = volume(scope)
    proc = processing(scope, targets)
    figures = {
        "volume": vol,
        "processing": proc,
        "backlog": backlog(scope),
        "outcomes": outcomes(scope),
        "funnel": funnel(scope, procedures),
        "validation": validation_failures(scope),
        "satisfaction": satisfaction(scope),
        "effort": effort(scope, vol, proc, procedures),
    }
    figures["procedures"] = procedures
    figures["departments"] = by_department(vol, procedures)
    return figures


def by_department(vol: dict, procedures: dict[int, Procedure]) -> list[dict]:
    """Volume per department (a case of a procedure handled by two departments counts in
    both)."""
    rows: dict[int, Counter] = {}
    names: dict[int, str] = {}
    for pid, row in vol["procedures"].items():
        procedure = procedures.get(pid)
        if procedure is None:
            continue
        for department in procedure.departments.all():
            names[department.pk] = department.name
            counter = rows.setdefault(department.pk, Counter())
            counter.update({c.value: row[c.value] for c in CHANNELS})
    return [
        {"department_id": d, "department": names[d], **_channel_row(dict(rows[d]))}
        for d in sorted(rows, key=lambda d: names[d])
    ]
