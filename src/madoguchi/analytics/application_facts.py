"""Per-case KPI state folded from the append-only event log (pure: no Django, no database).

The dashboard must answer for a year of a large municipality in well under a second, so the
figures are not computed from the event log at every request. Instead every event recorded
for a case is folded into a small per-case state (`FactState`), and each state contributes
counts to per-day buckets (`contributions`): submitted by channel, finished by outcome,
how far a resident's draft got, returned cases, reasons and ratings. When an event changes
the state, the difference of the old and new contributions is added to the stored daily
counts — so the stored figures are always exactly what a full recomputation would give,
and a full recomputation (`fold`) is the same code path (see the rebuild command).

Days are local (Asia/Tokyo) calendar days: the dashboard's periods are whole local days.
Event order is the log's insertion order (event id), which is the order they happened in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

# Measures of the daily counts. Short codes: they are stored in every row.
SUBMITTED = "submitted"  # key: channel; day: receipt
RETURNED_APPLICATION = (
    "returned_case"  # key: ""; day: receipt; case returned (要再申請) at least once
)
FINISHED = "finished"  # key: final status; day: finished
FUNNEL = "funnel"  # key: the form's steps behind the resident (str); day: draft opened
FUNNEL_SUBMITTED = "funnel_submitted"  # key: ""; day: draft opened; the draft was submitted
REASON = "reason"  # key: digest of the message; label: the message; day: returned
RATING = "rating"  # key: "1".."5"; day: feedback given

RECEIVED, RETURNED = "received", "returned"
DECIDED = ("completed", "rejected")
FINISHING = ("completed", "rejected", "withdrawn")

# Event kinds that change a case's KPI state; every other kind is ignored (no database work).
RELEVANT_KINDS = frozenset(
    {
        "started",
        "step_completed",
        "submitted",
        "status_changed",
        "withdrawn",
        "resubmitted",
        "feedback",
    }
)
# Kinds whose from_status/to_status move the case (as in figures: the waiting time).
MOVING_KINDS = frozenset({"submitted", "status_changed", "withdrawn", "resubmitted"})


@dataclass(frozen=True)
class FactEvent:
    """What the fold needs of one event."""

    id: int
    kind: str
    at: dt.datetime  # aware
    day: dt.date  # local calendar day of `at`
    from_status: str = ""
    to_status: str = ""
    message: str = ""
    step_index: int | None = None  # among the steps visible to the applicant
    reached: int | None = None  # the form's steps behind the applicant (hidden ones included)
    rating: int | None = None


@dataclass(frozen=True)
class FactState:
    """The KPI state of one case. `in_funnel`: a resident's own portal draft (not entered at
    the counter, on paper or by a business), the only drafts the form funnel counts."""

    channel: str
    in_funnel: bool
    last_event_id: int = 0
    opened_on: dt.date | None = None
    furthest_step: int = 0
    status: str = "draft"
    submitted_at: dt.datetime | None = None
    submitted_on: dt.date | None = None
    finished_on: dt.date | None = None
    decision_seconds: float | None = None
    returned_count: int = 0
    waiting_seconds: float = 0.0
    waiting_since: dt.datetime | None = None


Key = tuple[str, dt.date, str]  # (measure, day, key)


def reason_key(message: str) -> str:
    """Reasons are free text: grouped by their exact text, stored under a fixed-size key."""
    return hashlib.sha256(message.encode()).hexdigest()[:40]


def apply(state: FactState, event: FactEvent) -> tuple[FactState, Counter, dict[str, str]]:
    """Fold one event: the new state, plus the counts the event adds by itself (reasons and
    ratings, which belong to the event rather than to the case's state) and the labels of
    their keys."""
    extra: Counter = Counter()
    labels: dict[str, str] = {}
    if event.id <= state.last_event_id:  # already folded (a repair running twice)
        return state, extra, labels
    changes: dict = {"last_event_id": event.id}
    kind = event.kind
    if kind == "started" and state.opened_on is None:
        changes["opened_on"] = event.day
    elif kind == "step_completed" and (event.reached is not None or event.step_index is not None):
        # Events written before `reached` was recorded count the visible steps only.
        reached = event.reached if event.reached is not None else event.step_index + 1
        changes["furthest_step"] = max(state.furthest_step, reached)
    elif kind == "feedback" and event.rating is not None and 1 <= event.rating <= 5:
        extra[(RATING, event.day, str(event.rating))] += 1
    if kind in MOVING_KINDS and event.to_status:
        changes.update(_move(state, event))
        if kind == "status_changed" and event.to_status == RETURNED and event.message.strip():
            message = event.message.strip()
            key = reason_key(message)
            extra[(REASON, event.day, key)] += 1
            labels[key] = message
    return replace(state, **changes), extra, labels


def _move(state: FactState, event: FactEvent) -> dict:
    changes: dict = {"status": event.to_status}
    if event.kind == "submitted" and state.submitted_at is None:
        changes["submitted_at"] = event.at
        changes["submitted_on"] = event.day
    # Time waiting for the applicant: from each change *to* 要再申請 until the next change
    # *from* it (the resubmission, staff taking it back, the decision or a withdrawal).
    if event.from_status == RETURNED and state.waiting_since is not None:
        changes["waiting_seconds"] = state.waiting_seconds + _seconds(state.waiting_since, event.at)
        changes["waiting_since"] = None
    if event.to_status == RETURNED:
        changes["returned_count"] = state.returned_count + 1
        changes["waiting_since"] = event.at
    if event.to_status in FINISHING:
        changes["finished_on"] = event.day
        submitted = state.submitted_at or changes.get("submitted_at")
        changes["decision_seconds"] = (
            _seconds(submitted, event.at)
            if event.to_status in DECIDED and submitted is not None
            else None
        )
    elif state.status in FINISHING:  # reopened: no longer finished
        changes["finished_on"] = None
        changes["decision_seconds"] = None
    return changes


def _seconds(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds()


def contributions(state: FactState) -> Counter:
    """The counts a case in `state` adds to the daily buckets."""
    counts: Counter = Counter()
    if state.in_funnel and state.opened_on is not None:
        counts[(FUNNEL, state.opened_on, str(state.furthest_step))] += 1
        if state.submitted_on is not None:
            counts[(FUNNEL_SUBMITTED, state.opened_on, "")] += 1
    if state.submitted_on is not None:
        counts[(SUBMITTED, state.submitted_on, state.channel)] += 1
        if state.returned_count:
            counts[(RETURNED_APPLICATION, state.submitted_on, "")] += 1
    if state.finished_on is not None and state.status in FINISHING:
        counts[(FINISHED, state.finished_on, state.status)] += 1
    return counts


def difference(before: FactState | None, after: FactState) -> Counter:
    """after − before, without zero entries (negative entries kept: counts move)."""
    diff: Counter = Counter(contributions(after))
    if before is not None:
        diff.subtract(contributions(before))
    return Counter({k: n for k, n in diff.items() if n})


def fold(
    initial: FactState, events: Iterable[FactEvent]
) -> tuple[FactState, Counter, dict[str, str]]:
    """Fold a case's whole history: its final state, and every count it contributes
    (its state's and its events'), as the incremental path would have added them."""
    state, counts, labels = initial, Counter(), {}
    for event in events:
        state, extra, more = apply(state, event)
        counts.update(extra)
        labels.update(more)
    counts.update(contributions(state))
    return state, counts, labels
