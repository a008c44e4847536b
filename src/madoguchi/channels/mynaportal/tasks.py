from celery import shared_task


@shared_task(name="mynaportal.pull_all")
def pull_all_task() -> dict:
    from .pull import pull_all

    return {code: result.summary() for code, result in pull_all().items()}


@shared_task(name="mynaportal.sweep_orphan_attachments")
def sweep_orphan_attachments_task() -> str:
    """Daily: delete attachment files left by a process killed mid-import (see
    madoguchi.channels.attachment_sweep)."""
    from madoguchi.channels import attachment_sweep

    return attachment_sweep.sweep().summary()
