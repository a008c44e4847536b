"""Prometheus metrics.

Counted where they happen (one process each; with several gunicorn workers or Celery
children, prometheus-client's multiprocess mode adds them up — `PROMETHEUS_MULTIPROC_DIR`):

- `madoguchi_http_request_duration_seconds{view,method,status}` — latency by view (the URL
  name, never the path: a path holds tokens and a query string holds search words);
- `madoguchi_applications_submitted_total{channel}` and
  `madoguchi_status_changes_total{status}` — from the application events, after commit
  (`applications.metrics`);
- `madoguchi_mynaportal_pull_packages_total{result}` — what each マイナポータル pull did.

Read from the shared state at each scrape (so every replica reports the same truth, and
nothing is lost when a process dies):

- `madoguchi_outbox_pending{kind}`, `madoguchi_outbox_oldest_pending_age_seconds{kind}`,
  `madoguchi_outbox_failed{kind}` (`outbox.metrics`);
- `madoguchi_mynaportal_quarantined` — packages waiting in quarantine (`channels.metrics`);
- `madoguchi_celery_queue_length{queue}` — tasks waiting in the broker.

Served at `/metrics` only with the bearer token `METRICS_TOKEN` (unset: 404), by
`OpsMiddleware`; a Celery worker serves its own on `MADOGUCHI_WORKER_METRICS_PORT`.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterable

from django.conf import settings
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


def count_pull(result) -> None:
    """After a マイナポータル pull (`pull.PullResult`)."""
    PULLS.labels("failed" if result.failed and not result.handled - result.failed else "ok").inc()
    for name in ("imported", "duplicates", "quarantined", "failed"):
        value = getattr(result, name, 0)
        if value:
            PULL_PACKAGES.labels(name).inc(value)


# ----------------------------------------------------------------------- shared state


# Gauges of the apps above ops (the outbox backlog, the マイナポータル quarantine): each app
# registers a function yielding its metric families from its AppConfig.ready.
_GAUGES: list[Callable[[], Iterable]] = []


def register_gauges(gauges: Callable[[], Iterable]) -> None:
    """Add a source of shared-state gauges, read at each scrape. The function yields
    prometheus metric families and yields nothing (logging why) when its data is unreadable."""
    if gauges not in _GAUGES:
        _GAUGES.append(gauges)


class StateCollector:
    """Gauges read from the database and the broker at each scrape."""

    def collect(self):
        for gauges in _GAUGES:
            yield from gauges()
        yield from self._queues()

    def describe(self):  # registering must not run the queries
        return []

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
