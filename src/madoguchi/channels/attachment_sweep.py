"""Delete stored attachment files that no `Attachment` row refers to (orphans).

An import deletes the files of a transaction that rolls back, but a process killed in the
middle (SIGKILL, power cut, OOM killer) cannot: its files stay in storage while the rows
were never committed. Such a package is imported again by the next pull (the case does
not exist), so the stray files are only waste and personal data kept for no purpose — this
sweep removes them.

A file is an orphan when it lies under `attachments/` (the `Attachment.file` upload path),
no row names it, and it is older than the grace period: a file written by a transaction
still in progress has no committed row yet, and the grace period (default 24 hours, far
longer than any import transaction) keeps it. Runs daily from Celery beat
(`mynaportal.sweep_orphan_attachments`) or by `madoguchi sweep_orphan_attachments` (cron).
"""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from django.utils import timezone

from madoguchi.applications.models import Attachment

logger = logging.getLogger(__name__)

ROOT = "attachments"
DEFAULT_GRACE = datetime.timedelta(hours=24)
CHUNK = 500


@dataclass
class SweepResult:
    scanned: int = 0
    deleted: list[str] = field(default_factory=list)
    kept_recent: int = 0  # orphans younger than the grace period, left for a later sweep
    errors: list[str] = field(default_factory=list)
    # Rows of uploads no draft refers to any more (replaced or removed before submission).
    unreferenced: int = 0

    def summary(self) -> str:
        text = (
            f"確認 {self.scanned}件、削除 {len(self.deleted)}件、"
            f"猶予期間内のため保留 {self.kept_recent}件、エラー {len(self.errors)}件"
        )
        if self.unreferenced:
            text += f"、入力中の申請で参照されない添付の削除 {self.unreferenced}件"
        return text


def _files(storage, path: str):
    try:
        directories, files = storage.listdir(path)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{path}/{name}"
    for directory in sorted(directories):
        yield from _files(storage, f"{path}/{directory}")


def sweep(
    *, grace: datetime.timedelta = DEFAULT_GRACE, dry_run: bool = False, storage=None
) -> SweepResult:
    storage = storage or default_storage
    cutoff = timezone.now() - grace
    result = SweepResult()
    if not dry_run:
        result.unreferenced = _prune_drafts(cutoff)
    chunk: list[str] = []
    for name in _files(storage, ROOT):
        chunk.append(name)
        if len(chunk) >= CHUNK:
            _sweep_chunk(storage, chunk, cutoff, dry_run, result)
            chunk = []
    if chunk:
        _sweep_chunk(storage, chunk, cutoff, dry_run, result)
    if not dry_run:
        _remove_empty_directories(storage)
    logger.info("attachments: orphan sweep: %s deleted", len(result.deleted))
    return result


def _prune_drafts(cutoff) -> int:
    """Uploads of drafts that nothing refers to (a process stopped between storing a file
    and saving the step), older than the grace period."""
    from madoguchi.applications.attachments import prune_unreferenced
    from madoguchi.applications.models import Application, Status

    ids = (
        Attachment.objects.filter(uploaded_at__lt=cutoff, application__status=Status.DRAFT)
        .values_list("application_id", flat=True)
        .distinct()
    )
    pruned = 0
    for application in Application.objects.filter(pk__in=ids).iterator(chunk_size=CHUNK):
        pruned += prune_unreferenced(application)
    return pruned


def _sweep_chunk(storage, names: list[str], cutoff, dry_run: bool, result: SweepResult) -> None:
    result.scanned += len(names)
    known = set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    for name in names:
        if name in known:
            continue
        try:
            if storage.get_modified_time(name) > cutoff:
                result.kept_recent += 1
                continue
            if not dry_run:
                storage.delete(name)
            result.deleted.append(name)
        except Exception as exc:  # one unreadable file must not stop the sweep
            result.errors.append(f"{name}: {type(exc).__name__}")


def _remove_empty_directories(storage) -> None:
    """Local storage keeps the per-case directories of deleted files; object storage has
    no directories (path() is not implemented there)."""
    try:
        root = storage.path(ROOT)
    except NotImplementedError:
        return
    for directory, _subdirs, _names in os.walk(root, topdown=False):
        if directory != root:
            try:
                os.rmdir(directory)  # only succeeds when empty
            except OSError:
                pass
