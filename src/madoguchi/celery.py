"""Celery application. In the embedded default tasks run eagerly (inline); set REDIS_URL to
send them to workers started with `celery -A madoguchi worker` (and one `celery -A madoguchi
beat` for the periodic tasks below).

Outbox delivery: each message is handed to a worker right after the commit that wrote it
(`outbox.deliver_message`); the sweep `outbox.deliver_due` runs every minute and sends what
is due — retries after backoff, and messages whose hand-off failed because the broker was
down. Delivery is idempotent (a row lock and the message state), so a task delivered twice
sends the mail once.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
app = Celery("madoguchi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

OUTBOX_SWEEP_SECONDS = 60.0

app.conf.beat_schedule = {
    "outbox-deliver-due": {
        "task": "outbox.deliver_due",
        "schedule": OUTBOX_SWEEP_SECONDS,
        # A sweep that could not start within its minute is replaced by the next one.
        "options": {"expires": OUTBOX_SWEEP_SECONDS},
    },
}
# A task is acknowledged after it ran, so a worker that dies mid-task does not lose it.
app.conf.task_acks_late = True
app.conf.worker_prefetch_multiplier = 1

# Database connections of a worker live as a web process's do: CONN_MAX_AGE, checked at the
# start and end of each task. Celery's Django fixup otherwise closes them around every task:
# a new PostgreSQL session per task, about 1,000 a minute in the load test and some 9 ms of
# server CPU per complete submission. Its own recycling (every DB_REUSE_MAX tasks) is set
# out of reach: Django's rule below decides.
app.conf.CELERY_DB_REUSE_MAX = 1 << 62


def close_old_connections_around_task(task=None, **kwargs) -> None:
    """Django's request-boundary rule at a task's boundary: close a connection older than
    CONN_MAX_AGE or left unusable by an error, keep the others. Not for a task run eagerly
    (inline, inside the caller's transaction: the caller owns the connection)."""
    request = getattr(task, "request", None)
    if request is not None and getattr(request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


signals.task_prerun.connect(close_old_connections_around_task, weak=False)
signals.task_postrun.connect(close_old_connections_around_task, weak=False)

# Several deployments (or a test run) may share one Redis: give each its own queue.
if os.environ.get("CELERY_QUEUE"):
    app.conf.task_default_queue = os.environ["CELERY_QUEUE"]

# --- 保存期間 (retention): daily deletion of expired applications and abandoned drafts -----
# The task lives in madoguchi.applications.retention (not a `tasks` module, so it is imported
# here explicitly). This block merges its entry into beat_schedule: keep it after the
# assignment above, and never replace beat_schedule below this line.
from celery.schedules import crontab  # noqa: E402

app.conf.imports = (*tuple(app.conf.imports or ()), "madoguchi.applications.retention")
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "apply-retention-daily": {
        "task": "madoguchi.applications.apply_retention",
        "schedule": crontab(hour=3, minute=30),
    },
}
# --- end of retention block ------------------------------------------------------------------

# --- ファイル連携 (file linkage): hourly start of the layouts scheduled for that hour ----------
# madoguchi.linkage.tasks is found by autodiscover_tasks. Merges into beat_schedule like the
# retention block above; never replace beat_schedule below this line.
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "linkage-run-scheduled": {
        "task": "madoguchi.linkage.run_scheduled",
        "schedule": crontab(minute=5),
        "options": {"expires": 3000},
    },
}
# --- end of linkage block --------------------------------------------------------------------

# --- マイナポータル: pull new applications every 5 minutes --------------------------------------
# The task lives in madoguchi.channels.mynaportal.tasks (imported here explicitly). Merges
# into beat_schedule like the blocks above; never replace beat_schedule below this line.
app.conf.imports = (*tuple(app.conf.imports or ()), "madoguchi.channels.mynaportal.tasks")
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "mynaportal-pull": {
        "task": "mynaportal.pull_all",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Attachment files left by a process killed mid-import (madoguchi.channels.attachment_sweep).
    "attachments-sweep-orphans": {
        "task": "mynaportal.sweep_orphan_attachments",
        "schedule": crontab(hour=4, minute=15),
        "options": {"expires": 3600},
    },
}
# --- end of マイナポータル block -----------------------------------------------------------------

# --- 業務改革の指標: fold again the cases whose KPI figures could not be updated ------------------
# madoguchi.analytics.tasks is found by autodiscover_tasks. Merges into beat_schedule like the
# blocks above; never replace beat_schedule below this line.
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "analytics-refold-pending": {
        "task": "analytics.refold_pending",
        "schedule": 600.0,
        "options": {"expires": 590},
    },
}
# --- end of 業務改革の指標 block -------------------------------------------------------------------

# --- 運用: background jobs whose worker died or whose hand-off was lost ------------------------
# madoguchi.ops.tasks is found by autodiscover_tasks. Merges into beat_schedule like the blocks
# above; never replace beat_schedule below this line.
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "ops-recover-jobs": {
        "task": "ops.recover_jobs",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
}
# --- end of 運用 block ---------------------------------------------------------------------------
