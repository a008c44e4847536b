"""The per-case KPI fold (pure): exact states for known histories, and the property that
adding each event's difference as it happens gives exactly what folding the whole history
at once gives (the incremental path and the rebuild agree)."""

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.analytics import application_facts
from madoguchi.analytics.application_facts import FactEvent, FactState

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = dt.datetime(2026, 4, 1, 9, tzinfo=TOKYO)


def event(
    n, kind, hours, *, frm="", to="", message="", step=None, reached=None, rating=None
) -> FactEvent:
    at = T0 + dt.timedelta(hours=hours)
    return FactEvent(
        id=n,
        kind=kind,
        at=at,
        day=at.date(),
        from_status=frm,
        to_status=to,
        message=message,
        step_index=step,
        reached=reached,
        rating=rating,
    )


def portal() -> FactState:
    return FactState(channel="portal", in_funnel=True)


def test_returned_twice_then_completed():
    history = [
        event(1, "started", 0),
        event(2, "step_completed", 0.1, step=0),
        event(3, "step_completed", 0.2, step=1),
        event(4, "submitted", 1, frm="draft", to="received"),
        event(5, "status_changed", 25, frm="received", to="returned", message="添付が不足"),
        event(6, "resubmitted", 73, frm="returned", to="received"),
        event(7, "status_changed", 97, frm="received", to="returned", message=" 添付が不足 "),
        event(8, "status_changed", 121, frm="returned", to="completed"),
        event(9, "feedback", 122, rating=4),
    ]
    state, counts, labels = application_facts.fold(portal(), history)
    assert state.status == "completed"
    assert state.furthest_step == 2
    assert state.returned_count == 2
    assert state.waiting_seconds == (48 + 24) * 3600
    assert state.waiting_since is None
    assert state.decision_seconds == 120 * 3600
    assert state.last_event_id == 9
    key = application_facts.reason_key("添付が不足")
    day = T0.date()
    assert counts == Counter(
        {
            ("funnel", day, "2"): 1,
            ("funnel_submitted", day, ""): 1,
            ("submitted", day, "portal"): 1,
            ("returned_case", day, ""): 1,
            ("finished", day + dt.timedelta(days=5), "completed"): 1,
            ("reason", day + dt.timedelta(days=1), key): 1,
            ("reason", day + dt.timedelta(days=4), key): 1,
            ("rating", day + dt.timedelta(days=5), "4"): 1,
        }
    )
    assert labels == {key: "添付が不足"}


def test_withdrawn_case_has_no_decision_time():
    state, counts, _labels = application_facts.fold(
        FactState(channel="counter", in_funnel=False),
        [
            event(1, "submitted", 0, frm="draft", to="received"),
            event(2, "withdrawn", 30, frm="received", to="withdrawn"),
        ],
    )
    assert state.decision_seconds is None
    assert counts[("finished", T0.date() + dt.timedelta(days=1), "withdrawn")] == 1
    assert not any(m == "funnel" for m, _d, _k in counts)  # counter entry: not in the funnel


def test_reopened_case_is_no_longer_finished():
    state, counts, _ = application_facts.fold(
        portal(),
        [
            event(1, "submitted", 0, frm="draft", to="received"),
            event(2, "status_changed", 5, frm="received", to="completed"),
            event(3, "status_changed", 6, frm="completed", to="in_progress"),
        ],
    )
    assert state.finished_on is None and state.decision_seconds is None
    assert not any(m == "finished" for m, _d, _k in counts)


def test_an_event_already_folded_changes_nothing():
    state, _c, _l = application_facts.fold(
        portal(), [event(1, "started", 0), event(2, "started", 1)]
    )
    again, extra, labels = application_facts.apply(state, event(2, "feedback", 2, rating=5))
    assert again == state and not extra and not labels


def test_out_of_range_rating_and_blank_reason_are_not_counted():
    _s, counts, labels = application_facts.fold(
        portal(),
        [
            event(1, "submitted", 0, frm="draft", to="received"),
            event(2, "feedback", 1, rating=7),
            event(3, "status_changed", 2, frm="received", to="returned", message="   "),
        ],
    )
    assert not any(m in ("rating", "reason") for m, _d, _k in counts)
    assert labels == {}


def test_the_funnel_counts_hidden_steps_behind_the_resident():
    """A resident for whom step 2 of 4 is hidden sees three steps: finishing their second
    visible step (index 1) puts the form's step 3 behind them, the last one all four steps
    (confirmation reached). Events written before `reached` count the visible steps."""
    history = [
        event(1, "started", 0),
        event(2, "step_completed", 1, step=0, reached=1),
        event(3, "step_completed", 2, step=1, reached=3),
    ]
    state, _c, _l = application_facts.fold(portal(), history)
    assert state.furthest_step == 3
    last = event(4, "step_completed", 3, step=2, reached=4)
    state, counts, _l = application_facts.fold(portal(), [*history, last])
    assert state.furthest_step == 4
    assert counts[("funnel", T0.date(), "4")] == 1
    legacy, _c, _l = application_facts.fold(portal(), [event(1, "step_completed", 0, step=1)])
    assert legacy.furthest_step == 2


# --- property: incremental == whole -------------------------------------------------------

TRANSITIONS = {
    "draft": [("submitted", "received")],
    "received": [
        ("status_changed", "in_progress"),
        ("status_changed", "returned"),
        ("status_changed", "completed"),
        ("status_changed", "rejected"),
        ("withdrawn", "withdrawn"),
    ],
    "in_progress": [
        ("status_changed", "returned"),
        ("status_changed", "completed"),
        ("status_changed", "rejected"),
        ("withdrawn", "withdrawn"),
    ],
    "returned": [
        ("resubmitted", "received"),
        ("status_changed", "in_progress"),
        ("status_changed", "completed"),
        ("status_changed", "rejected"),
        ("withdrawn", "withdrawn"),
    ],
    "completed": [("status_changed", "in_progress")],
    "rejected": [],
    "withdrawn": [],
}


@st.composite
def histories(draw):
    status, hours, events = "draft", 0.0, []
    for n in range(1, draw(st.integers(1, 14)) + 1):
        hours += draw(st.floats(0, 24 * 40, allow_nan=False))
        choice = draw(st.integers(0, 9))
        moves = TRANSITIONS[status]
        if choice < 3 and status == "draft":
            kind = draw(st.sampled_from(["started", "step_completed"]))
            step = draw(st.integers(0, 6))
            reached = draw(st.one_of(st.none(), st.integers(step + 1, 8)))
            events.append(event(n, kind, hours, step=step, reached=reached))
        elif choice == 3:
            events.append(event(n, "feedback", hours, rating=draw(st.integers(0, 6))))
        elif moves:
            kind, to = draw(st.sampled_from(moves))
            message = draw(st.sampled_from(["", "氏名の誤り", "添付が不足"]))
            events.append(event(n, kind, hours, frm=status, to=to, message=message))
            status = to
    return events


@settings(max_examples=300, deadline=None)
@given(histories(), st.booleans())
def test_adding_each_difference_equals_folding_the_whole_history(history, in_funnel):
    initial = FactState(channel="portal", in_funnel=in_funnel)
    whole_state, whole_counts, _labels = application_facts.fold(initial, history)

    state, stored = initial, Counter()
    for e in history:
        after, extra, _more = application_facts.apply(state, e)
        stored.update(application_facts.difference(state, after))
        stored.update(extra)
        state = after
    assert state == whole_state
    assert +stored == whole_counts and -stored == Counter()  # no negative count left behind
    # one case counts once: at most one receipt and one outcome
    assert sum(n for (m, _d, _k), n in whole_counts.items() if m == "submitted") <= 1
    assert sum(n for (m, _d, _k), n in whole_counts.items() if m == "finished") <= 1
    assert state.waiting_seconds >= 0
