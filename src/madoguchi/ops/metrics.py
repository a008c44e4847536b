"""Prometheus metrics.

Counted where they happen (one process each; with several gunicorn workers or Celery
children, prometheus-client's multiprocess mode adds them up — `PROMETHEUS_MULTIPROC_DIR`):

- `madoguchi_http_request_duration_seconds{view,method,status}` — latency by view (the URL
  name, never the path: a path holds tokens and a query string holds search words);
- `madoguchi_applications_submitted_total{channel}` and
  `madoguchi_status_changes_total{status}` — from the application events, after commit;
- `madoguchi_mynaportal_pull_packages_total{result}` — what each マイナポータル pull did.

Read from the shared state at each scrape (so every replica reports the same truth, and
nothing is lost when a process dies):

- `madoguchi_outbox_pending{kind}`, `madoguchi_outbox_oldest_pending_age_seconds{kind}`,
  `madoguchi_outbox_failed{kind}`;
- `madoguchi_mynaportal_quarantined` — packages waiting in quarantine;
- `madoguchi_celery_queue_length{queue}` — tasks waiting in the broker.

Served at `/metrics` only with the bearer token `METRICS_TOKEN` (unset: 404), by
`OpsMiddleware`; a Celery worker serves its own on `MADOGUCHI_WORKER_METRICS_PORT`.
"""

from __future__ import annotations

import hmac
import logging
import os
import time

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

REQUEST_DURATION = Histogram(
    "madoguchi_http_request_duration_seconds",
    "Time to answer a request, by view (URL name), method and status class.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SUBMITTED = Counter(
    "madoguchi_applications_submitted",
    "Applications submitted (or received from another channel), by channel.",
    ["channel"],
)
STATUS_CHANGES = Counter(
    "madoguchi_status_changes",
    "Status changes of applications, by the new status.",
    ["status"],
)
PULL_PACKAGES = Counter(
    "madoguchi_mynaportal_pull_packages",
    "Packages handled by マイナポータル pulls, by result.",
    ["result"],
)
PULLS = Counter(
    "madoguchi_mynaportal_pulls",
    "マイナポータル pulls, by outcome (ok: the list was read; failed: it was not).",
    ["outcome"],
)


# ----------------------------------------------------------------------------- counting


def observe_request(view: str, method: str, status: int, seconds: float) -> None:
    REQUEST_DURATION.labels(view, method, f"{status // 100}xx").observe(seconds)


def count_events(events) -> None:
    """Receiver of `applications.signals.events_recorded`: count after the commit."""
    from madoguchi.applications.models import ApplicationEvent

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
            SUBMITTED.labels(channel).inc(n)
        for status, n in changes.items():
            STATUS_CHANGES.labels(status).inc(n)

    transaction.on_commit(count)


def count_pull(result) -> None:
    """After a マイナポータル pull (`pull.PullResult`)."""
    PULLS.labels("failed" if result.failed and not result.handled - result.failed else "ok").inc()
    for name in ("imported", "duplicates", "quarantined", "failed"):
        value = getattr(result, name, 0)
        if value:
            PULL_PACKAGES.labels(name).inc(value)


# ----------------------------------------------------------------------- shared state


class StateCollector:
    """Gauges read from the database and the broker at each scrape."""

    def collect(self):
        yield from self._outbox()
        yield from self._quarantine()
        yield from self._queues()

    def describe(self):  # registering must not run the queries
        return []

    def _outbox(self):
        from django.db.models import Count, Min

        from madoguchi.outbox.models import OutboxMessage

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

    def _quarantine(self):
        from madoguchi.channels.models import QuarantinedPackage

        try:
            n = QuarantinedPackage.objects.filter(
                state=QuarantinedPackage.State.QUARANTINED
            ).count()
        except Exception as exc:
            logger.warning("metrics: quarantine not readable (%s)", type(exc).__name__)
            return
        yield GaugeMetricFamily(
            "madoguchi_mynaportal_quarantined", "マイナポータル packages in quarantine.", value=n
        )

    def _queues(self):
        if not getattr(settings, "REDIS_URL", "") or settings.CELERY_TASK_ALWAYS_EAGER:
            return
        from . import health

        queue = os.environ.get("CELERY_QUEUE") or "celery"
        try:
            length = health._redis_client(settings.CELERY_BROKER_URL).llen(queue)
        except Exception as exc:
            logger.warning("metrics: broker not readable (%s)", type(exc).__name__)
            return
        family = GaugeMetricFamily(
            "madoguchi_celery_queue_length", "Tasks waiting in the broker.", labels=["queue"]
        )
        family.add_metric([queue], length)
        yield family


_STATE = StateCollector()
_registered = False


def registry() -> CollectorRegistry:
    """What /metrics shows: the counters (of every process of this pod when
    PROMETHEUS_MULTIPROC_DIR is set) and the shared-state gauges."""
    global _registered
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        reg.register(_STATE)
        return reg
    if not _registered:
        REGISTRY.register(_STATE)
        _registered = True
    return REGISTRY


def authorised(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        return False
    given = request.META.get("HTTP_AUTHORIZATION", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_response(request) -> HttpResponse | None:
    """The exposition, or None (→ the usual 404) without the right token."""
    if not authorised(request):
        return None
    response = HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
