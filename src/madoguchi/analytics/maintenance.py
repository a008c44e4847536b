"""Keeps `ApplicationFact` and `DailyCount` exact as events are recorded, and rebuilds them.

Incremental: a receiver of `applications.signals.events_recorded` (sent inside the
transaction that records the events: one, or a bulk writer's batch) folds the events into
their cases' facts and adds the difference they make to the daily counts — in the same
transaction, so a rolled-back action leaves no trace in the figures, and with a few
statements per batch, not per event. A failure of the fold never fails the resident's or
staff's action: it runs in a savepoint, and the cases are noted in `PendingApplicationFact` to be
folded again.

Rebuild: `rebuild_all` recomputes everything from the event log: on PostgreSQL set-based
(two INSERT … SELECT statements computing the same fold: 1–3 minutes for a million
cases), elsewhere — and as the reference the SQL is tested against
(tests/analytics/test_rebuild_equivalence.py) — with the fold itself
(`application_facts.fold`); `refold_pending` folds the noted cases. Both are idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from madoguchi.core import bulk_insert

from . import application_facts
from .application_facts import FactEvent, FactState

logger = logging.getLogger(__name__)

EVENT_FIELDS = (
    "id",
    "application_id",
    "kind",
    "created_at",
    "from_status",
    "to_status",
    "message",
    "data",
)


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def fact_event(event_id, kind, created_at, from_status, to_status, message, data) -> FactEvent:
    data = data if isinstance(data, dict) else {}
    step_index = data.get("index") if kind == "step_completed" else None
    reached = data.get("reached") if kind == "step_completed" else None
    rating = data.get("rating") if kind == "feedback" else None
    return FactEvent(
        id=event_id,
        kind=kind,
        at=created_at,
        day=created_at.astimezone(_tz()).date(),
        from_status=from_status or "",
        to_status=to_status or "",
        message=message or "",
        step_index=_integer(step_index),
        reached=_integer(reached),
        rating=_integer(rating),
    )


def _integer(value) -> int | None:
    """A JSON integer (not true/false, not 2.0), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def initial_state(channel: str, proxy_business_id, entered_by_id) -> FactState:
    return FactState(
        channel=channel,
        in_funnel=channel == "portal" and proxy_business_id is None and entered_by_id is None,
    )


# ---------------------------------------------------------------------------------------
# storing


STATE_FIELDS = (
    "last_event_id",
    "opened_on",
    "furthest_step",
    "status",
    "submitted_at",
    "submitted_on",
    "finished_on",
    "decision_seconds",
    "returned_count",
    "waiting_seconds",
    "waiting_since",
)


def _fact_values(state: FactState) -> dict:
    return {name: getattr(state, name) for name in STATE_FIELDS}


def _state_of(fact) -> FactState:
    return FactState(channel=fact.channel, in_funnel=fact.in_funnel, **_fact_values(fact))


def _new_fact(application, state: FactState):
    from .models import ApplicationFact

    return ApplicationFact(
        application_id=application.pk,
        municipality_id=application.municipality_id,
        procedure_id=application.procedure_id,
        channel=state.channel,
        in_funnel=state.in_funnel,
        **_fact_values(state),
    )


def add_counts(rows: list[tuple[int, int, Counter]], labels: dict[str, str]) -> None:
    """Add counts to the stored daily counts: rows of (municipality id, procedure id,
    {(measure, day, key): n}), n may be negative. One upsert statement for them all, one
    row per count: the rows of a batch's cases that add to the same count (a batch of one
    procedure received on one day) are summed first, so the count row is written once, not
    once per case. Concurrent writers serialise on each row, so no count is lost."""
    from .models import DailyCount

    summed: dict[tuple, list] = {}  # (procedure, day, measure, key) → [municipality, n]
    for municipality_id, procedure_id, counts in rows:
        for (measure, day, key), n in counts.items():
            if n:
                entry = summed.setdefault((procedure_id, day, measure, key), [municipality_id, 0])
                entry[1] += n
    params = sorted(  # a fixed order: no deadlock between concurrent writers
        (procedure_id, day, measure, key, municipality_id, labels.get(key, ""), n)
        for (procedure_id, day, measure, key), (municipality_id, n) in summed.items()
    )
    if not params:
        return
    table = DailyCount._meta.db_table
    sql = (
        f"INSERT INTO {table} (procedure_id, day, measure, key, municipality_id, label, count) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT (procedure_id, day, measure, key) "
        f"DO UPDATE SET count = {table}.count + EXCLUDED.count"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _fact_event_of(event) -> FactEvent:
    return fact_event(
        event.pk,
        event.kind,
        event.created_at,
        event.from_status,
        event.to_status,
        event.message,
        event.data,
    )


# A step completed by a resident (every valid step POST records one): the fold of
# `application_facts.apply` for that one event in one statement — the case's fact locked and
# moved on (its last event; the furthest step reached, never back), and when the furthest
# step changed, the case's funnel count moved from the old key to the new one (-1, +1, keys
# in the order `add_counts` takes them). Only a fact that exists and has not folded this
# event yet is changed; the statement returns how many were (0 or 1).
_STEP_SQL = """
WITH old AS (
    SELECT application_id, municipality_id, procedure_id, in_funnel, opened_on, furthest_step
    FROM {fact}
    WHERE application_id = %(application)s AND last_event_id < %(event)s
    FOR UPDATE
),
new AS (
    UPDATE {fact} f
    SET last_event_id = %(event)s, furthest_step = GREATEST(f.furthest_step, %(reached)s)
    FROM old
    WHERE f.application_id = old.application_id
    RETURNING old.municipality_id, old.procedure_id, old.in_funnel, old.opened_on,
              old.furthest_step AS before, f.furthest_step AS after
),
counts AS (
    INSERT INTO {daily} (procedure_id, day, measure, key, municipality_id, label, count)
    SELECT new.procedure_id, new.opened_on, %(funnel)s, v.key, new.municipality_id, '', v.n
    FROM new CROSS JOIN LATERAL (VALUES (before::text, -1), (after::text, 1)) AS v(key, n)
    WHERE new.in_funnel AND new.opened_on IS NOT NULL AND new.before <> new.after
    ORDER BY v.key COLLATE "C"
    ON CONFLICT (procedure_id, day, measure, key)
    DO UPDATE SET count = {daily}.count + EXCLUDED.count
)
SELECT count(*) FROM new
"""


def _fold_step(event) -> bool:
    """The one-statement fold of a `step_completed` event (PostgreSQL): True when done;
    False when the case has no fact yet or has folded the event already (the general fold
    then does what applies)."""
    from .models import ApplicationFact, DailyCount

    folded = _fact_event_of(event)
    reached = folded.reached
    if reached is None and folded.step_index is not None:
        reached = folded.step_index + 1  # events written before `reached` was recorded
    sql = _STEP_SQL.format(fact=ApplicationFact._meta.db_table, daily=DailyCount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "application": event.application_id,
                "event": event.pk,
                "reached": reached,
                "funnel": application_facts.FUNNEL,
            },
        )
        return bool(cursor.fetchone()[0])


def fold_events(events) -> None:
    """Fold just-recorded `ApplicationEvent`s (in the caller's transaction): one read of the
    cases' facts, one write of new facts, one upsert of the counts for the whole batch; a
    single step completed (a resident's valid step) in one statement on PostgreSQL."""
    from .models import ApplicationFact

    by_application: dict[int, list] = {}
    for event in events:
        if event.kind in application_facts.RELEVANT_KINDS:
            by_application.setdefault(event.application_id, []).append(event)
    if not by_application:
        return
    if (
        connection.vendor == "postgresql"
        and len(by_application) == 1
        and len(single := next(iter(by_application.values()))) == 1
        and single[0].kind == "step_completed"
        and _fold_step(single[0])
    ):
        return
    facts = {
        f.pk: f
        for f in ApplicationFact.objects.select_for_update().filter(pk__in=list(by_application))
    }
    rows, labels, created = [], {}, []
    for application_id, application_events in by_application.items():
        application = application_events[0].application
        fact = facts.get(application_id)
        before = (
            _state_of(fact)
            if fact is not None
            else initial_state(
                application.channel, application.proxy_business_id, application.entered_by_id
            )
        )
        after, counts = before, Counter()
        for event in application_events:
            after, extra, more = application_facts.apply(after, _fact_event_of(event))
            counts.update(extra)
            labels.update(more)
        if after == before:
            continue
        counts.update(application_facts.difference(before if fact is not None else None, after))
        if fact is None:
            created.append(_new_fact(application, after))
        else:
            ApplicationFact.objects.filter(pk=application_id).update(**_fact_values(after))
        rows.append((application.municipality_id, application.procedure_id, counts))
    bulk_insert.insert(created)
    add_counts(rows, labels)


def on_events_recorded(sender, events, **kwargs) -> None:
    """Receiver: fold the events; on failure keep the action and note the cases for later."""
    if not any(e.kind in application_facts.RELEVANT_KINDS for e in events):
        return
    from .models import PendingApplicationFact

    try:
        with transaction.atomic():
            fold_events(events)
    except Exception as exc:
        # Only ids and the exception's type: never personal data in logs.
        ids = sorted({e.application_id for e in events})
        logger.exception("kpi: could not fold the events of cases %s", ids[:20])
        for application_id in ids:
            PendingApplicationFact.objects.update_or_create(
                application_id=application_id, defaults={"error": type(exc).__name__[:200]}
            )


# ---------------------------------------------------------------------------------------
# rebuilding


APPLICATION_FIELDS = (
    "application__municipality_id",
    "application__procedure_id",
    "application__channel",
    "application__proxy_business_id",
    "application__entered_by_id",
)


def _applications(rows: Iterable[tuple]) -> Iterator[tuple[int, list[FactEvent], tuple]]:
    """Rows of EVENT_FIELDS (+ APPLICATION_FIELDS) ordered by application → (application id,
    its events, the application's fields)."""
    for application_id, group in groupby(rows, key=lambda r: r[1]):
        group = list(group)
        yield (
            application_id,
            [fact_event(r[0], r[2], r[3], r[4], r[5], r[6], r[7]) for r in group],
            tuple(group[0][8:]),
        )


def _events_query():
    from madoguchi.applications.models import ApplicationEvent

    events = ApplicationEvent.objects.filter(kind__in=application_facts.RELEVANT_KINDS)
    return events.order_by("application_id", "id").values_list(*EVENT_FIELDS)


def rebuild_all(
    *,
    batch: int = 5000,
    progress: Callable[[int, int], None] | None = None,
    method: str | None = None,
) -> dict[str, int]:
    """Recompute every ApplicationFact and DailyCount from the event log, in one transaction.
    Returns a summary.

    `method`: "sql" (the default on PostgreSQL) computes the same fold set-based, in two
    INSERT … SELECT statements over the events (`_rebuild_sql`): 70 s for 5,000,000 events
    where the case-by-case fold takes 306 s (2 cores, load 3). "python" (the default
    elsewhere, and the reference the SQL is tested against) folds each case's events with
    `application_facts.fold`, the code the incremental path runs."""
    from madoguchi.applications.models import Application

    from .models import ApplicationFact, DailyCount, PendingApplicationFact

    method = method or ("sql" if connection.vendor == "postgresql" else "python")
    if method not in ("sql", "python") or (method == "sql" and connection.vendor != "postgresql"):
        raise ValueError(f"rebuild method {method!r} on {connection.vendor}")
    total = Application.objects.count()  # an upper bound: drafts never opened have no fact
    if progress:
        progress(0, total)
    with transaction.atomic():
        ApplicationFact.objects.all().delete()
        DailyCount.objects.all().delete()
        PendingApplicationFact.objects.all().delete()
        if method == "sql":
            done, written = _rebuild_sql(total, progress)
        else:
            done, written = _rebuild_python(total, batch, progress)
    if progress:
        progress(done, total)
    return {"cases": done, "daily_counts": written}


def _rebuild_python(
    total: int, batch: int, progress: Callable[[int, int], None] | None
) -> tuple[int, int]:
    """The reference rebuild: every case's events folded with `application_facts.fold`;
    facts written in batches, counts summed in memory and written at the end."""
    from .models import ApplicationFact, DailyCount

    counts: dict[tuple[int, int], Counter] = {}
    labels: dict[str, str] = {}
    done = 0
    facts: list = []
    rows = _events_query().values_list(*EVENT_FIELDS, *APPLICATION_FIELDS)
    for application_id, events, info in _applications(rows.iterator(chunk_size=20000)):
        municipality_id, procedure_id, channel, proxy_business_id, entered_by_id = info
        state, application_counts, application_labels = application_facts.fold(
            initial_state(channel, proxy_business_id, entered_by_id), events
        )
        counts.setdefault((municipality_id, procedure_id), Counter()).update(application_counts)
        labels.update(application_labels)
        facts.append(
            ApplicationFact(
                application_id=application_id,
                municipality_id=municipality_id,
                procedure_id=procedure_id,
                channel=state.channel,
                in_funnel=state.in_funnel,
                **_fact_values(state),
            )
        )
        if len(facts) >= batch:
            ApplicationFact.objects.bulk_create(facts)
            done += len(facts)
            facts = []
            if progress:
                progress(done, total)
    ApplicationFact.objects.bulk_create(facts)
    done += len(facts)
    written = 0
    pending: list = []
    for (municipality_id, procedure_id), application_counts in counts.items():
        for (measure, day, key), n in application_counts.items():
            if not n:
                continue
            pending.append(
                DailyCount(
                    municipality_id=municipality_id,
                    procedure_id=procedure_id,
                    day=day,
                    measure=measure,
                    key=key,
                    label=labels.get(key, "") if measure == application_facts.REASON else "",
                    count=n,
                )
            )
            if len(pending) >= batch:  # written as they are made: memory stays flat
                DailyCount.objects.bulk_create(pending)
                written += len(pending)
                pending = []
    DailyCount.objects.bulk_create(pending)
    written += len(pending)
    return done, written


# What Python's str.strip() removes (str.isspace): the reason of a return is grouped by its
# text stripped of these, on PostgreSQL with btrim(message, PYTHON_WHITESPACE).
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

# The fold of `application_facts.apply` over a case's events, set-based (PostgreSQL). What
# each part computes, in the fold's words:
# - last_event_id: the last relevant event; opened_on: the day of the first `started`;
#   furthest_step: the largest `reached` (else `index` + 1) of a step_completed, at least 0
#   (JSON integers only: PostgreSQL prints a jsonb number as Python's json reads it back);
# - the moves (MOVING_KINDS with a to_status): status is the last one's to_status;
#   submitted_at/on the first `submitted`; a case whose last move finished it (FINISHING) is
#   finished on that day, decided after (its time − submitted_at) when DECIDED — any earlier
#   finish was undone by a later move (`_move` "reopened");
# - the waiting time only changes on moves into or out of 要再申請 (`turns`): a move from it
#   adds the time since the move before it among the turns, when that one was into it;
#   summed in event order, as the fold adds them one by one (floating point: same order,
#   same result); the case still waits since the last turn when that was into 要再申請.
# Seconds: EXTRACT(EPOCH …) is exact (numeric) and ::float8 rounds it as Python's
# timedelta.total_seconds() does (microseconds / 10**6, correctly rounded).
_FACTS_SQL = """
INSERT INTO {fact} (
    application_id, municipality_id, procedure_id, channel, in_funnel, last_event_id,
    opened_on, furthest_step, status, submitted_at, submitted_on, finished_on,
    decision_seconds, returned_count, waiting_seconds, waiting_since
)
WITH ev AS (
    SELECT e.id, e.application_id, e.kind, e.created_at AS at,
           (e.created_at AT TIME ZONE %(tz)s)::date AS day,
           e.to_status,
           e.kind = ANY(%(moving)s) AND COALESCE(e.to_status, '') <> '' AS moves,
           CASE WHEN e.kind = 'step_completed' THEN COALESCE(
               CASE WHEN jsonb_typeof(e.data -> 'reached') = 'number'
                         AND e.data ->> 'reached' ~ '^-?[0-9]+$'
                    THEN (e.data ->> 'reached')::numeric END,
               CASE WHEN jsonb_typeof(e.data -> 'index') = 'number'
                         AND e.data ->> 'index' ~ '^-?[0-9]+$'
                    THEN (e.data ->> 'index')::numeric + 1 END
           ) END AS reached
    FROM {event} e
    WHERE e.kind = ANY(%(relevant)s)
),
ordered AS (
    SELECT ev.*,
           count(*) FILTER (WHERE kind = 'started') OVER w AS started_n,
           count(*) FILTER (WHERE moves AND kind = 'submitted') OVER w AS submitted_n,
           count(*) FILTER (WHERE moves) OVER w AS moves_n,
           count(*) FILTER (WHERE moves) OVER (PARTITION BY application_id) AS moves_total
    FROM ev
    WINDOW w AS (PARTITION BY application_id ORDER BY id ROWS UNBOUNDED PRECEDING)
),
per_case AS (
    SELECT application_id,
           max(id) AS last_event_id,
           max(day) FILTER (WHERE kind = 'started' AND started_n = 1) AS opened_on,
           GREATEST(0, max(reached)) AS furthest_step,
           max(to_status) FILTER (WHERE moves AND moves_n = moves_total) AS status,
           max(at) FILTER (WHERE moves AND moves_n = moves_total) AS moved_at,
           max(day) FILTER (WHERE moves AND moves_n = moves_total) AS moved_on,
           max(at) FILTER (WHERE moves AND kind = 'submitted' AND submitted_n = 1)
               AS submitted_at,
           max(day) FILTER (WHERE moves AND kind = 'submitted' AND submitted_n = 1)
               AS submitted_on
    FROM ordered
    GROUP BY application_id
),
turns AS (
    SELECT application_id, id, created_at AS at, from_status, to_status,
           lag(CASE WHEN to_status = %(returned)s THEN created_at END)
               OVER (PARTITION BY application_id ORDER BY id) AS since
    FROM {event}
    WHERE kind = ANY(%(moving)s) AND to_status <> ''
      AND (to_status = %(returned)s OR from_status = %(returned)s)
),
waiting AS (
    SELECT application_id,
           count(*) FILTER (WHERE to_status = %(returned)s) AS returned_count,
           sum(CASE WHEN from_status = %(returned)s AND since IS NOT NULL
                    THEN EXTRACT(EPOCH FROM at - since)::float8 END ORDER BY id)
               AS waiting_seconds,
           (array_agg(CASE WHEN to_status = %(returned)s THEN at END ORDER BY id DESC))[1]
               AS waiting_since
    FROM turns
    GROUP BY application_id
)
SELECT c.application_id, a.municipality_id, a.procedure_id, a.channel,
       a.channel = %(portal)s AND a.proxy_business_id IS NULL AND a.entered_by_id IS NULL,
       c.last_event_id, c.opened_on, c.furthest_step, COALESCE(c.status, 'draft'),
       c.submitted_at, c.submitted_on,
       CASE WHEN c.status = ANY(%(finishing)s) THEN c.moved_on END,
       CASE WHEN c.status = ANY(%(decided)s) AND c.submitted_at IS NOT NULL
            THEN EXTRACT(EPOCH FROM c.moved_at - c.submitted_at)::float8 END,
       COALESCE(w.returned_count, 0), COALESCE(w.waiting_seconds, 0), w.waiting_since
FROM per_case c
JOIN {application} a ON a.id = c.application_id
LEFT JOIN waiting w ON w.application_id = c.application_id
"""

# `application_facts.contributions` of every fact, plus the counts events add by themselves
# (ratings; reasons keyed by the digest of their stripped text, as `reason_key`).
_COUNTS_SQL = """
INSERT INTO {daily} (municipality_id, procedure_id, day, measure, key, label, count)
SELECT municipality_id, procedure_id, day, measure, key, max(label), count(*)
FROM (
    SELECT municipality_id, procedure_id, opened_on AS day, %(funnel)s AS measure,
           furthest_step::text AS key, '' AS label
      FROM {fact} WHERE in_funnel AND opened_on IS NOT NULL
    UNION ALL
    SELECT municipality_id, procedure_id, opened_on, %(funnel_submitted)s, '', ''
      FROM {fact} WHERE in_funnel AND opened_on IS NOT NULL AND submitted_on IS NOT NULL
    UNION ALL
    SELECT municipality_id, procedure_id, submitted_on, %(submitted)s, channel, ''
      FROM {fact} WHERE submitted_on IS NOT NULL
    UNION ALL
    SELECT municipality_id, procedure_id, submitted_on, %(returned_case)s, '', ''
      FROM {fact} WHERE submitted_on IS NOT NULL AND returned_count > 0
    UNION ALL
    SELECT municipality_id, procedure_id, finished_on, %(finished)s, status, ''
      FROM {fact} WHERE finished_on IS NOT NULL AND status = ANY(%(finishing)s)
    UNION ALL
    SELECT a.municipality_id, a.procedure_id, (e.created_at AT TIME ZONE %(tz)s)::date,
           %(rating)s, e.data ->> 'rating', ''
      FROM {event} e JOIN {application} a ON a.id = e.application_id
     WHERE e.kind = 'feedback' AND jsonb_typeof(e.data -> 'rating') = 'number'
       AND e.data ->> 'rating' IN ('1', '2', '3', '4', '5')
    UNION ALL
    SELECT a.municipality_id, a.procedure_id, r.day, %(reason)s,
           left(encode(sha256(convert_to(r.message, 'UTF8')), 'hex'), 40), r.message
      FROM (
          SELECT application_id, (created_at AT TIME ZONE %(tz)s)::date AS day,
                 btrim(message, %(whitespace)s) AS message
            FROM {event}
           WHERE kind = 'status_changed' AND to_status = %(returned)s
      ) r
      JOIN {application} a ON a.id = r.application_id
     WHERE r.message <> ''
) contributions
GROUP BY municipality_id, procedure_id, day, measure, key
"""


def _rebuild_sql(total: int, progress: Callable[[int, int], None] | None) -> tuple[int, int]:
    """The same fold as `_rebuild_python`, set-based on PostgreSQL (see _FACTS_SQL)."""
    from madoguchi.applications.models import Application, ApplicationEvent

    from .models import ApplicationFact, DailyCount

    af = application_facts
    tables = {
        "fact": ApplicationFact._meta.db_table,
        "daily": DailyCount._meta.db_table,
        "event": ApplicationEvent._meta.db_table,
        "application": Application._meta.db_table,
    }
    params = {
        "tz": settings.TIME_ZONE,
        "relevant": sorted(af.RELEVANT_KINDS),
        "moving": sorted(af.MOVING_KINDS),
        "returned": af.RETURNED,
        "finishing": list(af.FINISHING),
        "decided": list(af.DECIDED),
        "portal": "portal",
        "funnel": af.FUNNEL,
        "funnel_submitted": af.FUNNEL_SUBMITTED,
        "submitted": af.SUBMITTED,
        "returned_case": af.RETURNED_APPLICATION,
        "finished": af.FINISHED,
        "rating": af.RATING,
        "reason": af.REASON,
        "whitespace": PYTHON_WHITESPACE,
    }
    with connection.cursor() as cursor:
        # Sorting and grouping 5,000,000 events: in memory rather than in temporary files.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(_FACTS_SQL.format(**tables), params)
        done = cursor.rowcount
        if progress:
            progress(done, total)
        cursor.execute(_COUNTS_SQL.format(**tables), params)
        written = cursor.rowcount
    return done, written


def refold(application_ids: Iterable[int]) -> int:
    """Fold the events of these cases that their facts do not hold yet (after a failure),
    with the same code as the incremental path. Idempotent: events already folded are
    skipped by their id."""
    from madoguchi.applications.models import ApplicationEvent

    from .models import ApplicationFact, PendingApplicationFact

    done = 0
    for application_id in application_ids:
        with transaction.atomic():
            folded = (
                ApplicationFact.objects.filter(pk=application_id)
                .values_list("last_event_id", flat=True)
                .first()
            )
            events = list(
                ApplicationEvent.objects.filter(
                    application_id=application_id,
                    kind__in=application_facts.RELEVANT_KINDS,
                    id__gt=folded or 0,
                )
                .select_related("application")
                .order_by("id")
            )
            fold_events(events)
            PendingApplicationFact.objects.filter(pk=application_id).delete()
            done += 1
    return done


def refold_pending() -> int:
    from .models import PendingApplicationFact

    return refold(list(PendingApplicationFact.objects.values_list("application_id", flat=True)))


def local_day(value: dt.datetime) -> dt.date:
    return value.astimezone(_tz()).date()
