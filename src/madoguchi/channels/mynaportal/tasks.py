from celery import shared_task


@shared_task(name="mynaportal.pull_all")
def pull_all_task() -> dict:
    """Every 5 minutes (beat). One sweep at a time; each connection is also locked on its own
    (pull.pull), so a staff-started pull of it waits instead of running alongside."""
    from madoguchi.ops.locks import single_flight

    from .pull import pull_all

    with single_flight("mynaportal-pull-all") as acquired:
        if not acquired:
            return {}
        return {code: result.summary() for code, result in pull_all().items()}


@shared_task(name="mynaportal.run_pull", acks_late=True)
def run_pull_task(run_id: int) -> str:
    """A pull started from the staff page (see pull.start_pull). The lock marks the run as
    alive: a run left 取得中 whose lock is free was abandoned by a dead worker and is started
    again (madoguchi.ops.jobs)."""
    from madoguchi.ops.locks import single_flight

    from . import checking
    from .pull import run_pull

    try:
        with single_flight(f"job:pullrun:{run_id}") as acquired:
            if not acquired:
                return ""
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
    from madoguchi.ops.locks import single_flight

    with single_flight("attachments-sweep-orphans") as acquired:
        return attachment_sweep.sweep().summary() if acquired else ""
