from celery import shared_task


@shared_task(name="mynaportal.pull_all")
def pull_all_task() -> dict:
    from .pull import pull_all

    return {code: result.summary() for code, result in pull_all().items()}


@shared_task(name="mynaportal.run_pull")
def run_pull_task(run_id: int) -> str:
    """A pull started from the staff page (see pull.start_pull)."""
    from . import checking
    from .pull import run_pull

    try:
        return run_pull(run_id)
    finally:
        from madoguchi.core import jobs

        if jobs.mode() != jobs.CELERY:
            # A web server process does not keep verification workers between button
            # presses (a Celery worker, which pulls every 5 minutes, does).
            checking.shutdown()


@shared_task(name="mynaportal.sweep_orphan_attachments")
def sweep_orphan_attachments_task() -> str:
    """Daily: delete attachment files left by a process killed mid-import (see
    madoguchi.channels.attachment_sweep)."""
    from madoguchi.channels import attachment_sweep

    return attachment_sweep.sweep().summary()
