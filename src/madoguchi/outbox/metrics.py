"""The outbox's gauges on /metrics (registered with `ops.metrics` by OutboxConfig.ready):
the backlog, the age of the oldest waiting message and the failed messages, by kind."""

from __future__ import annotations

import logging
import time

from django.db.models import Count, Min
from prometheus_client.core import GaugeMetricFamily

from .models import OutboxMessage

logger = logging.getLogger("madoguchi.ops.metrics")


def outbox_gauges():
    pending = GaugeMetricFamily(
        "madoguchi_outbox_pending", "Outbox messages waiting to be sent.", labels=["kind"]
    )
    age = GaugeMetricFamily(
        "madoguchi_outbox_oldest_pending_age_seconds",
        "Age of the oldest outbox message still waiting, by kind.",
        labels=["kind"],
    )
    failed = GaugeMetricFamily(
        "madoguchi_outbox_failed",
        "Outbox messages whose retries are exhausted (送信失敗), by kind.",
        labels=["kind"],
    )
    try:
        now = time.time()
        rows = {
            row["kind"]: row
            for row in OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING)
            .values("kind")
            .annotate(n=Count("pk"), oldest=Min("created_at"))
            .order_by()
        }
        failed_rows = dict(
            OutboxMessage.objects.filter(state=OutboxMessage.State.FAILED)
            .values_list("kind")
            .annotate(n=Count("pk"))
            .order_by()
        )
    except Exception as exc:
        logger.warning("metrics: outbox not readable (%s)", type(exc).__name__)
        return
    for kind in OutboxMessage.Kind.values:
        row = rows.get(kind)
        pending.add_metric([kind], row["n"] if row else 0)
        age.add_metric([kind], max(0.0, now - row["oldest"].timestamp()) if row else 0.0)
        failed.add_metric([kind], failed_rows.get(kind, 0))
    yield pending
    yield age
    yield failed
