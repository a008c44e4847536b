"""Signals other parts subscribe to, so the application core does not import them.

`events_recorded(sender=ApplicationEvent, events=[...])` is sent inside the transaction that
recorded the events: a receiver that writes (a webhook delivery into the outbox, the KPI
fold, a 申請処理状況登録 message) commits or rolls back together with the change that
caused it. `events` is a list in the order the events happened: one event from
`services.record_event`, or many written together by a bulk writer (the マイナポータル
intake writes a hundred cases in one transaction). Receivers therefore do their work for the
whole list at once — one query per batch, not one per event.
"""

from django.dispatch import Signal

events_recorded = Signal()


def announce(events: list) -> None:
    """Send `events_recorded` for events just written (in the caller's transaction)."""
    if events:
        events_recorded.send(sender=type(events[0]), events=list(events))
