"""Keeps `ApplicationFact` and `DailyCount` exact as events are recorded, and rebuilds them.

Incremental: a receiver of `applications.signals.events_recorded` (sent inside the
transaction that records the events: one, or a bulk writer's batch) folds the events into
their cases' facts and adds the difference they make to the daily counts — in the same
transaction, so a rolled-back action leaves no trace in the figures, and with a few
statements per batch, not per event. A failure of the fold never fails the resident's or
staff's action: it runs in a savepoint, and the cases are noted in `PendingApplicationFact` to be
folded again.

Rebuild: `rebuild_all` recomputes everything from the event log with the same fold
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
        step_index=step_index if isinstance(step_index, int) else None,
        reached=reached if isinstance(reached, int) else None,
        rating=rating if isinstance(rating, int) and not isinstance(rating, bool) else None,
    )


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
    {(measure, day, key): n}), n may be negative. One upsert statement for them all;
    concurrent writers serialise on each row, so no count is lost."""
    from .models import DailyCount

    params = sorted(  # a fixed order: no deadlock between concurrent writers
        (procedure_id, day, measure, key, municipality_id, labels.get(key, ""), n)
        for municipality_id, procedure_id, counts in rows
        for (measure, day, key), n in counts.items()
        if n
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


def fold_events(events) -> None:
    """Fold just-recorded `ApplicationEvent`s (in the caller's transaction): one read of the
    cases' facts, one write of new facts, one upsert of the counts for the whole batch."""
    from .models import ApplicationFact

    by_application: dict[int, list] = {}
    for event in events:
        if event.kind in application_facts.RELEVANT_KINDS:
            by_application.setdefault(event.application_id, []).append(event)
    if not by_application:
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
    ApplicationFact.objects.bulk_create(created)
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
    *, batch: int = 5000, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Recompute every ApplicationFact and DailyCount from the event log. Runs in batches of cases
    (one transaction each, so memory stays flat); counts are summed in memory and written
    at the end in one transaction with the facts of the last batch. Returns a summary."""
    from madoguchi.applications.models import Application

    from .models import ApplicationFact, DailyCount, PendingApplicationFact

    total = Application.objects.count()  # an upper bound: drafts never opened have no fact
    counts: dict[tuple[int, int], Counter] = {}
    labels: dict[str, str] = {}
    done = 0
    with transaction.atomic():
        ApplicationFact.objects.all().delete()
        DailyCount.objects.all().delete()
        PendingApplicationFact.objects.all().delete()
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
    if progress:
        progress(done, total)
    return {"cases": done, "daily_counts": written}


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
