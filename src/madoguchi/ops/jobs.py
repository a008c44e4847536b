"""Background jobs left behind by a process that died (a worker killed, a node lost).

A job's task holds the lock ``job:<kind>:<id>`` (madoguchi.ops.locks) from before it claims
the job until after it records the result. So a job row that says "running" while its lock
is free belongs to nobody: its worker died midway. And a job still "queued" long after it
was created lost its task (the broker was down at the moment of the hand-off).

`recover()` (Celery beat, every 2 minutes) puts both right:

- exports, linkage batches and staff-started マイナポータル pulls are idempotent: they are
  queued and handed to a worker again (an export or a batch writes its file again from the
  start and marks nothing until its final transaction; a pull skips what it already has);
- a result-file import applies its lines one by one, so it is not started again: it is
  closed as failed with a message asking to import the file again after checking the
  applications it names.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .locks import is_free, single_flight

logger = logging.getLogger(__name__)

# A queued job younger than this may still be on its way to a worker.
QUEUED_GRACE = datetime.timedelta(minutes=5)
# A running job younger than this may not have taken its lock yet (claim and lock are two
# statements of the same task).
RUNNING_GRACE = datetime.timedelta(seconds=60)

IMPORT_INTERRUPTED = gettext_noop(
    "処理が途中で中断されました（処理していたサーバーが停止しました）。"
    "適用済みの行は各申請の経過に記録されています。内容を確認してから、もう一度取り込んでください。"
)


@dataclass(frozen=True)
class Kind:
    name: str
    model: str  # app_label.Model
    task: str  # module:function of the Celery task that runs one job (takes its id)
    rerun: bool  # idempotent: queue again; else close as failed


# The kinds of job, each registered by the app that owns it (its AppConfig.ready): exports,
# linkage batches and result imports, staff-started マイナポータル pulls.
KINDS: list[Kind] = []


def register(kind: Kind) -> None:
    if all(known.name != kind.name for known in KINDS):
        KINDS.append(kind)


def lock_name(kind: str, pk: int) -> str:
    return f"job:{kind}:{pk}"


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


def _dispatch(task_path: str, pk: int) -> None:
    import importlib

    from madoguchi.core.jobs import dispatch

    module, name = task_path.split(":")
    dispatch(getattr(importlib.import_module(module), name), pk)


def recover(now: datetime.datetime | None = None) -> dict[str, int]:
    """Queue again (or close) the abandoned jobs; returns counts by kind."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for kind in KINDS:
        model = _model(kind.model)
        state = model.State
        abandoned = [
            pk
            for pk in model.objects.filter(
                state=state.RUNNING, created_at__lt=now - RUNNING_GRACE
            ).values_list("pk", flat=True)
            if is_free(lock_name(kind.name, pk))
        ]
        lost = list(
            model.objects.filter(state=state.QUEUED, created_at__lt=now - QUEUED_GRACE).values_list(
                "pk", flat=True
            )
        )
        for pk in abandoned:
            # Only if still running and still unlocked (a worker may have finished it since).
            with single_flight(lock_name(kind.name, pk)) as acquired:
                if not acquired:
                    continue
                if kind.rerun:
                    changed = model.objects.filter(pk=pk, state=state.RUNNING).update(
                        state=state.QUEUED
                    )
                else:
                    changed = model.objects.filter(pk=pk, state=state.RUNNING).update(
                        state=state.FAILED, error=_(IMPORT_INTERRUPTED), finished_at=now
                    )
            if changed:
                if kind.rerun:
                    _dispatch(kind.task, pk)  # after the lock is let go: the task takes it
                counts[kind.name] = counts.get(kind.name, 0) + 1
        for pk in lost:
            _dispatch(kind.task, pk)
            counts[kind.name] = counts.get(kind.name, 0) + 1
    if counts:
        logger.warning("jobs: recovered abandoned or lost jobs %s", counts)
    return counts
