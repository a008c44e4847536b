"""Signals other parts subscribe to, so the application core does not import them.

`events_recorded(sender=ApplicationEvent, events=[...])` is sent inside the transaction that
recorded the events: a receiver that writes (a webhook delivery into the outbox, the KPI
fold, a 申請処理状況登録 message) commits or rolls back together with the change that
caused it. `events` is a list in the order the events happened: one event from
`lifecycle.record`, or many written together by a bulk writer (the マイナポータル
intake writes a hundred cases in one transaction). Receivers therefore do their work for the
whole list at once — one query per batch, not one per event.
"""

from django.dispatch import Signal

events_recorded = Signal()

# `retention_due(sender=RetentionReport, now=..., dry_run=...)`: the daily retention run;
# each receiver deletes the files its app keeps for a limited time (or, for a dry run, only
# counts them) and returns how many.
retention_due = Signal()

# `step_invalid(sender=Application, application=..., form=..., errors=[...])`: a step of the
# form was posted with errors (the KPI "入力エラーが多い項目" counts them).
step_invalid = Signal()


def announce(events: list) -> None:
    """Send `events_recorded` for events just written (in the caller's transaction)."""
    if events:
        events_recorded.send(sender=type(events[0]), events=list(events))
