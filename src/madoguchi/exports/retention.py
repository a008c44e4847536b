"""Export files are kept for `EXPORT_FILE_MAX_AGE_DAYS` days (the job and its report stay,
so the page still says what was exported, by whom and when); the daily retention run
(`applications.signals.retention_due`) deletes older ones."""

import datetime as dt

from madoguchi.applications.retention import EXPORT_FILE_MAX_AGE_DAYS, delete_stored_files

from .models import ExportJob


def expired_export_files(now: dt.datetime):
    return ExportJob.objects.filter(
        created_at__lt=now - dt.timedelta(days=EXPORT_FILE_MAX_AGE_DAYS)
    ).exclude(file="")


def on_retention_due(sender, now: dt.datetime, dry_run: bool, **kwargs) -> int:
    """Delete the expired export files (count them for a dry run); returns how many."""
    jobs = expired_export_files(now)
    if dry_run:
        return jobs.count()
    deleted = 0
    for job in jobs:
        name = job.file.name
        ExportJob.objects.filter(pk=job.pk).update(file="")
        deleted += delete_stored_files([name])
    return deleted
