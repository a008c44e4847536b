"""Counting submissions and status changes for /metrics (the counters are `ops.metrics`'),
from the events recorded, after the commit (connected by ApplicationsConfig.ready)."""

from __future__ import annotations

from django.db import transaction

from madoguchi.ops import metrics

from .models import ApplicationEvent


def count_events(events) -> None:
    """Receiver of `events_recorded`: count after the commit."""
    kinds = ApplicationEvent.Kind
    changes_kinds = (kinds.STATUS_CHANGED, kinds.WITHDRAWN, kinds.RESUBMITTED)
    submitted: dict[str, int] = {}
    changes: dict[str, int] = {}
    for event in events:
        if event.kind == kinds.SUBMITTED:
            channel = getattr(event.application, "channel", "") or "unknown"
            submitted[channel] = submitted.get(channel, 0) + 1
        elif event.kind in changes_kinds:
            status = getattr(event, "to_status", "") or "unknown"
            changes[status] = changes.get(status, 0) + 1
    if not submitted and not changes:
        return

    def count() -> None:
        for channel, n in submitted.items():
            metrics.SUBMITTED.labels(channel).inc(n)
        for status, n in changes.items():
            metrics.STATUS_CHANGES.labels(status).inc(n)

    transaction.on_commit(count)
