"""Celery tasks of file linkage (started through `madoguchi.core.jobs.dispatch`, or by beat)."""

from celery import shared_task

from . import results, runner


@shared_task(name="madoguchi.linkage.run_batch", ignore_result=True, acks_late=True)
def run_batch(batch_id: int) -> None:
    """Build one batch. Safe to deliver twice: only a QUEUED batch is run."""
    runner.run(batch_id)


@shared_task(name="madoguchi.linkage.run_import", ignore_result=True, acks_late=True)
def run_import(import_id: int) -> None:
    """Apply one result file. Safe to deliver twice: only a QUEUED import is run."""
    results.run(import_id)


@shared_task(name="madoguchi.linkage.run_scheduled", ignore_result=True)
def run_scheduled() -> None:
    """Hourly (Celery beat): start the layouts scheduled for this hour that did not run today."""
    runner.run_scheduled()
