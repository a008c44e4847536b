from celery import shared_task


@shared_task(name="ops.recover_jobs", ignore_result=True)
def recover_jobs() -> None:
    """Every 2 minutes (beat): jobs whose worker died, or whose hand-off was lost."""
    from .jobs import recover
    from .locks import single_flight

    with single_flight("ops-recover-jobs") as acquired:
        if acquired:
            recover()
