"""KPI figures (業務改革の指標), as exact queries over applications and their event log.

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

import datetime as dt
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, Count, FloatField, Func, IntegerField, Max, Q, Sum, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from madoguchi.applications.models import Application, ApplicationEvent, Channel, Status
from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import Department, Municipality
from madoguchi.tenants.permissions import memberships

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


def viewer_municipalities(user) -> list[Municipality]:
    ids = {m.municipality_id for m in memberships(user)}
    return list(Municipality.objects.filter(pk__in=ids).order_by("lg_code"))


def visible_procedure_ids(user, municipality: Municipality) -> set[int]:
    """Procedures whose cases the user may see in `municipality` (the same rule as
    `permissions.visible_applications`, as procedure ids so no join/DISTINCT is needed)."""
    mine = [m for m in memberships(user) if m.municipality_id == municipality.pk]
    procedures = Procedure.objects.filter(municipality=municipality)
    if any(m.department_id is None for m in mine):
        return set(procedures.values_list("pk", flat=True))
    departments = {m.department_id for m in mine}
    if not departments:
        return set()
    return set(procedures.filter(departments__in=departments).values_list("pk", flat=True))


def visible_departments(user, municipality: Municipality) -> list[Department]:
    mine = [m for m in memberships(user) if m.municipality_id == municipality.pk]
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
    if not ids and not any(m.municipality_id == municipality.pk for m in memberships(user)):
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
    """Seconds since 1970 of a datetime column, as a float computed by the database: loading
    200,000 floats is far cheaper than loading (and time-zone converting) as many datetimes."""

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


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def nearest_rank(sorted_values: list[float], q: float) -> float | None:
    """The q-quantile by nearest rank (p90 of 10 values = the 9th smallest)."""
    if not sorted_values:
        return None
    index = max(math.ceil(q * len(sorted_values)) - 1, 0)
    return sorted_values[index]


def summary(seconds: list[float]) -> dict:
    """count, median and p90 in days (rounded to 0.1 day)."""
    values = sorted(seconds)

    def days(value):
        return None if value is None else round(value / DAY, 1)

    return {
        "count": len(values),
        "median_days": days(statistics.median(values)) if values else None,
        "p90_days": days(nearest_rank(values, 0.9)),
    }


def _local_month(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.astimezone(tz()).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


def _channel_row(counts: dict[str, int]) -> dict:
    row = {c.value: counts.get(c.value, 0) for c in CHANNELS}
    row["total"] = sum(row.values())
    row["online"] = row[Channel.PORTAL] + row[Channel.MYNAPORTAL]
    row["online_rate"] = rate(row["online"], row["total"])
    return row


# ---------------------------------------------------------------------------------------
# 1. volume by channel and online rate


def volume(scope: Scope) -> dict:
    submitted = scope.applications().filter(
        submitted_at__gte=scope.start_at, submitted_at__lt=scope.end_at
    )
    by_month: dict[dt.date, Counter] = defaultdict(Counter)
    by_procedure: dict[int, Counter] = defaultdict(Counter)
    # One pass: (month, procedure, channel) counts give both breakdowns.
    for row in (
        submitted.annotate(month=TruncMonth("submitted_at", tzinfo=tz()))
        .values("month", "procedure_id", "channel")
        .annotate(n=Count("id"))
        .order_by()
    ):
        by_month[_local_month(row["month"])][row["channel"]] += row["n"]
        by_procedure[row["procedure_id"]][row["channel"]] += row["n"]
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


def _waiting_seconds(decided) -> dict[int, float]:
    """Seconds each case spent 要再申請: from every change *to* 要再申請 until the next event
    *from* 要再申請 (the resubmission, or staff taking it back 処理中), summed per case in the
    database: Σ end times − Σ start times. A wait still open at the decision ends there."""
    waits: dict[int, float] = {}
    rows = (
        ApplicationEvent.objects.filter(application_id__in=decided.values("id"))
        .filter(Q(to_status=Status.RETURNED) | Q(from_status=Status.RETURNED))
        .filter(
            kind__in=(
                ApplicationEvent.Kind.STATUS_CHANGED,
                ApplicationEvent.Kind.RESUBMITTED,
                ApplicationEvent.Kind.WITHDRAWN,
            )
        )
        .values("application_id")
        .annotate(
            ends=Sum(
                Case(When(from_status=Status.RETURNED, then=Epoch("created_at")), default=0.0)
            ),
            starts=Sum(
                Case(When(to_status=Status.RETURNED, then=Epoch("created_at")), default=0.0)
            ),
            open=Sum(
                Case(
                    When(to_status=Status.RETURNED, then=1),
                    When(from_status=Status.RETURNED, then=-1),
                    default=0,
                    output_field=IntegerField(),
                )
            ),
            finished=Max(Epoch("application__finished_at")),
        )
        .order_by()
        .values_list("application_id", "ends", "starts", "open", "finished")
    )
    for app_id, ends, starts, still_open, finished in rows:
        wait = ends - starts
        if still_open and finished is not None:
            wait += finished * still_open
        waits[app_id] = wait
    return waits


def processing(scope: Scope, targets: dict[int, int | None]) -> dict:
    decided = scope.applications().filter(
        status__in=DECIDED_STATUSES,
        finished_at__gte=scope.start_at,
        finished_at__lt=scope.end_at,
        submitted_at__isnull=False,
    )
    rows = list(
        decided.annotate(seconds=Epoch("finished_at") - Epoch("submitted_at"))
        .values_list("id", "procedure_id", "seconds")
        .order_by()
    )
    waits = _waiting_seconds(decided)

    def figures(selected) -> dict:
        total = [s for _i, _p, s in selected]
        waiting = [waits[i] for i, _p, _s in selected if i in waits]
        municipal = [s - waits.get(i, 0.0) for i, _p, s in selected]
        late = 0
        for i, p, s in selected:
            days = targets.get(p)
            if days and s - waits.get(i, 0.0) > days * DAY:
                late += 1
        return {
            "total": summary(total),
            "municipality": summary(municipal),
            "waiting": summary(waiting),
            "returned_cases": len(waiting),
            "late": late,
        }

    per_procedure: dict[int, list] = defaultdict(list)
    for row in rows:
        per_procedure[row[1]].append(row)
    return {
        "total": figures(rows),
        "procedures": {pid: figures(selected) for pid, selected in per_procedure.items()},
    }


def backlog(scope: Scope) -> dict:
    open_cases = scope.applications().filter(status__in=OPEN_STATUSES, submitted_at__isnull=False)
    now = scope.now.timestamp()
    ages = [
        now - submitted
        for submitted in open_cases.annotate(at=Epoch("submitted_at"))
        .values_list("at", flat=True)
        .order_by()
    ]
    by_status = dict(open_cases.values_list("status").annotate(n=Count("id")).order_by())
    by_procedure = dict(open_cases.values_list("procedure_id").annotate(n=Count("id")).order_by())
    over_target = open_cases.filter(due_at__lt=scope.now).exclude(status=Status.RETURNED).count()
    buckets = []
    for low, high in AGE_BUCKETS:
        n = sum(1 for a in ages if a >= low * DAY and (high is None or a < (high + 1) * DAY))
        buckets.append({"low": low, "high": high, "count": n})
    return {
        "count": len(ages),
        "by_status": {s.value: by_status.get(s.value, 0) for s in map(Status, OPEN_STATUSES)},
        "age": summary(ages),
        "buckets": buckets,
        "over_target": over_target,
        "procedures": by_procedure,
    }


# ---------------------------------------------------------------------------------------
# 3. outcomes, resubmission


def outcomes(scope: Scope, *, reasons: int = 10) -> dict:
    finished = scope.applications().filter(
        status__in=OUTCOME_STATUSES, finished_at__gte=scope.start_at, finished_at__lt=scope.end_at
    )
    counts: Counter = Counter()
    by_procedure: dict[int, dict[str, int]] = defaultdict(dict)
    for pid, status, n in (
        finished.values_list("procedure_id", "status").annotate(n=Count("id")).order_by()
    ):
        by_procedure[pid][status] = n
        counts[status] += n
    total = sum(counts.values())
    submitted = scope.applications().filter(
        submitted_at__gte=scope.start_at, submitted_at__lt=scope.end_at
    )
    returned_ids = ApplicationEvent.objects.filter(
        kind=ApplicationEvent.Kind.STATUS_CHANGED, to_status=Status.RETURNED
    ).values("application_id")
    both = submitted.aggregate(
        submitted=Count("id"), returned=Count("id", filter=Q(pk__in=returned_ids))
    )
    submitted_count, returned_count = both["submitted"], both["returned"]
    reason_rows = (
        ApplicationEvent.objects.filter(
            municipality_id=scope.municipality.pk,
            kind=ApplicationEvent.Kind.STATUS_CHANGED,
            to_status=Status.RETURNED,
            created_at__gte=scope.start_at,
            created_at__lt=scope.end_at,
            application__procedure_id__in=scope.procedure_ids,
        )
        .exclude(message="")
        .values_list("message")
        .annotate(n=Count("id"))
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
        "reasons": [{"message": m, "count": n} for m, n in reason_rows],
    }


# ---------------------------------------------------------------------------------------
# 4. form funnel and validation failures


def funnel(scope: Scope, procedures: dict[int, Procedure]) -> list[dict]:
    """Per procedure with portal drafts opened in the period."""
    drafts = scope.applications().filter(
        channel=Channel.PORTAL,
        proxy_business__isnull=True,
        entered_by__isnull=True,
        created_at__gte=scope.start_at,
        created_at__lt=scope.end_at,
    )
    reached: dict[int, Counter] = defaultdict(Counter)
    for pid, furthest, n in (
        drafts.values_list("procedure_id", "furthest_step_index").annotate(n=Count("id")).order_by()
    ):
        reached[pid][furthest] += n
    submitted: Counter = Counter(
        dict(
            drafts.exclude(status=Status.DRAFT)
            .values_list("procedure_id")
            .annotate(n=Count("id"))
            .order_by()
        )
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
    for rating, n in (
        events.annotate(rating=KeyTextTransform("rating", "data"))
        .values_list("rating")
        .annotate(n=Count("id"))
        .order_by()
    ):
        if rating is not None and str(rating).isdigit() and 1 <= int(rating) <= 5:
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


def dashboard(scope: Scope) -> dict:
    """Every figure of the dashboard for `scope`."""
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
