"""The request id travels with every Celery task: the publisher puts the current one in the
message headers, the worker binds it while the task runs (and logs the task's name and id
with it). A task that queues another hands it on the same way."""

from __future__ import annotations

import logging
import os

from celery import signals

from . import context

HEADER = "madoguchi_request_id"
logger = logging.getLogger(__name__)
_tokens: dict[str, object] = {}


def _before_publish(headers=None, **kwargs) -> None:
    if headers is not None and HEADER not in headers:
        request_id = context.current()
        if request_id:
            headers[HEADER] = request_id


def _prerun(task_id=None, task=None, **kwargs) -> None:
    request = getattr(task, "request", None)
    request_id = ""
    if request is not None:
        request_id = getattr(request, HEADER, None) or ""
        if not request_id and isinstance(getattr(request, "headers", None), dict):
            request_id = request.headers.get(HEADER, "")
    # A task started by beat (no request) gets an id of its own, so its lines group too.
    request_id = context.accept(request_id) if request_id else f"task-{task_id}"
    _tokens[task_id] = context.set_current(request_id)


def _postrun(task_id=None, **kwargs) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        try:
            context.reset(token)
        except ValueError:  # set in another context (eager task run elsewhere)
            context.set_current("")


def _worker_metrics(sender=None, **kwargs) -> None:
    """A worker's main process serves its Prometheus metrics (all children added up through
    PROMETHEUS_MULTIPROC_DIR) on MADOGUCHI_WORKER_METRICS_PORT, when set."""
    port = os.environ.get("MADOGUCHI_WORKER_METRICS_PORT")
    if not port:
        return
    from prometheus_client import start_http_server

    from . import metrics

    start_http_server(int(port), registry=metrics.registry())
    logger.info("worker metrics on port %s", port)


def _child_exit(pid=None, **kwargs) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and pid:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def connect() -> None:
    signals.before_task_publish.connect(_before_publish, weak=False)
    signals.task_prerun.connect(_prerun, weak=False)
    signals.task_postrun.connect(_postrun, weak=False)
    signals.worker_init.connect(_worker_metrics, weak=False)
    signals.worker_process_shutdown.connect(_child_exit, weak=False)
