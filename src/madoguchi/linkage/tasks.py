"""Celery tasks of file linkage (started through `madoguchi.core.jobs.dispatch`, or by beat)."""

from celery import shared_task

from madoguchi.ops.locks import single_flight

from . import results, runner


@shared_task(name="madoguchi.linkage.run_batch", ignore_result=True, acks_late=True)
def run_batch(batch_id: int) -> None:
    """Build one batch. Safe to deliver twice: only a QUEUED batch is run; the lock marks
    it alive while it runs (see madoguchi.ops.jobs for a batch whose worker died)."""
    with single_flight(f"job:linkage_batch:{batch_id}") as acquired:
        if acquired:
            runner.run(batch_id)


@shared_task(name="madoguchi.linkage.run_import", ignore_result=True, acks_late=True)
def run_import(import_id: int) -> None:
    """Apply one result file. Safe to deliver twice: only a QUEUED import is run."""
    with single_flight(f"job:linkage_import:{import_id}") as acquired:
        if acquired:
            results.run(import_id)


@shared_task(name="madoguchi.linkage.run_scheduled", ignore_result=True)
def run_scheduled() -> None:
    """Hourly (Celery beat): start the layouts scheduled for this hour that did not run today.
    Never twice at once: two workers given the same tick would both find "not run today"."""
    with single_flight("linkage-run-scheduled") as acquired:
        if acquired:
            runner.run_scheduled()
