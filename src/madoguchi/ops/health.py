"""`/healthz` (liveness) and `/readyz` (readiness).

Liveness says only that the process answers: it never looks at the database, so an outage
of PostgreSQL does not make the orchestrator restart every app server at once. Readiness
checks what a request needs — the database, the broker (when Celery is used), the shared
cache and the file storage — each with a short timeout, and answers 503 naming the part that
failed, so the load balancer sends no traffic to an app server that cannot serve it.

Both are answered by `OpsMiddleware` before host validation and HTTPS redirection: the
orchestrator probes the pod's own address over plain HTTP.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connections
from django.http import HttpResponse

logger = logging.getLogger(__name__)

# Seconds for each network check (connect and read).
CHECK_TIMEOUT = 2.0


def liveness_response() -> HttpResponse:
    return _json({"status": "ok"}, 200)


def check_database() -> None:
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()


@lru_cache(maxsize=4)
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CHECK_TIMEOUT,
        socket_timeout=CHECK_TIMEOUT,
        health_check_interval=0,
    )


def check_broker() -> None:
    _redis_client(settings.CELERY_BROKER_URL).ping()


def check_cache() -> None:
    _redis_client(settings.MADOGUCHI_CACHE_URL).ping()


def check_storage() -> None:
    storage = default_storage
    bucket = getattr(storage, "bucket_name", None)
    if bucket:
        # One HEAD request on the bucket: reachable, and these credentials may use it.
        storage.connection.meta.client.head_bucket(Bucket=bucket)
        return
    location = getattr(storage, "location", None)
    if location is None:
        storage.exists("readyz-probe")
        return
    os.makedirs(location, exist_ok=True)
    if not os.access(location, os.W_OK):
        raise PermissionError("media directory not writable")


def checks() -> dict[str, Callable[[], None]]:
    found: dict[str, Callable[[], None]] = {"database": check_database}
    if getattr(settings, "REDIS_URL", "") and not settings.CELERY_TASK_ALWAYS_EAGER:
        found["broker"] = check_broker
    if getattr(settings, "MADOGUCHI_CACHE_URL", ""):
        found["cache"] = check_cache
    found["storage"] = check_storage
    return found


def readiness() -> tuple[bool, dict[str, dict]]:
    results: dict[str, dict] = {}
    ok = True
    for name, check in checks().items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:
            ok = False
            # The error's type only: a driver's message may carry a host name or a password.
            results[name] = {"ok": False, "error": type(exc).__name__}
            logger.warning("readiness: %s failed (%s)", name, type(exc).__name__)
        else:
            results[name] = {"ok": True}
        results[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    return ok, results


def readiness_response() -> HttpResponse:
    try:
        ok, results = readiness()
    finally:
        # A probe is not a request of the app: it keeps no connection open between probes.
        for alias in connections:
            connections[alias].close_if_unusable_or_obsolete()
    return _json({"status": "ok" if ok else "unavailable", "checks": results}, 200 if ok else 503)


def _json(data: dict, status: int) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False), status=status, content_type="application/json"
    )
    response["Cache-Control"] = "no-store"
    return response
