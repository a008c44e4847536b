"""Start background work (exports, and any later job that must not run inside a web request).

`dispatch(task, *args)` is the one way to start such work:

- **Production (REDIS_URL set)**: `task.delay(*args)` once the current transaction commits, so
  a worker never looks for a row that is not yet visible (or that a rollback removed).
- **Embedded default (no REDIS_URL; Celery is "eager")**: an eager `delay()` would run the task
  inline, i.e. inside the web request that started it: a 100,000-row export would hold the
  request (and the server thread) for seconds and the progress page could never be shown.
  So the task runs in a daemon background *thread* started after commit. The thread opens its
  own database connections (Django connections are per thread) and closes them at the end so
  nothing leaks. Limitation, by design of the embedded mode: a job that is running when the
  process stops is not resumed (its page then stays at 作成中; start the export again).
- **Inline (setting `MADOGUCHI_JOBS_INLINE = True`)**: the task runs synchronously after commit
  in the calling thread. Meant for tests (run with `django_capture_on_commit_callbacks`), and
  for management commands that want the result before they exit.

Tasks must take only JSON-serialisable arguments (ids, not model instances) and must be safe
to run twice (Celery may deliver a task again after a worker crash).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections, transaction

logger = logging.getLogger(__name__)

INLINE = "inline"
THREAD = "thread"
CELERY = "celery"


def mode() -> str:
    """How `dispatch` runs a task with the current settings."""
    if getattr(settings, "MADOGUCHI_JOBS_INLINE", False):
        return INLINE
    if getattr(settings, "REDIS_URL", "") and not getattr(
        settings, "CELERY_TASK_ALWAYS_EAGER", False
    ):
        return CELERY
    return THREAD


def _call(task: Any, args: tuple) -> None:
    # A Celery task object is callable (it runs the task body in this process); a plain
    # function works too, which keeps this module usable without Celery.
    task(*args)


def _run_in_thread(task: Any, args: tuple) -> None:
    name = getattr(task, "name", None) or getattr(task, "__name__", "task")
    try:
        close_old_connections()
        _call(task, args)
    except Exception as exc:
        # Type and frames, not the exception message: it may quote a resident's data.
        logger.error(
            "background job %s failed: %s\n%s",
            name,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
    finally:
        connections.close_all()


def start_thread(task: Any, args: tuple) -> threading.Thread:
    name = getattr(task, "name", None) or getattr(task, "__name__", "task")
    # The thread runs in a copy of the caller's context: it logs under the same request id.
    thread = threading.Thread(
        target=contextvars.copy_context().run,
        args=(_run_in_thread, task, args),
        name=f"madoguchi-job-{name}",
        daemon=True,
    )
    thread.start()
    return thread


def dispatch(task: Any, *args: Any) -> None:
    """Run `task(*args)` in the background once the current transaction has committed."""
    how = mode()
    callback: Callable[[], Any]
    if how == CELERY:

        def callback():
            return task.delay(*args)
    elif how == INLINE:

        def callback():
            return _call(task, args)
    else:

        def callback():
            return start_thread(task, args)

    transaction.on_commit(callback)


class JobProgress:
    """Progress of a background job model with a `State` (QUEUED, RUNNING, DONE, ...) and
    counts of the work to do and done, as the progress pages show it. The count fields are
    named by `total_field` and `done_field` (export jobs count rows, linkage batches cases)."""

    total_field = "total"
    done_field = "done"

    @property
    def running(self) -> bool:
        return self.state in {self.State.QUEUED, self.State.RUNNING}

    @property
    def percent(self) -> int:
        total = getattr(self, self.total_field)
        if not total:
            return 100 if self.state == self.State.DONE else 0
        return min(100, getattr(self, self.done_field) * 100 // total)
