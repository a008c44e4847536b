"""Celery tasks of the exports app (started through `madoguchi.core.jobs.dispatch`)."""

from celery import shared_task

from . import runner


@shared_task(name="madoguchi.exports.run_export", ignore_result=True, acks_late=True)
def run_export(job_id: int) -> None:
    """Build the file of one ExportJob. Safe to deliver twice: only a QUEUED job is run; the
    lock marks it alive while it runs (see madoguchi.ops.jobs for a job whose worker died)."""
    from madoguchi.ops.locks import single_flight

    with single_flight(f"job:export:{job_id}") as acquired:
        if acquired:
            runner.run(job_id)
